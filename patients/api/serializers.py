"""Input validation and output shapes. Serializers never write: views hand data to services."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from ..models import (
    AccessLog,
    AllergyIntolerance,
    CareTeamMember,
    CareTeamRole,
    ClinicalNote,
    Condition,
    Encounter,
    Immunization,
    MedicationRequest,
    Observation,
    Patient,
    Procedure,
)
from ..permissions import PATIENT_SELF_EDITABLE_FIELDS, STAFF_EDITABLE_FIELDS

PATIENT_FIELDS = [
    "id",
    "mrn",
    "given_name",
    "family_name",
    "birth_date",
    "gender",
    "email",
    "phone",
    "address_line",
    "postal_code",
    "city",
    "country",
    "preferred_language",
    "preferred_channel",
    "time_zone",
    "active",
    "deceased",
    "deceased_at",
    "created_at",
    "updated_at",
]


class PatientSerializer(serializers.ModelSerializer):
    class Meta:
        model = Patient
        fields = PATIENT_FIELDS
        read_only_fields = ["id", "created_at", "updated_at"]
        # Uniqueness is the service's and the database's to decide, in one transaction.
        extra_kwargs = {"mrn": {"validators": []}}


class PatientSelfSerializer(serializers.ModelSerializer):
    """What a patient sees and may change of their own record at /api/v1/me/."""

    class Meta:
        model = Patient
        fields = PATIENT_FIELDS
        read_only_fields = sorted(set(PATIENT_FIELDS) - PATIENT_SELF_EDITABLE_FIELDS)


assert set(PatientSerializer.Meta.fields) - {"id", "created_at", "updated_at"} == STAFF_EDITABLE_FIELDS


class StaffUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "email", "first_name", "last_name"]


class CareTeamMemberSerializer(serializers.ModelSerializer):
    user = StaffUserSerializer(read_only=True)

    class Meta:
        model = CareTeamMember
        fields = ["id", "user", "role", "period_start", "period_end"]


class CareTeamMemberInputSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True, is_staff=True))
    role = serializers.ChoiceField(choices=CareTeamRole.choices)
    period_start = serializers.DateField(required=False)


class CareTeamMemberEndSerializer(serializers.Serializer):
    period_end = serializers.DateField(required=False)


class ClinicalNoteSerializer(serializers.ModelSerializer):
    author = StaffUserSerializer(read_only=True)
    reviewed_by = StaffUserSerializer(read_only=True)

    class Meta:
        model = ClinicalNote
        fields = ["id", "patient", "author", "text", "encounter", "created_at", "reviewed_by", "reviewed_at"]
        read_only_fields = fields


class ClinicalNoteInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=20000, trim_whitespace=True)
    encounter = serializers.PrimaryKeyRelatedField(queryset=Encounter.objects.all(), required=False, allow_null=True)


def _fact_serializer(model):
    meta = type("Meta", (), {"model": model, "exclude": ["patient"], "read_only_fields": ["__all__"]})
    return type(f"{model.__name__}Serializer", (serializers.ModelSerializer,), {"Meta": meta})


CLINICAL_SERIALIZERS = {
    model: _fact_serializer(model)
    for model in (Encounter, Condition, Observation, MedicationRequest, AllergyIntolerance, Procedure, Immunization)
}


class AccessLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccessLog
        fields = ["created_at", "actor_label", "action", "resource", "channel"]
