"""REST endpoints: validate, fetch through selectors (access checked), call services."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..models import AccessChannel, CareTeamMember, ClinicalNote
from ..permissions import user_may_open_patients
from .filters import PatientFilter, clinical_fact_filter
from .pagination import CappedCountPagination
from .serializers import (
    CLINICAL_SERIALIZERS,
    CareTeamMemberEndSerializer,
    CareTeamMemberInputSerializer,
    CareTeamMemberSerializer,
    ClinicalNoteInputSerializer,
    ClinicalNoteSerializer,
    PatientSelfSerializer,
    PatientSerializer,
)


def _log(request, patient, resource: str) -> None:
    services.access_log_record(actor=request.user, patient=patient, resource=resource, channel=AccessChannel.API, request=request)


class PatientListCreateApi(generics.ListAPIView):
    """List and search the patients you may see; register a patient.

    Without `q` the list is ordered by family name, given name and id; a search (`q`) orders its matches
    the same way but case-insensitively, by code point. The total is counted up to 1,000 (`count_is_exact`).
    """

    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    pagination_class = CappedCountPagination

    def get_queryset(self):
        return selectors.patients_for_user(user=self.request.user)

    @extend_schema(request=PatientSerializer, responses={201: PatientSerializer})
    def post(self, request):
        if not request.user.has_perm("patients.add_patient"):
            return Response({"detail": "You may not register patients."}, status=status.HTTP_403_FORBIDDEN)
        serializer = PatientSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        patient = services.patient_create(actor=request.user, data=serializer.validated_data)
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)


class PatientDetailApi(APIView):
    """One patient's demographic record: read (access-logged) and update."""

    serializer_class = PatientSerializer

    def get_object(self, pk):
        return selectors.patient_get_for_user(user=self.request.user, pk=pk)

    @extend_schema(responses=PatientSerializer)
    def get(self, request, pk: int):
        patient = self.get_object(pk)
        _log(request, patient, "record")
        return Response(PatientSerializer(patient).data)

    @extend_schema(request=PatientSerializer, responses=PatientSerializer)
    def patch(self, request, pk: int):
        return self._update(request, pk, partial=True)

    @extend_schema(request=PatientSerializer, responses=PatientSerializer)
    def put(self, request, pk: int):
        return self._update(request, pk, partial=False)

    def _update(self, request, pk, *, partial):
        patient = self.get_object(pk)
        serializer = PatientSerializer(patient, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        patient = services.patient_update(actor=request.user, patient=patient, changes=dict(serializer.validated_data))
        return Response(PatientSerializer(patient).data)


class _PatientScopedMixin:
    clinical = True
    resource = ""

    def get_patient(self):
        getter = selectors.patient_clinical_get_for_user if self.clinical else selectors.patient_get_for_user
        if not user_may_open_patients(self.request.user):
            raise NotFound
        return getter(user=self.request.user, pk=self.kwargs["pk"])

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        _log(request, self.patient, self.resource)
        return response


class CareTeamListCreateApi(_PatientScopedMixin, generics.ListAPIView):
    """A patient's current care team; add a member (grants them access to the patient)."""

    serializer_class = CareTeamMemberSerializer
    queryset = CareTeamMember.objects.none()  # for the schema; the real one comes from the selector
    clinical = False
    resource = "care_team"
    filterset_class = None

    def get_queryset(self):
        self.patient = self.get_patient()
        return selectors.care_team_for_patient(patient=self.patient)

    @extend_schema(request=CareTeamMemberInputSerializer, responses={201: CareTeamMemberSerializer})
    def post(self, request, pk: int):
        patient = self.get_patient()
        serializer = CareTeamMemberInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = services.care_team_member_add(actor=request.user, patient=patient, **serializer.validated_data)
        return Response(CareTeamMemberSerializer(member).data, status=status.HTTP_201_CREATED)


class CareTeamMemberEndApi(APIView):
    """End a care-team membership; the member loses access to the patient at once."""

    @extend_schema(request=CareTeamMemberEndSerializer, responses=CareTeamMemberSerializer)
    def post(self, request, member_id: int):
        member = selectors.care_team_member_get_for_user(user=request.user, pk=member_id)
        serializer = CareTeamMemberEndSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = services.care_team_member_end(actor=request.user, member=member, **serializer.validated_data)
        return Response(CareTeamMemberSerializer(member).data)


class NoteListCreateApi(_PatientScopedMixin, generics.ListAPIView):
    """A patient's clinical notes (care team and administrators); write a note."""

    serializer_class = ClinicalNoteSerializer
    queryset = ClinicalNote.objects.none()  # for the schema; the real one comes from the selector
    resource = "notes"
    filterset_class = None

    def get_queryset(self):
        self.patient = self.get_patient()
        return selectors.notes_for_patient(patient=self.patient)

    @extend_schema(request=ClinicalNoteInputSerializer, responses={201: ClinicalNoteSerializer})
    def post(self, request, pk: int):
        patient = self.get_patient()
        serializer = ClinicalNoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = services.clinical_note_create(actor=request.user, patient=patient, **serializer.validated_data)
        return Response(ClinicalNoteSerializer(note).data, status=status.HTTP_201_CREATED)


class NoteReviewApi(APIView):
    """A care manager marks a note reviewed."""

    @extend_schema(request=None, responses=ClinicalNoteSerializer)
    def post(self, request, note_id: int):
        note = selectors.clinical_note_get_for_user(user=request.user, pk=note_id)
        note = services.clinical_note_review(actor=request.user, note=note)
        return Response(ClinicalNoteSerializer(note).data)


def _clinical_list_api(kind: str, model, date_field: str):
    class Api(_PatientScopedMixin, generics.ListAPIView):
        serializer_class = CLINICAL_SERIALIZERS[model]
        filterset_class = clinical_fact_filter(model, date_field)
        resource = kind
        queryset = model.objects.none()  # for the schema; the real one comes from the selector

        def get_queryset(self):
            self.patient = self.get_patient()
            return selectors.clinical_facts_for_patient(patient=self.patient, kind=kind)

    Api.__name__ = Api.__qualname__ = f"{model.__name__}ListApi"
    Api.__doc__ = f"A patient's {model._meta.verbose_name_plural} (read-only; they come from the EHR)."
    return Api


CLINICAL_DATE_FIELDS = {
    "encounters": "period_start",
    "conditions": "onset",
    "observations": "effective_at",
    "medication-requests": "authored_on",
    "allergies": "recorded_date",
    "procedures": "performed_start",
    "immunizations": "occurrence",
}
CLINICAL_LIST_APIS = {
    kind: _clinical_list_api(kind, model, CLINICAL_DATE_FIELDS[kind]) for kind, model in selectors.CLINICAL_MODELS.items()
}


class MeApi(APIView):
    """The signed-in patient's own record: read it and change contact details and preferences."""

    serializer_class = PatientSelfSerializer

    @extend_schema(responses=PatientSelfSerializer)
    def get(self, request):
        patient = selectors.patient_for_portal_user(user=request.user)
        _log(request, patient, "record")
        return Response(PatientSelfSerializer(patient).data)

    @extend_schema(request=PatientSelfSerializer, responses=PatientSelfSerializer)
    def patch(self, request):
        patient = selectors.patient_for_portal_user(user=request.user)
        serializer = PatientSelfSerializer(patient, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        patient = services.patient_update(actor=request.user, patient=patient, changes=dict(serializer.validated_data))
        return Response(PatientSelfSerializer(patient).data)
