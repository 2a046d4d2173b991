"""Query filters of the appointment lists. Every bad value is a 400 naming the filter."""

import datetime as dt
import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from core.ids import MAX_ID

from ..models import Appointment, AppointmentStatus

# Far enough from datetime's limits that a day or a visit's length added on either side never overflows.
FIRST_YEAR, LAST_YEAR = 1900, 2999


def offset_restored(value: str) -> str:
    """An unencoded "+01:00" in a query string arrives as " 01:00"; read it as the offset it was."""
    return re.sub(r"^(\S+T\S+) (\d{2}(?::?\d{2})?)$", r"\1+\2", value.strip())


def aware_datetime_parse(value: str) -> dt.datetime:
    """An ISO 8601 date and time with its UTC offset, or a ValidationError saying what is wrong."""
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError(_("Enter an ISO 8601 date and time, e.g. 2026-03-02T09:00:00+01:00."), code="invalid")
    if timezone.is_naive(parsed):
        raise ValidationError(_("Give the time with its UTC offset, e.g. 2026-03-02T09:00:00+01:00."), code="naive")
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise ValidationError(
            _("Give a date between the years %(first)s and %(last)s.") % {"first": FIRST_YEAR, "last": LAST_YEAR},
            code="out_of_range",
        )
    return parsed


class AwareDateTimeFormField(forms.DateTimeField):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        return aware_datetime_parse(offset_restored(str(value)))


class AwareDateTimeFilter(django_filters.IsoDateTimeFilter):
    """A date and time with its offset: a naive one is refused rather than read in some time zone."""

    field_class = AwareDateTimeFormField


class IdFilter(django_filters.NumberFilter):
    """A whole, positive id ("1.5" and "1e3" are refused, not rounded)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


_BOOLEAN = [("true", "true"), ("false", "false")]


class MeAppointmentFilter(django_filters.FilterSet):
    practitioner = IdFilter(field_name="practitioner_id", label="Practitioner id")
    status = django_filters.ChoiceFilter(choices=AppointmentStatus.choices)
    # A choice, not a BooleanFilter: "virtual=perhaps" must be a 400, not silently no filter.
    virtual = django_filters.TypedChoiceFilter(choices=_BOOLEAN, coerce=lambda v: v == "true")
    since = AwareDateTimeFilter(field_name="start", lookup_expr="gte", label="Starting at or after (with offset)")
    until = AwareDateTimeFilter(field_name="start", lookup_expr="lt", label="Starting before (with offset)")

    class Meta:
        model = Appointment
        fields = ["practitioner", "status", "virtual", "since", "until"]


class AppointmentFilter(MeAppointmentFilter):
    patient = IdFilter(field_name="patient_id", label="Patient id")

    class Meta(MeAppointmentFilter.Meta):
        fields = ["patient", *MeAppointmentFilter.Meta.fields]
