"""Forms of the staff scheduling pages. They check the shape of the input; the services decide
whether a visit can be booked, moved or cancelled, and their errors are shown beside these fields."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent.forms import PatientAutocomplete
from scheduling.models import Appointment, Practitioner
from scheduling.selectors import locations_active, practitioners_bookable, services_bookable

MODE_VIRTUAL = "video"
MODE_IN_PERSON = "in_person"
MODE_CHOICES = [(MODE_VIRTUAL, _("By video")), (MODE_IN_PERSON, _("In person"))]
# Further ahead than this is a typing mistake, not a booking (and keeps date arithmetic far from year 9999).
MAX_YEARS_AHEAD = 3
NOTE_MAX_LENGTH = 20000


class StartField(forms.SplitDateTimeField):
    """A date and a time read in the current time zone (the page activates the user's). A time
    that does not exist or happens twice on a daylight-saving night is refused by Django's field."""

    widget = AdminSplitDateTime

    def clean(self, value):
        start = super().clean(value)
        if start is None:
            return start
        now = timezone.now()
        if start.year < 2000 or start > now + dt.timedelta(days=366 * MAX_YEARS_AHEAD):
            raise forms.ValidationError(
                _("Choose a date within the next %(years)d years.") % {"years": MAX_YEARS_AHEAD}, code="out_of_range"
            )
        return start


class _ModeField(forms.TypedChoiceField):
    def __init__(self, *, required: bool, **kwargs):
        choices = MODE_CHOICES if required else [("", _("Keep as it is")), *MODE_CHOICES]
        super().__init__(
            choices=choices,
            coerce=lambda v: v == MODE_VIRTUAL,
            empty_value=None,
            required=required,
            widget=forms.RadioSelect,
            **kwargs,
        )


class AppointmentBookForm(forms.Form):
    """The front desk books a visit for a patient (any free time of the practitioner, no booking window)."""

    patient = forms.ModelChoiceField(label=_("Patient"), queryset=None)
    practitioner = forms.ModelChoiceField(label=_("Practitioner"), queryset=None)
    service = forms.ModelChoiceField(label=_("Service"), queryset=None)
    start = StartField(label=_("Start"))
    virtual = _ModeField(label=_("How"), required=True)
    location = forms.ModelChoiceField(
        label=_("Location"),
        queryset=None,
        required=False,
        help_text=_("For an in-person visit. Leave empty to use the practitioner's location at that time."),
    )
    reason = forms.CharField(
        label=_("Reason for the visit"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, patients, admin_site, time_zone_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["patient"]
        field.widget = PatientAutocomplete(Appointment._meta.get_field("patient"), admin_site)
        field.queryset = patients  # after the widget: it hands the widget its choices
        self.fields["practitioner"].queryset = practitioners_bookable()
        self.fields["service"].queryset = services_bookable()
        self.fields["location"].queryset = locations_active()
        self.fields["start"].help_text = _("In your time zone (%(tz)s).") % {"tz": time_zone_name}


class AppointmentMoveForm(forms.Form):
    start = StartField(label=_("New start"))
    practitioner = forms.ModelChoiceField(
        label=_("Practitioner"), queryset=None, required=False, help_text=_("Leave empty to keep the same practitioner.")
    )
    virtual = _ModeField(label=_("How"), required=False)
    location = forms.ModelChoiceField(label=_("Location"), queryset=None, required=False)

    def __init__(self, *args, appointment: Appointment, time_zone_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners_bookable(service=appointment.service)
        self.fields["location"].queryset = locations_active()
        self.fields["start"].help_text = _("In your time zone (%(tz)s).") % {"tz": time_zone_name}


class AppointmentCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_("Kept with the appointment; the patient is told the visit is cancelled, not why."),
        widget=forms.TextInput(attrs={"size": 60}),
    )


class VisitNoteForm(forms.Form):
    text = forms.CharField(
        label=_("Visit note"),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_("Saved to the patient's record; their care managers are told a new note is waiting for review."),
    )


class CalendarForm(forms.Form):
    """The calendar's query: which practitioner, which day, a day or its week, for which service."""

    practitioner = forms.ModelChoiceField(
        label=_("Practitioner"), queryset=None, required=False, help_text=_("Not needed for a day of all practitioners.")
    )
    day = forms.DateField(label=_("Day"), required=False, input_formats=["%Y-%m-%d"])
    view = forms.ChoiceField(
        label=_("View"),
        choices=[("day", _("Day")), ("week", _("Week")), ("all", _("Day, all practitioners"))],
        required=False,
    )
    service = forms.ModelChoiceField(label=_("Service"), queryset=None, required=False)

    def __init__(self, *args, practitioners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners
        self.fields["service"].queryset = services_bookable()

    def clean_day(self):
        day = self.cleaned_data.get("day")
        if day is not None and not 2000 <= day.year <= 2999:
            raise forms.ValidationError(_("Choose a day between 2000 and 2999."), code="out_of_range")
        return day


class QueueForm(forms.Form):
    """The queue's query: a day (today by default) and, for the front desk and administrators, whose."""

    day = forms.DateField(label=_("Day"), required=False, input_formats=["%Y-%m-%d"])
    practitioner = forms.ModelChoiceField(label=_("Practitioner"), queryset=Practitioner.objects.none(), required=False)

    def __init__(self, *args, practitioners=None, **kwargs):
        super().__init__(*args, **kwargs)
        if practitioners is not None:
            self.fields["practitioner"].queryset = practitioners

    def clean_day(self):
        day = self.cleaned_data.get("day")
        if day is not None and not 2000 <= day.year <= 2999:
            raise forms.ValidationError(_("Choose a day between 2000 and 2999."), code="out_of_range")
        return day
