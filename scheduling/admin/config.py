"""Configuration: locations, services and practitioners with their weekly hours and exceptions.

Administrators set these up. The front desk keeps the calendars: it may add, change and delete
weekly hours and availability exceptions (accounts/roles.py) and sees the rest read-only, so the
practitioner page opens for it with the profile locked and the two inlines editable.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import User
from scheduling.models import LANGUAGE_CODES, AvailabilityException, Location, Practitioner, Service, WeeklyHours

from .common import in_user_zone, zone_of

LANGUAGE_LABELS = {"en": _("English"), "fr": _("French"), "it": _("Italian")}
# Exceptions that ended this long ago are history: the inline shows the current and coming ones.
EXCEPTIONS_SHOWN_DAYS_BACK = 30


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("name", "city", "phone", "time_zone", "active")
    list_filter = ("active",)
    search_fields = ("name", "city")
    fields = ("name", "address_line", ("postal_code", "city"), "phone", "time_zone", "active")


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name_en", "code", "duration_minutes", "virtual_allowed", "in_person_allowed", "active")
    list_filter = ("active", "virtual_allowed", "in_person_allowed")
    search_fields = ("code", "name_en")
    fieldsets = (
        (None, {"fields": ("code", "name_en", "name_fr", "name_it", "duration_minutes", "active")}),
        (_("How"), {"fields": ("virtual_allowed", "in_person_allowed")}),
        (_("Booking rules for patients"), {"fields": ("min_notice_hours", "max_days_ahead", "cancellation_notice_hours")}),
    )


class PractitionerForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(
        label=_("Languages spoken"),
        choices=[(code, LANGUAGE_LABELS[code]) for code in LANGUAGE_CODES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Practitioner
        fields = (
            "user",
            "display_name",
            "specialty",
            "languages",
            "bio",
            "active",
            "offers_virtual",
            "offers_in_person",
            "services",
            "locations",
            "time_zone",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            self.fields["user"].queryset = User.objects.filter(is_staff=True, is_active=True).order_by("email")


class WeeklyHoursInline(admin.TabularInline):
    model = WeeklyHours
    extra = 0
    fields = ("weekday", "start_time", "end_time", "location", "virtual", "valid_from", "valid_until")
    verbose_name_plural = _("weekly hours (in the practitioner's time zone; without a location: video only)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location")


class AvailabilityExceptionInline(admin.TabularInline):
    model = AvailabilityException
    extra = 0
    fields = ("kind", "start", "end", "location", "virtual", "reason")

    def get_queryset(self, request):
        recent = timezone.now() - dt.timedelta(days=EXCEPTIONS_SHOWN_DAYS_BACK)
        return super().get_queryset(request).filter(end__gte=recent).select_related("location")

    def get_formset(self, request, obj=None, **kwargs):
        # Inline instances are made per request: the heading can name this user's time zone.
        self.verbose_name_plural = gettext("extra hours and time off (times in your time zone, %(tz)s)") % {
            "tz": zone_of(request.user)
        }
        return super().get_formset(request, obj, **kwargs)


def _may_keep_calendars(user) -> bool:
    return user.has_perm("scheduling.change_weeklyhours") or user.has_perm("scheduling.change_availabilityexception")


@admin.register(Practitioner)
class PractitionerAdmin(SimpleHistoryAdmin):
    form = PractitionerForm
    list_display = ("display_name", "specialty_label", "user", "offers_virtual", "offers_in_person", "active", "calendar_link")
    list_filter = ("active", "offers_virtual", "offers_in_person", "services")
    list_select_related = ("user",)
    search_fields = ("display_name", "specialty", "user__email")
    filter_horizontal = ("services", "locations")
    inlines = (WeeklyHoursInline, AvailabilityExceptionInline)
    fieldsets = (
        (None, {"fields": ("user", "display_name", "specialty", "languages", "bio", "active")}),
        (_("What and where"), {"fields": (("offers_virtual", "offers_in_person"), "services", "locations", "time_zone")}),
    )

    @admin.display(description=_("specialty"), ordering="specialty")
    def specialty_label(self, obj):
        return obj.specialty_display

    @admin.display(description=_("calendar"))
    def calendar_link(self, obj):
        url = reverse("admin:scheduling_calendar")
        return format_html('<a href="{}?practitioner={}">{}</a>', url, obj.pk, gettext("Calendar"))

    # The front desk keeps calendars: the page opens for it, the profile stays read-only.
    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or _may_keep_calendars(request.user)

    @admin.display(description=_("languages spoken"))
    def languages_spoken(self, obj):
        return ", ".join(str(LANGUAGE_LABELS.get(code, code)) for code in obj.languages or []) or "—"

    def _profile_locked(self, request, obj) -> bool:
        return obj is not None and not request.user.has_perm("scheduling.change_practitioner")

    def get_fieldsets(self, request, obj=None):
        if not self._profile_locked(request, obj):
            return self.fieldsets
        swap = {"languages": "languages_spoken"}
        return [
            (name, {**opts, "fields": tuple(swap.get(f, f) if isinstance(f, str) else f for f in opts["fields"])})
            for name, opts in self.fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        if self._profile_locked(request, obj):
            return [
                f
                for _name, opts in self.get_fieldsets(request, obj)
                for row in opts["fields"]
                for f in (row if isinstance(row, tuple) else (row,))
            ]
        return super().get_readonly_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change and not request.user.has_perm("scheduling.change_practitioner"):
            return  # only the inlines were editable
        super().save_model(request, obj, form, change)

    @in_user_zone
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)
