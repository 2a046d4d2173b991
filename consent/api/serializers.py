"""Input validation and output shapes of the consent API. Serializers never write: views call services."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import LANGUAGES, Consent, ConsentMethod, ConsentStatus, Purpose, RepresentativeCapacity
from ..selectors import consent_shown_status


class ConsentSerializer(serializers.ModelSerializer):
    """One consent as the ledger holds it. `status` is what applies now by the consent rule (a
    consent past its expiry reads "expired" even before the periodic task marks it)."""

    status = serializers.SerializerMethodField()
    version = serializers.IntegerField(source="version.version", read_only=True)
    version_id = serializers.IntegerField(read_only=True)
    receipt_url = serializers.SerializerMethodField()

    class Meta:
        model = Consent
        fields = [
            "id",
            "patient",
            "purpose",
            "status",
            "method",
            "language",
            "version",
            "version_id",
            "signer_name",
            "representative_name",
            "representative_capacity",
            "signed_at",
            "expires_at",
            "withdrawn_at",
            "withdrawal_reason",
            "text_sha256",
            "receipt_sha256",
            "receipt_url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=ConsentStatus.choices))
    def get_status(self, consent: Consent) -> str:
        return consent_shown_status(consent)

    @extend_schema_field(OpenApiTypes.URI)
    def get_receipt_url(self, consent: Consent) -> str | None:
        if not consent.receipt_path:
            return None
        path = reverse("consent:receipt", args=[consent.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class _SignatureInputSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    signer_name = serializers.CharField(
        max_length=200,
        trim_whitespace=True,
        help_text="The typed signature: the patient's full name, or the representative's when one signs for them.",
    )
    representative_capacity = serializers.ChoiceField(
        choices=RepresentativeCapacity.choices,
        required=False,
        allow_blank=True,
        help_text="When a representative signs for the patient: in what capacity. Left out: the patient signs.",
    )
    language = serializers.ChoiceField(
        choices=[(lang, lang) for lang in LANGUAGES],
        required=False,
        help_text="Language of the text the signer read; the patient's preferred language when left out.",
    )
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="The version id of the text shown to the signer; refused when another version is now in force.",
    )


class PatientConsentSignSerializer(_SignatureInputSerializer):
    """A patient signs through the API (method "api"), having shown the text to the signer."""


class StaffConsentRecordSerializer(_SignatureInputSerializer):
    """Staff record a consent: given in person (the caller is the witness) or collected by an API client."""

    method = serializers.ChoiceField(choices=[(m.value, m.label) for m in (ConsentMethod.IN_PERSON, ConsentMethod.API)])
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ConsentWithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, trim_whitespace=True)


class ConsentOfferSerializer(serializers.Serializer):
    """A wording the patient can still sign, in their language, with the hash the receipt will carry."""

    purpose = serializers.ChoiceField(choices=Purpose.choices)
    version_id = serializers.IntegerField()
    version = serializers.IntegerField()
    effective_from = serializers.DateField()
    language = serializers.CharField()
    title = serializers.CharField()
    text = serializers.CharField()
    text_sha256 = serializers.CharField()
