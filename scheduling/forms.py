"""Forms of the portal's booking pages. They check the shape of what was posted; the services
decide whether the visit can be booked, moved, cancelled or its intake taken."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from .services import INTAKE_ANSWER_MAX, INTAKE_KEYS

MODE_VIRTUAL = "virtual"
MODE_IN_PERSON = "in_person"
MODE_CHOICES = [(MODE_VIRTUAL, _("By video")), (MODE_IN_PERSON, _("In person"))]


def mode_to_virtual(mode: str | None) -> bool | None:
    """The `virtual` argument of the slot search for a mode picked in a page (None: either)."""
    return {MODE_VIRTUAL: True, MODE_IN_PERSON: False}.get(mode or "")


# Start times beyond these years are not times anyone books; refusing them here also keeps date
# arithmetic further down away from the ends of the calendar.
_FIRST_YEAR, _LAST_YEAR = 2000, 2999


def parse_slot_start(value: str | None) -> dt.datetime:
    """A slot's start as the pages carry it (ISO 8601 with its offset), as an aware UTC datetime."""
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("Choose a time."), code="required")
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError(_("Choose one of the free times shown."), code="invalid")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValidationError(_("Give the time with its time zone."), code="naive")
    if not _FIRST_YEAR <= parsed.year <= _LAST_YEAR:
        raise ValidationError(_("Choose one of the free times shown."), code="invalid")
    try:
        return parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise ValidationError(_("Choose one of the free times shown."), code="invalid") from None


class SlotStartField(forms.CharField):
    """A slot start, posted as ISO 8601 with its offset. Whether the time is free is the service's to say."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("widget", forms.HiddenInput)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return parse_slot_start(value) if value else None


class PractitionerFilterForm(forms.Form):
    """The practitioner list's filter (a GET form: its values are not personal)."""

    mode = forms.ChoiceField(
        label=_("Type of visit"),
        required=False,
        choices=[("", _("Either")), *MODE_CHOICES],
        widget=forms.RadioSelect,
    )


class BookingConfirmForm(forms.Form):
    """The last step of booking: the chosen practitioner and time (carried from the slot page), the
    kind of visit when the slot allows both, and the reason for the visit."""

    practitioner = forms.ModelChoiceField(
        queryset=None,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("This practitioner cannot be booked for this service. Choose another one.")},
    )
    start = SlotStartField(label=_("Time"), error_messages={"required": _("Choose a time.")})
    mode = forms.ChoiceField(
        label=_("Type of visit"),
        choices=MODE_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a video visit or a visit in person.")},
    )
    reason = forms.CharField(
        label=_("Reason for the visit"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A few words for the practitioner (optional). Only the care team sees it."),
    )

    def __init__(self, *args, practitioners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners

    @property
    def virtual(self) -> bool:
        return self.cleaned_data["mode"] == MODE_VIRTUAL


class RescheduleForm(forms.Form):
    """A new time for a booked visit, with the same or another practitioner of the same service."""

    start = SlotStartField(label=_("New time"), error_messages={"required": _("Choose a new time.")})
    practitioner = forms.ModelChoiceField(
        queryset=None,
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("This practitioner cannot be booked for this visit. Choose another one.")},
    )

    def __init__(self, *args, practitioners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Telling us why helps the clinic offer the time to someone else; you do not have to."),
    )


_PHONE_RE = r"^\+?[0-9 ().-]{6,31}$"


def _answer_field(label, *, rows: int | None = None, help_text="") -> forms.CharField:
    """An optional intake answer: a line, or a box of `rows` lines."""
    widget = forms.Textarea(attrs={"rows": rows}) if rows else None
    return forms.CharField(label=label, required=False, max_length=INTAKE_ANSWER_MAX, widget=widget, help_text=help_text)


class IntakeForm(forms.Form):
    """What the patient confirms before a virtual visit. A payment reference, never card data: the
    service refuses anything that looks like a card number."""

    contact_phone = forms.RegexField(
        label=_("Phone during the visit"),
        required=False,
        max_length=32,
        regex=_PHONE_RE,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        error_messages={"invalid": _("Enter a phone number: digits, spaces and an optional leading +.")},
        help_text=_("Where the practitioner can call you if the video connection fails."),
    )
    contact_email = forms.EmailField(
        label=_("Email"), required=False, max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    update_patient_record = forms.BooleanField(label=_("Also save this phone number and email in my details"), required=False)
    insurance_provider = forms.CharField(label=_("Health insurer"), required=False, max_length=200)
    insurance_member_id = forms.CharField(
        label=_("Insurance member number"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    payment_reference = forms.CharField(
        label=_("Payment reference"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_("The reference of a payment or voucher, if you have one. Never enter a card number."),
    )
    symptoms = _answer_field(_("What would you like to talk about?"), rows=3)
    since = _answer_field(_("Since when?"), help_text=_("For example: three days, since last spring."))
    medications = _answer_field(_("Medicines you take"), rows=2)
    allergies = _answer_field(_("Allergies"), rows=2)
    notes = _answer_field(_("Anything else the practitioner should know"), rows=2)

    ANSWER_FIELDS = ("symptoms", "since", "medications", "allergies", "notes")

    def answers(self) -> dict[str, str]:
        return {key: self.cleaned_data[key] for key in self.ANSWER_FIELDS}


assert set(IntakeForm.ANSWER_FIELDS) == set(INTAKE_KEYS)
