"""REST endpoints for consents: validate, fetch through permission-aware selectors, call services."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.http import client_ip, client_user_agent
from patients.models import AccessChannel
from patients.selectors import patient_for_portal_user
from patients.services import access_log_record

from ..models import Consent, ConsentMethod
from ..receipts import text_sha256
from ..selectors import (
    consent_current_version,
    consent_get_for_patient,
    consent_get_for_user,
    consent_offers_for_patient,
    consents_for_patient,
    patient_get_for_consents,
)
from ..services import consent_sign, consent_withdraw
from .serializers import (
    ConsentOfferSerializer,
    ConsentSerializer,
    ConsentWithdrawSerializer,
    PatientConsentSignSerializer,
    StaffConsentRecordSerializer,
)

_CONSENT_ID = OpenApiParameter("consent_id", int, OpenApiParameter.PATH, description="A consent id.")
_PATIENT_ID = OpenApiParameter("pk", int, OpenApiParameter.PATH, description="A patient id.")


def _log(request, patient, resource: str = "consents") -> None:
    access_log_record(actor=request.user, patient=patient, resource=resource, channel=AccessChannel.API, request=request)


def _sign(request, *, patient, method: str, data: dict, witness=None) -> Consent:
    """Sign the version the caller showed (when they say which), else the one in force."""
    version = consent_current_version(purpose=data["purpose"])
    shown = data.get("version")
    if shown is not None and (version is None or version.pk != shown):
        raise ValidationError({"version": _("This is not the text in force for this purpose: fetch it again and show it.")})
    return consent_sign(
        actor=request.user,
        patient=patient,
        purpose=data["purpose"],
        method=method,
        signer_name=data["signer_name"],
        representative_capacity=data.get("representative_capacity", ""),
        language=data.get("language"),
        version=version,
        ip_address=client_ip(request),
        user_agent=client_user_agent(request),
        witness=witness,
        expires_at=data.get("expires_at"),
    )


class PatientConsentListCreateApi(generics.ListAPIView):
    """A patient's consents (staff who may open the patient; access-logged); record a consent
    given in person (the caller is the witness) or collected by an API client."""

    serializer_class = ConsentSerializer
    queryset = Consent.objects.none()  # for the schema; the real one comes from the selector
    filterset_class = None

    def get_queryset(self):
        self.patient = patient_get_for_consents(user=self.request.user, pk=self.kwargs["pk"])
        return consents_for_patient(patient=self.patient)

    @extend_schema(parameters=[_PATIENT_ID])
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        _log(request, self.patient)
        return response

    @extend_schema(parameters=[_PATIENT_ID], request=StaffConsentRecordSerializer, responses={201: ConsentSerializer})
    def post(self, request, pk: int):
        patient = patient_get_for_consents(user=request.user, pk=pk)
        serializer = StaffConsentRecordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        witness = request.user if data["method"] == ConsentMethod.IN_PERSON else None
        consent = _sign(request, patient=patient, method=data["method"], data=data, witness=witness)
        return Response(ConsentSerializer(consent, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ConsentWithdrawApi(APIView):
    """Staff withdraw a consent of a patient they may open (e.g. the patient asked by phone)."""

    @extend_schema(parameters=[_CONSENT_ID], request=ConsentWithdrawSerializer, responses=ConsentSerializer)
    def post(self, request, consent_id: int):
        consent = consent_get_for_user(user=request.user, pk=consent_id)
        serializer = ConsentWithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent = consent_withdraw(actor=request.user, consent=consent, reason=serializer.validated_data.get("reason", ""))
        return Response(ConsentSerializer(consent, context={"request": request}).data)


class MeConsentListCreateApi(generics.ListAPIView):
    """The signed-in patient's consents; sign one (method "api")."""

    serializer_class = ConsentSerializer
    queryset = Consent.objects.none()  # for the schema; the real one comes from the selector
    filterset_class = None

    def get_queryset(self):
        self.patient = patient_for_portal_user(user=self.request.user)
        return consents_for_patient(patient=self.patient)

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        _log(request, self.patient)
        return response

    @extend_schema(request=PatientConsentSignSerializer, responses={201: ConsentSerializer})
    def post(self, request):
        patient = patient_for_portal_user(user=request.user)
        serializer = PatientConsentSignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent = _sign(request, patient=patient, method=ConsentMethod.API, data=serializer.validated_data)
        return Response(ConsentSerializer(consent, context={"request": request}).data, status=status.HTTP_201_CREATED)


class MeConsentOfferListApi(APIView):
    """The texts the signed-in patient can still sign, in their language, to show before signing."""

    @extend_schema(
        parameters=[OpenApiParameter("language", str, enum=["en", "fr", "it"], description="Defaults to the patient's.")],
        responses=ConsentOfferSerializer(many=True),
    )
    def get(self, request):
        patient = patient_for_portal_user(user=request.user)
        language = request.query_params.get("language") or patient.preferred_language
        if language not in ("en", "fr", "it"):
            raise ValidationError({"language": _("Choose English, French or Italian.")})
        offers = [
            {
                "purpose": v.template.purpose,
                "version_id": v.pk,
                "version": v.version,
                "effective_from": v.effective_from,
                "language": language,
                "title": v.title_for(language),
                "text": v.text_for(language),
                "text_sha256": text_sha256(v.text_for(language)),
            }
            for v in consent_offers_for_patient(patient=patient)
        ]
        return Response(ConsentOfferSerializer(offers, many=True).data)


class MeConsentWithdrawApi(APIView):
    """The signed-in patient withdraws one of their consents; it stops applying at once."""

    @extend_schema(parameters=[_CONSENT_ID], request=ConsentWithdrawSerializer, responses=ConsentSerializer)
    def post(self, request, consent_id: int):
        patient = patient_for_portal_user(user=request.user)
        consent = consent_get_for_patient(patient=patient, pk=consent_id)
        serializer = ConsentWithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent = consent_withdraw(actor=request.user, consent=consent, reason=serializer.validated_data.get("reason", ""))
        return Response(ConsentSerializer(consent, context={"request": request}).data)
