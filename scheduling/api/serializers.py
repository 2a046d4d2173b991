"""Input validation and output shapes of the scheduling API. Serializers never write: views call
services. The video room is in no payload here; only `appointments/{id}/video-link/` hands out a link."""

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.ids import MAX_ID
from patients.permissions import user_may_view_clinical
from patients.selectors import patient_get_for_user

from ..availability import MAX_RANGE_DAYS
from ..models import LANGUAGE_CODES, Appointment, AppointmentStatus, Location, Practitioner, Service
from ..permissions import user_is_patient_of
from ..selectors import locations_active, practitioners_bookable, services_bookable
from ..services import INTAKE_ANSWER_MAX, INTAKE_KEYS
from .filters import aware_datetime_parse, offset_restored

# --- reference data --------------------------------------------------------------------------


class ServiceSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True, help_text="In the caller's language.")

    class Meta:
        model = Service
        fields = [
            "id",
            "code",
            "name",
            "duration_minutes",
            "virtual_allowed",
            "in_person_allowed",
            "min_notice_hours",
            "max_days_ahead",
            "cancellation_notice_hours",
        ]
        read_only_fields = fields


class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "name", "address_line", "postal_code", "city", "phone", "time_zone"]
        read_only_fields = fields


class PractitionerSerializer(serializers.ModelSerializer):
    languages = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text=f"Codes of the languages spoken ({', '.join(LANGUAGE_CODES)})."
    )
    services = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="Ids of the services offered.")
    locations = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="Ids of the locations worked at.")

    class Meta:
        model = Practitioner
        fields = [
            "id",
            "display_name",
            "specialty",
            "languages",
            "offers_virtual",
            "offers_in_person",
            "time_zone",
            "bio",
            "services",
            "locations",
        ]
        read_only_fields = fields


class PractitionerQuerySerializer(serializers.Serializer):
    service = serializers.PrimaryKeyRelatedField(
        queryset=services_bookable(), required=False, help_text="Only practitioners offering this service."
    )
    virtual = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: offer video visits; false: offer in-person visits."
    )


# --- free slots ------------------------------------------------------------------------------


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date and time with its UTC offset. A naive time is refused: guessing its time
    zone would book the wrong hour for someone."""

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                value = aware_datetime_parse(offset_restored(value))
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.messages, code=exc.code) from None
        return super().to_internal_value(value)


class SlotQuerySerializer(serializers.Serializer):
    service = serializers.PrimaryKeyRelatedField(queryset=services_bookable(), help_text="The service to book.")
    practitioner = serializers.PrimaryKeyRelatedField(
        queryset=practitioners_bookable(), required=False, help_text="Leave out for every practitioner offering the service."
    )
    start = AwareDateTimeField(help_text="From (ISO 8601 with offset; encode + as %2B).")
    end = AwareDateTimeField(help_text=f"Until (ISO 8601 with offset), at most {MAX_RANGE_DAYS} days after start.")
    virtual = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: slots for a video visit; false: in person."
    )

    def validate(self, attrs):
        practitioner = attrs.get("practitioner")
        if practitioner is not None and not practitioner.services.filter(pk=attrs["service"].pk).exists():
            raise serializers.ValidationError({"practitioner": _("This practitioner does not offer this service.")})
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": _("The end must come after the start.")})
        if attrs["end"] - attrs["start"] > dt.timedelta(days=MAX_RANGE_DAYS):
            raise serializers.ValidationError({"end": _("Search at most %(days)s days at a time.") % {"days": MAX_RANGE_DAYS}})
        return attrs


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    practitioner = serializers.IntegerField(source="practitioner_id")
    location = serializers.IntegerField(source="location_id", allow_null=True, help_text="Where an in-person visit happens.")
    virtual = serializers.BooleanField(help_text="A video visit may be booked in this slot.")
    in_person = serializers.BooleanField(help_text="An in-person visit may be booked in this slot (at `location`).")


# --- appointments ----------------------------------------------------------------------------


class AppointmentSerializer(serializers.ModelSerializer):
    """An appointment. Staff also get a short label of the patient (name and MRN); the patient,
        who knows who they are, gets null there. The reason for the visit is clinical: the patient who
    gave it and roles that read clinical data get it, the front desk gets null. Needs the request in
    the context (and, for a patient's own list, `own_patient_id`)."""

    patient_label = serializers.SerializerMethodField()
    reason = serializers.SerializerMethodField()
    intake_completed = serializers.BooleanField(source="intake_complete", read_only=True)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "patient",
            "patient_label",
            "practitioner",
            "service",
            "location",
            "start",
            "end",
            "status",
            "virtual",
            "reason",
            "intake_completed",
            "booked_via",
            "sequence",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_patient_label(self, appointment: Appointment) -> str | None:
        if appointment.patient_id == self.context.get("own_patient_id"):
            return None  # the signed-in patient's own list: no query for a label nobody needs
        if user_is_patient_of(self.context["request"].user, appointment.patient):
            return None
        return str(appointment.patient)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_reason(self, appointment: Appointment) -> str | None:
        user = self.context["request"].user
        if user_may_view_clinical(user) or appointment.patient_id == self.context.get("own_patient_id"):
            return appointment.reason
        return appointment.reason if user_is_patient_of(user, appointment.patient) else None


class _BookingSerializer(serializers.Serializer):
    practitioner = serializers.PrimaryKeyRelatedField(queryset=practitioners_bookable())
    service = serializers.PrimaryKeyRelatedField(queryset=services_bookable())
    start = AwareDateTimeField(help_text="The start of a free slot (ISO 8601 with offset).")
    virtual = serializers.BooleanField(help_text="true: a video visit; false: in person.")
    location = serializers.PrimaryKeyRelatedField(
        queryset=locations_active(), required=False, allow_null=True, help_text="In person: the slot's location."
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, trim_whitespace=True)


class MeAppointmentCreateSerializer(_BookingSerializer):
    """The signed-in patient books for themselves (held to the service's booking window)."""


class AppointmentCreateSerializer(_BookingSerializer):
    """Staff book for a patient they can see; a patient books for themselves."""

    patient = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="A patient id.")

    def validate_patient(self, value):
        # Unknown and not-yours read the same: an id reveals nothing about who exists.
        try:
            return patient_get_for_user(user=self.context["request"].user, pk=value)
        except Http404:
            raise serializers.ValidationError(_("No such patient.")) from None


class AppointmentRescheduleSerializer(serializers.Serializer):
    start = AwareDateTimeField(help_text="The start of a free slot (ISO 8601 with offset).")
    practitioner = serializers.PrimaryKeyRelatedField(
        queryset=practitioners_bookable(), required=False, help_text="Move to another practitioner offering the service."
    )
    virtual = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Change the mode; left out, the mode stays."
    )
    location = serializers.PrimaryKeyRelatedField(queryset=locations_active(), required=False, allow_null=True)


class AppointmentCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, trim_whitespace=True)


class IntakeAnswersSerializer(serializers.Serializer):
    symptoms = serializers.CharField(max_length=INTAKE_ANSWER_MAX, required=False, allow_blank=True)
    since = serializers.CharField(max_length=INTAKE_ANSWER_MAX, required=False, allow_blank=True)
    medications = serializers.CharField(max_length=INTAKE_ANSWER_MAX, required=False, allow_blank=True)
    allergies = serializers.CharField(max_length=INTAKE_ANSWER_MAX, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=INTAKE_ANSWER_MAX, required=False, allow_blank=True)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({str(key): [_("Unknown question.")] for key in unknown})
        return super().to_internal_value(data)


assert set(IntakeAnswersSerializer().fields) == set(INTAKE_KEYS)


class AppointmentIntakeSerializer(serializers.Serializer):
    """Contact, insurance and payment details confirmed before the visit. A payment reference, never card data."""

    contact_phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    contact_email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
    insurance_provider = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    insurance_member_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    payment_reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    answers = IntakeAnswersSerializer(required=False)
    update_patient_record = serializers.BooleanField(
        required=False, default=False, help_text="Also save the phone and email to the patient's record."
    )


class AppointmentStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in (AppointmentStatus.ARRIVED, AppointmentStatus.FULFILLED, AppointmentStatus.NO_SHOW)]
    )


class VideoLinkSerializer(serializers.Serializer):
    url = serializers.URLField(allow_null=True, help_text="The room's link; null when it is withheld.")
    missing = serializers.ListField(child=serializers.CharField(), help_text="What stands between the caller and the link.")
    needs_consent = serializers.BooleanField()
    needs_intake = serializers.BooleanField()
