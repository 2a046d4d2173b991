"""Appointments in the staff admin: the front desk (and care managers for their patients,
administrators) list, book, move and cancel visits and mark arrivals.

Every write goes through `scheduling.services` (booking through `appointment_book(channel="admin")`):
the change page is read-only, and moving, cancelling and marking an arrival are separate pages
and buttons. The rows come from `appointments_for_user`; an appointment the user may not see, or
may not act on, answers 404. Opening an appointment is a read of the patient's record and is
access-logged. Times are shown and typed in the user's time zone.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from core.forms import form_errors_from_service
from patients.models import Patient
from patients.permissions import user_may_view_clinical
from patients.selectors import patient_search_q, patients_for_user
from scheduling import selectors, services
from scheduling.availability import slot_find, slots_free
from scheduling.models import Appointment, AppointmentStatus, BookingChannel, Practitioner
from scheduling.permissions import user_may_change, user_may_mark_arrived
from scheduling.summary import INTAKE_LABELS

from . import calendar_page, queue_page
from .common import in_user_zone, links_for, log_read, zone_of
from .forms import AppointmentBookForm, AppointmentCancelForm, AppointmentMoveForm

# Clinical fields of a visit: shown (and listed among a version's changes) only to roles that read
# clinical data. The front desk books with a reason but does not read it back.
CLINICAL_FIELDS = ("reason", "intake_answers", "visit_note")

# Free times offered on the move page: the next few days of the chosen practitioner.
MOVE_SUGGESTION_DAYS = 7
MOVE_SUGGESTIONS_SHOWN = 24


def _only_mode_of_slot(practitioner_id: int, service_id: int, start) -> dict:
    """The kind of visit to preselect when the free slot at `start` allows only one (video-only
    hours, an in-person-only service); nothing when it allows both, or is not free."""
    practitioner = selectors.practitioners_bookable().filter(pk=practitioner_id).first()
    service = selectors.services_bookable().filter(pk=service_id).first()
    if practitioner is None or service is None:
        return {}
    slot = slot_find(practitioner=practitioner, service=service, start=start, virtual=None, enforce_booking_window=False)
    if slot is None or slot.virtual == slot.in_person:
        return {}
    return {"virtual": "video" if slot.virtual else "in_person"}


class WhenFilter(admin.SimpleListFilter):
    """Upcoming visits by default (what the desk works on), or a day in the user's time zone."""

    title = _("date")
    parameter_name = "when"
    DEFAULT = "upcoming"

    def lookups(self, request, model_admin):
        return [
            ("upcoming", _("Upcoming")),
            ("today", _("Today")),
            ("tomorrow", _("Tomorrow")),
            ("next7", _("Next 7 days")),
            ("past", _("Past")),
            ("all", _("Any date")),
        ]

    def choices(self, changelist):
        current = self.value() or self.DEFAULT
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def _days(self, first: dt.date, count: int):
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
        end = dt.datetime.combine(first + dt.timedelta(days=count), dt.time.min, tzinfo=zone)
        return {"start__gte": start, "start__lt": end}

    def queryset(self, request, queryset):
        value = self.value() or self.DEFAULT
        now = timezone.now()
        today = timezone.localdate(now)
        if value == "upcoming":
            return queryset.filter(end__gte=now)
        if value == "today":
            return queryset.filter(**self._days(today, 1))
        if value == "tomorrow":
            return queryset.filter(**self._days(today + dt.timedelta(days=1), 1))
        if value == "next7":
            return queryset.filter(**self._days(today, 7))
        if value == "past":
            return queryset.filter(end__lt=now)
        try:  # a day, as the calendar links to it
            day = dt.date.fromisoformat(value)
        except ValueError:
            return queryset
        return queryset.filter(**self._days(day, 1)) if 2000 <= day.year <= 2999 else queryset.none()


def _int_param(value) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() and int(value) <= 2**31 - 1 else None


@admin.register(Appointment)
class AppointmentAdmin(SimpleHistoryAdmin):
    list_display = ("when", "patient_label", "practitioner", "service", "mode", "status", "location")
    list_display_links = ("when", "patient_label")
    list_filter = (WhenFilter, "status", "practitioner", "virtual")
    search_fields = ("patient__mrn",)  # shows the search box; the search itself is the patients selector's
    search_help_text = _("Patient: MRN, name (family, given, or both) or birth date.")
    show_full_result_count = False
    list_per_page = 50
    change_list_template = "scheduling/admin_appointment_change_list.html"
    change_form_template = "scheduling/admin_appointment_change_form.html"

    # --- which appointments ---------------------------------------------------------------
    def get_queryset(self, request):
        return selectors.appointments_for_user(user=request.user)

    def get_search_results(self, request, queryset, search_term):
        q = patient_search_q(search_term)
        if not q:
            return queryset, False
        return queryset.filter(patient__in=Patient.objects.filter(q).values("pk")), False

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return request.user.has_perm("scheduling.view_appointment")
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_add_permission(self, request):
        return request.user.has_perm("scheduling.add_appointment")

    def has_change_permission(self, request, obj=None):
        return False  # read-mostly: moving, cancelling and arrivals are their own pages, through services

    def has_delete_permission(self, request, obj=None):
        return False  # a visit is cancelled, never deleted

    def _checked(self, request, object_id) -> Appointment:
        return selectors.appointment_get_for_user(user=request.user, pk=_int_param(str(object_id)))

    # --- what is shown --------------------------------------------------------------------
    @admin.display(description=_("when"), ordering="start")
    def when(self, obj):
        return date_format(timezone.localtime(obj.start), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("patient"), ordering="patient__family_name")
    def patient_label(self, obj):
        return f"{obj.patient.mrn} – {obj.patient.family_name} {obj.patient.given_name}"

    @admin.display(description=_("how"), ordering="virtual")
    def mode(self, obj):
        return gettext("By video") if obj.virtual else gettext("In person")

    @admin.display(description=_("patient"))
    def patient_link(self, obj):
        url = reverse("admin:patients_patient_change", args=[obj.patient_id])
        return format_html('<a href="{}">{}</a>', url, self.patient_label(obj))

    @admin.display(description=_("time"))
    def time_range(self, obj):
        start, end = timezone.localtime(obj.start), timezone.localtime(obj.end)
        return f"{date_format(start, 'DATETIME_FORMAT')} – {date_format(end, 'TIME_FORMAT')} ({timezone.get_current_timezone_name()})"

    @admin.display(description=_("intake answers"))
    def intake_answers_display(self, obj):
        answers = obj.intake_answers if isinstance(obj.intake_answers, dict) else {}
        rows = [(INTAKE_LABELS.get(key, key), value) for key, value in answers.items() if value]
        if not rows:
            return "—"
        return format_html("<dl>{}</dl>", format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows))

    @admin.display(description=_("visit note"))
    def visit_note_link(self, obj):
        if obj.visit_note_id is None:
            return gettext("Not written yet.")
        url = reverse("admin:patients_clinicalnote_change", args=[obj.visit_note_id])
        return format_html('<a href="{}" id="visit-note-link">{}</a>', url, gettext("Open the visit note"))

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["patient_link", "practitioner", "service", "time_range", "mode", "location", "status"]}),
            (_("Booking"), {"fields": ["booked_by", "booked_via", "booked_at"]}),
            (
                _("Intake"),
                {
                    "fields": [
                        "intake_completed_at",
                        "contact_phone",
                        "contact_email",
                        "insurance_provider",
                        "insurance_member_id",
                        "payment_reference",
                    ]
                },
            ),
            (_("Visit"), {"fields": ["arrived_at", "started_at", "fulfilled_at"]}),
        ]
        if user_may_view_clinical(request.user):
            # The reason for the visit is clinical, like the intake answers: the front desk books with
            # one but does not read it back.
            fieldsets[0][1]["fields"].append("reason")
            fieldsets[2][1]["fields"].append("intake_answers_display")
            fieldsets[3][1]["fields"].append("visit_note_link")
        if obj is not None and obj.status == AppointmentStatus.CANCELLED:
            fieldsets.append((_("Cancellation"), {"fields": ["cancelled_at", "cancelled_by", "cancel_reason"]}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [f for _name, opts in self.get_fieldsets(request, obj) for f in opts["fields"]]

    # --- pages ----------------------------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("queue/", wrap(self.queue_view), name="scheduling_queue"),
            path("queue/<int:pk>/<slug:action>/", wrap(self.queue_action_view), name="scheduling_queue_action"),
            path("calendar/", wrap(self.calendar_view), name="scheduling_calendar"),
            path("<path:object_id>/move/", wrap(self.move_view), name="scheduling_appointment_move"),
            path("<path:object_id>/cancel/", wrap(self.cancel_view), name="scheduling_appointment_cancel"),
            path("<path:object_id>/arrived/", wrap(self.arrived_view), name="scheduling_appointment_arrived"),
            *super().get_urls(),
        ]

    @in_user_zone
    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), **links_for(request.user)}
        return super().changelist_view(request, extra_context)

    @in_user_zone
    def change_view(self, request, object_id, form_url="", extra_context=None):
        appointment = self._checked(request, object_id)
        if request.method != "GET":
            raise PermissionDenied  # nothing is saved from this page
        log_read(request, appointment.patient, "appointment")
        user = request.user
        links = []
        if appointment.status == AppointmentStatus.BOOKED and user_may_change(user, appointment):
            links += [
                (reverse("admin:scheduling_appointment_move", args=[appointment.pk]), gettext("Move")),
                (reverse("admin:scheduling_appointment_cancel", args=[appointment.pk]), gettext("Cancel")),
            ]
        extra_context = {
            **(extra_context or {}),
            "object_links": links,
            "arrived_url": reverse("admin:scheduling_appointment_arrived", args=[appointment.pk])
            if appointment.status == AppointmentStatus.BOOKED and user_may_mark_arrived(user, appointment)
            else None,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        appointment = self._checked(request, object_id)
        log_read(request, appointment.patient, "appointment_history")
        with timezone.override(zone_of(request.user)):
            return super().history_view(request, object_id, extra_context)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        super().set_history_delta_changes(request, historical_records, foreign_keys_are_objs)
        if user_may_view_clinical(request.user):
            return
        hidden = {str(capfirst(Appointment._meta.get_field(name).verbose_name)) for name in CLINICAL_FIELDS}
        for record in historical_records:
            changes = getattr(record, "history_delta_changes", None)
            if changes:
                record.history_delta_changes = [c for c in changes if str(c["field"]) not in hidden]

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        appointment = self._checked(request, object_id)
        if request.method != "GET":
            raise PermissionDenied  # a visit is never reverted to an old version: it is moved or cancelled
        log_read(request, appointment.patient, "appointment_history")
        with timezone.override(zone_of(request.user)):
            return super().history_form_view(request, object_id, version_id, extra_context)

    def _form_page(self, request, form, fieldsets, *, title, intro, submit_label, extra=None, status=200):
        adminform = helpers.AdminForm(form, fieldsets, {})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "intro": intro,
            "form": form,
            "adminform": adminform,
            "media": self.media + adminform.media,
            "submit_label": submit_label,
            **(extra or {}),
        }
        return TemplateResponse(request, "scheduling/admin_form.html", context, status=status)

    # --- booking --------------------------------------------------------------------------
    def _book_initial(self, request, patients) -> dict:
        """What a calendar slot (or a patient's page) prefills. Nothing here is trusted: the posted
        form is validated again and the service decides."""
        initial: dict = {}
        params = request.GET
        if (pk := _int_param(params.get("patient"))) is not None:
            initial["patient"] = patients.filter(pk=pk).first()
        if (pk := _int_param(params.get("practitioner"))) is not None:
            initial["practitioner"] = pk
        if (pk := _int_param(params.get("service"))) is not None:
            initial["service"] = pk
        try:
            start = parse_datetime(params.get("start", ""))
        except ValueError:
            start = None
        if start is not None and timezone.is_aware(start) and 2000 <= start.year <= 2999:
            initial["start"] = timezone.localtime(start)
        if params.get("virtual") in ("video", "in_person"):
            initial["virtual"] = params["virtual"]
        elif "start" in initial and "practitioner" in initial and "service" in initial:
            initial.update(_only_mode_of_slot(initial["practitioner"], initial["service"], initial["start"]))
        if (pk := _int_param(params.get("location"))) is not None:
            initial["location"] = pk
        return initial

    @in_user_zone
    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        patients = patients_for_user(user=request.user)
        zone_name = timezone.get_current_timezone_name()
        posted = request.method == "POST"
        form = AppointmentBookForm(
            request.POST if posted else None,
            patients=patients,
            admin_site=self.admin_site,
            time_zone_name=zone_name,
            initial={} if posted else self._book_initial(request, patients),
        )
        if posted and form.is_valid():
            data = form.cleaned_data
            try:
                appointment = services.appointment_book(
                    actor=request.user,
                    patient=data["patient"],
                    practitioner=data["practitioner"],
                    service=data["service"],
                    start=data["start"],
                    virtual=data["virtual"],
                    location=data["location"] if not data["virtual"] else None,
                    reason=data["reason"],
                    channel=BookingChannel.ADMIN,
                )
            except PermissionDenied:
                form.add_error("patient", gettext("You cannot book visits for this patient."))
            except ValidationError as exc:  # BookingConflict included: the time was taken meanwhile
                form_errors_from_service(form, exc)
            else:
                self.log_addition(request, appointment, [{"added": {}}])
                messages.success(
                    request,
                    gettext("The visit is booked for %(when)s. The patient and the practitioner get a confirmation.")
                    % {"when": date_format(timezone.localtime(appointment.start), "DATETIME_FORMAT")},
                )
                return HttpResponseRedirect(reverse("admin:scheduling_appointment_change", args=[quote(appointment.pk)]))
        fieldsets = [
            (None, {"fields": ["patient", "practitioner", "service", "start", "virtual", "location", "reason"]}),
        ]
        return self._form_page(
            request,
            form,
            fieldsets,
            title=gettext("Book a visit"),
            intro=gettext(
                "Book any free time of the practitioner (the patients' online booking window does not apply). "
                "Find free times in the calendar; a time just taken by someone else is refused."
            ),
            submit_label=gettext("Book"),
            extra={"calendar_url": reverse("admin:scheduling_calendar")},
            status=400 if form.errors else 200,
        )

    # --- moving, cancelling, arrivals -----------------------------------------------------
    def _changeable(self, request, object_id) -> Appointment:
        appointment = self._checked(request, object_id)
        if not user_may_change(request.user, appointment):
            raise Http404("No such appointment.")
        return appointment

    def _suggestions(self, appointment: Appointment, practitioner: Practitioner) -> list[dict]:
        now = timezone.now()
        free = slots_free(
            practitioner=practitioner,
            service=appointment.service,
            start=now,
            end=now + dt.timedelta(days=MOVE_SUGGESTION_DAYS),
            enforce_booking_window=False,
            ignore_appointment_id=appointment.pk,
        )[:MOVE_SUGGESTIONS_SHOWN]
        base = reverse("admin:scheduling_appointment_move", args=[appointment.pk])
        return [
            {
                "slot": slot,
                "url": f"{base}?{urlencode({'practitioner': practitioner.pk, 'start': slot.start.isoformat()})}",
            }
            for slot in free
        ]

    @in_user_zone
    def move_view(self, request, object_id):
        appointment = self._changeable(request, object_id)
        posted = request.method == "POST"
        initial = {}
        practitioner = appointment.practitioner
        if not posted:
            if (pk := _int_param(request.GET.get("practitioner"))) is not None:
                practitioner = selectors.practitioners_bookable(service=appointment.service).filter(pk=pk).first() or practitioner
                initial["practitioner"] = practitioner
            try:
                start = parse_datetime(request.GET.get("start", ""))
            except ValueError:
                start = None
            if start is not None and timezone.is_aware(start) and 2000 <= start.year <= 2999:
                initial["start"] = timezone.localtime(start)
        form = AppointmentMoveForm(
            request.POST if posted else None,
            appointment=appointment,
            time_zone_name=timezone.get_current_timezone_name(),
            initial=initial,
        )
        if posted and form.is_valid():
            data = form.cleaned_data
            try:
                moved = services.appointment_reschedule(
                    actor=request.user,
                    appointment=appointment,
                    start=data["start"],
                    practitioner=data["practitioner"],
                    virtual=data["virtual"],
                    location=data["location"],
                )
            except ValidationError as exc:
                form_errors_from_service(form, exc)
            else:
                self.log_change(request, moved, gettext("Moved"))
                messages.success(
                    request,
                    gettext("The visit is moved to %(when)s. The patient and the practitioner are told.")
                    % {"when": date_format(timezone.localtime(moved.start), "DATETIME_FORMAT")},
                )
                return HttpResponseRedirect(reverse("admin:scheduling_appointment_change", args=[moved.pk]))
        elif posted and form.cleaned_data.get("practitioner"):
            practitioner = form.cleaned_data["practitioner"]
        return self._form_page(
            request,
            form,
            [(None, {"fields": ["start", "practitioner", "virtual", "location"]})],
            title=gettext("Move the visit"),
            intro=gettext("%(patient)s, %(service)s with %(practitioner)s, now on %(when)s (%(how)s).")
            % {
                "patient": self.patient_label(appointment),
                "service": appointment.service,
                "practitioner": appointment.practitioner,
                "when": date_format(timezone.localtime(appointment.start), "DATETIME_FORMAT"),
                "how": self.mode(appointment),
            },
            submit_label=gettext("Move"),
            extra={
                "original": appointment,
                "suggestions": self._suggestions(appointment, practitioner),
                "suggestions_for": practitioner,
            },
            status=400 if form.errors else 200,
        )

    @in_user_zone
    def cancel_view(self, request, object_id):
        appointment = self._changeable(request, object_id)
        posted = request.method == "POST"
        form = AppointmentCancelForm(request.POST if posted else None)
        if posted and form.is_valid():
            try:
                services.appointment_cancel(actor=request.user, appointment=appointment, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                form_errors_from_service(form, exc)
            else:
                self.log_change(request, appointment, gettext("Cancelled: %(reason)s") % {"reason": form.cleaned_data["reason"]})
                messages.success(request, gettext("The visit is cancelled. The patient and the practitioner are told."))
                return HttpResponseRedirect(reverse("admin:scheduling_appointment_change", args=[appointment.pk]))
        return self._form_page(
            request,
            form,
            [(None, {"fields": ["reason"]})],
            title=gettext("Cancel the visit"),
            intro=gettext("%(patient)s, %(service)s with %(practitioner)s on %(when)s. The time becomes free for others.")
            % {
                "patient": self.patient_label(appointment),
                "service": appointment.service,
                "practitioner": appointment.practitioner,
                "when": date_format(timezone.localtime(appointment.start), "DATETIME_FORMAT"),
            },
            submit_label=gettext("Cancel the visit"),
            extra={"original": appointment},
            status=400 if form.errors else 200,
        )

    def arrived_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])  # a state change is never a link
        appointment = self._checked(request, object_id)
        if not user_may_mark_arrived(request.user, appointment):
            raise Http404("No such appointment.")
        try:
            services.appointment_status_set(actor=request.user, appointment=appointment, status=AppointmentStatus.ARRIVED)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, gettext("%(patient)s has arrived.") % {"patient": self.patient_label(appointment)})
        if request.POST.get("return_to") == "queue":
            return HttpResponseRedirect(queue_page.queue_url_for(request.user, appointment))
        return HttpResponseRedirect(reverse("admin:scheduling_appointment_change", args=[appointment.pk]))

    # --- the calendar and the provider's day ----------------------------------------------
    def calendar_view(self, request):
        return calendar_page.calendar_view(request, self)

    def queue_view(self, request):
        return queue_page.queue_view(request, self)

    def queue_action_view(self, request, pk, action):
        return queue_page.queue_action_view(request, self, pk=pk, action=action)
