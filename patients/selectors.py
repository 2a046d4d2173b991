"""Reads of patient data, permission-aware. Every view, admin and API queryset comes from here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import CharField, F, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Collate, Concat, Upper
from django.http import Http404
from django.utils.translation import gettext

from accounts.roles import Role
from core.ids import id_or_404

from .access import ROLE_NAMES
from .models import (
    AllergyIntolerance,
    CareTeamMember,
    ClinicalNote,
    Condition,
    Encounter,
    Immunization,
    MedicationRequest,
    Observation,
    Patient,
    Procedure,
)
from .permissions import user_may_open_patients, user_may_view_clinical, user_sees_all_patients

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

CLINICAL_MODELS = {
    "encounters": Encounter,
    "conditions": Condition,
    "observations": Observation,
    "medication-requests": MedicationRequest,
    "allergies": AllergyIntolerance,
    "procedures": Procedure,
    "immunizations": Immunization,
}


def _parse_date(value: str) -> dt.date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _search_alternatives(query: str, *, family: str = "family_name", given: str = "given_name", on_record=None) -> list[Q]:
    """What a search matches, as alternatives: a birth date; else the prefix of the family name, of the
    given name, of both ("family given" either way round), or the MRN, all case-insensitive.

    `family` and `given` name the fields the names are read from; `on_record`, when given, wraps each
    alternative on the record's other fields (MRN, birth date)."""
    query = " ".join(query.split())[:100]
    if not query:
        return []
    record = on_record or (lambda q: q)
    birth_date = _parse_date(query)
    if birth_date:
        return [record(Q(birth_date=birth_date))]
    alternatives = [Q(**{f"{family}__istartswith": query}), Q(**{f"{given}__istartswith": query})]
    parts = query.split(" ")
    if len(parts) >= 2:
        first, rest = parts[0], " ".join(parts[1:])
        alternatives.append(Q(**{f"{family}__istartswith": first, f"{given}__istartswith": rest}))
        alternatives.append(Q(**{f"{given}__istartswith": first, f"{family}__istartswith": rest}))
    alternatives.append(record(Q(mrn__iexact=query)))
    return alternatives


def _on_record(q: Q) -> Q:
    # Asked of the patient table's own index (MRN, birth date): a handful of ids, which the scan of
    # a care team's list entries then checks on the entry, without looking up each of its patients.
    return Q(list_patient__in=Patient.objects.filter(q).values("pk"))


def patient_search_q(query: str) -> Q:
    """Search by name (prefix of family or given name, or "family given"), MRN or birth date."""
    return reduce(or_, _search_alternatives(query), Q())


class _CodePointOrder(Collate):
    """An expression compared by code point ("C" collation on PostgreSQL; SQLite's default already is).

    Only a b-tree in the "C" collation both answers `UPPER(name) LIKE 'ROBI%'` as a range and keeps its
    rows in an order a query can ask for (`patient_search_name_idx`, `patient_search_given_idx`)."""

    def __init__(self, expression):
        super().__init__(expression, "C")

    def as_sqlite(self, compiler, connection, **extra_context):
        return compiler.compile(self.get_source_expressions()[0])


def _search_order() -> dict:
    return {
        "search_family": _CodePointOrder(Upper("family_name")),
        "search_given": _CodePointOrder(Upper("given_name")),
    }


SEARCH_ORDER = ("search_family", "search_given", "id")


def search_sort_order() -> list:
    """The search order for one OR'ed WHERE (the admin's changelist search), written so that no
    index offers it: PostgreSQL then reads the matches through the indexes of the alternatives
    (a BitmapOr) and sorts them. Offered `patient_search_name_idx`'s own order, it walks that index
    from "A" and tests every patient before the first match (1.6 s for "wils" at a million
    patients, 19 ms sorted; bench/RESULTS.md §8). The same order as `SEARCH_ORDER`."""
    family = Concat("family_name", Value(""), output_field=CharField())
    return [_CodePointOrder(Upper(family)), _CodePointOrder(Upper("given_name")), "id"]


def patients_search(*, user, queryset: QuerySet[Patient], query: str, rows: int | None = None) -> QuerySet[Patient]:
    """`queryset` (from `patients_for_user`, perhaps filtered further) narrowed to `patient_search_q(query)`,
    ordered case-insensitively by family name, given name and id (code-point order).

    For a user who sees every patient, the search is a UNION ALL of its alternatives, each made
    disjoint from the ones before it, where one OR'ed WHERE either sorted every match or walked the
    name index from "A" (1.7 s at a million patients). With `rows` (what the caller will read at most:
    the list's counted rows), each branch takes only its first `rows` in result order, which the
    family-name branch reads straight from `patient_search_name_idx`; PostgreSQL does not merge
    ordered UNION ALL branches by itself (it sorts all their rows). For a care team's few thousand
    patients, one filtered scan and a sort of the matches is cheaper than repeating the care-team
    lookup in every branch. Nothing can be filtered after the UNION: apply every other filter first.
    """
    sees_all = user_sees_all_patients(user)
    # A care team reaches its patients through its list entries (`patients_for_user`).
    if not sees_all and user_may_open_patients(user):
        # The care team's list entries carry the names: the search reads the user's ~2,000 entries
        # from their index, and looks up only the patients that match. (An annotation, not a filter
        # on `list_entries__`, reuses the list's join instead of adding a second one.)
        queryset = queryset.annotate(
            list_family=F("list_entries__family_name"),
            list_given=F("list_entries__given_name"),
            list_patient=F("list_entries__patient_id"),
        )
        alternatives = _search_alternatives(query, family="list_family", given="list_given", on_record=_on_record)
    else:
        alternatives = _search_alternatives(query)
    if not alternatives:
        return queryset
    if len(alternatives) == 1 or not sees_all:
        return queryset.filter(reduce(or_, alternatives)).annotate(**_search_order()).order_by(*SEARCH_ORDER)
    branches, before = [], Q()
    for alternative in alternatives:
        branch = queryset.filter(alternative & ~before) if before else queryset.filter(alternative)
        branch = branch.annotate(**_search_order())
        # SQLite allows no LIMIT inside a compound statement; its data sets are small.
        if rows and connection.features.supports_slicing_ordering_in_compound:
            branches.append(branch.order_by(*SEARCH_ORDER)[:rows])
        else:
            branches.append(branch.order_by())
        before |= alternative
    return branches[0].union(*branches[1:], all=True).order_by(*SEARCH_ORDER)


def patients_for_user(*, user: User | AnonymousUser, search: str = "") -> QuerySet[Patient]:
    """The patients a user may see, optionally searched. Outreach and event planners get none."""
    if not user.is_authenticated or not user.is_active:
        return Patient.objects.none()
    if user_sees_all_patients(user):
        qs = Patient.objects.all()
    elif user_may_open_patients(user):
        # Through the user's list entries, one per `view_patient` grant of care-team membership and
        # deleted with it, in their order: the first page of a care manager's list reads the first
        # 50 entries of their name index instead of looking up and sorting every patient they see.
        qs = Patient.objects.filter(list_entries__user=user).order_by(
            "list_entries__family_name", "list_entries__given_name", "list_entries__patient_id"
        )
    elif hasattr(user, "patient"):
        qs = Patient.objects.filter(user=user)
    else:
        return Patient.objects.none()
    if search:
        qs = qs.filter(patient_search_q(search))
    return qs


def patient_get_for_user(*, user: User | AnonymousUser, pk: int | str) -> Patient:
    """Fetch one patient the user may see, or 404 (never 403: existence is not revealed)."""
    try:
        return patients_for_user(user=user).get(pk=pk)
    except (Patient.DoesNotExist, ValueError, TypeError):
        raise Http404("No such patient.") from None


def patient_for_portal_user(*, user: User | AnonymousUser) -> Patient:
    """The signed-in patient's own record, or 404 for anyone without one."""
    if not user.is_authenticated:
        raise Http404("No patient record.")
    try:
        return Patient.objects.get(user=user, active=True)
    except Patient.DoesNotExist:
        raise Http404("No patient record.") from None


def patient_clinical_get_for_user(*, user: User | AnonymousUser, pk: int | str) -> Patient:
    """A patient whose clinical data the user may read (care team, administrators), or 404."""
    patient = patient_get_for_user(user=user, pk=pk)
    if patient.user_id == user.pk or user_may_view_clinical(user):
        return patient
    raise Http404("No such patient.")


def clinical_facts_for_patient(*, patient: Patient, kind: str) -> QuerySet:
    """One kind of clinical fact of a patient already authorized by `patient_clinical_get_for_user`."""
    return CLINICAL_MODELS[kind]._default_manager.filter(patient=patient)


def patient_email_recipient(patient: Patient) -> tuple[str, User | None]:
    """Where email to a patient goes, and to which account: their active portal account's address,
    else the one on the record ("" when there is none)."""
    user = patient.user if patient.user is not None and patient.user.is_active else None
    return ((user.email if user else "") or patient.email), user


def care_team_for_patient(*, patient: Patient, include_past: bool = False) -> QuerySet[CareTeamMember]:
    qs = CareTeamMember.objects.filter(patient=patient).select_related("user")
    if not include_past:
        qs = qs.filter(period_end__isnull=True)
    return qs.order_by("role", "period_start", "id")


def notes_for_patient(*, patient: Patient) -> QuerySet[ClinicalNote]:
    return ClinicalNote.objects.filter(patient=patient).select_related("author", "reviewed_by")


def care_managers_of(*, patient: Patient) -> list[User]:
    return [m.user for m in care_team_for_patient(patient=patient).filter(role="care_manager", user__is_active=True)]


def notes_to_review_for_user(*, user: User) -> QuerySet[ClinicalNote]:
    """Unreviewed notes on the patients whose care manager the user is."""
    return ClinicalNote.objects.filter(
        reviewed_at__isnull=True,
        patient__care_team__user=user,
        patient__care_team__role="care_manager",
        patient__care_team__period_end__isnull=True,
    ).select_related("patient", "author")


def clinical_notes_for_user(*, user) -> QuerySet[ClinicalNote]:
    """The notes of every patient whose clinical data the user may read (the notes admin)."""
    if not user_may_view_clinical(user):
        return ClinicalNote.objects.none()
    return ClinicalNote.objects.filter(patient__in=Subquery(patients_for_user(user=user).values("pk")))


def clinical_note_get_for_user(*, user, pk) -> ClinicalNote:
    """One note of a patient whose clinical data the user may read, or 404."""
    try:
        return clinical_notes_for_user(user=user).select_related("patient").get(pk=id_or_404(pk, message="No such note."))
    except ClinicalNote.DoesNotExist:
        raise Http404("No such note.") from None


def care_team_member_get_for_user(*, user, pk) -> CareTeamMember:
    """One care-team membership of a patient the user may open, or 404."""
    try:
        return (
            CareTeamMember.objects.select_related("patient", "user")
            .filter(patient__in=Subquery(patients_for_user(user=user).values("pk")))
            .get(pk=id_or_404(pk, message="No such care-team member."))
        )
    except CareTeamMember.DoesNotExist:
        raise Http404("No such care-team member.") from None


# --- who acted, in words (the audit report, the access-log admin, a patient's export) ----------


def _patient_record(user):
    if not hasattr(user, "patient_record"):
        user.patient_record = Patient.objects.filter(user=user).only("id", "user_id", "given_name", "family_name").first()
    return user.patient_record


def _role_of(user) -> Role | None:
    if user.is_superuser:
        return Role.ADMINISTRATOR
    names = {group.name for group in user.groups.all()}
    if _patient_record(user) is not None:
        names.add(Role.PATIENT.value)
    return next((role for role in ROLE_NAMES if role.value in names), None)


def person_label(user, *, with_email: bool = True) -> str:
    """One user in words: their name (a patient's from their record) and role. Without a name,
    staff read as their email when `with_email` (staff pages), else as "a staff member" (a
    patient's own export names staff as the portal does, never by email). Expects `user` as
    `people_named` fetches it (groups and patient record at hand), or costs two queries."""
    record = _patient_record(user)
    name = record.full_name if record is not None else user.get_full_name()
    if not name:
        name = user.email if with_email else gettext("a staff member") if user.is_staff else gettext("a portal user")
    role = _role_of(user)
    return f"{name} ({ROLE_NAMES[role]})" if role is not None else name


def people_named(user_ids: Iterable[int | None], *, with_email: bool = True) -> dict[int, str]:
    """`person_label` for each user id, in three queries whatever their number (users, their
    groups, their patient records)."""
    ids = {pk for pk in user_ids if pk}
    if not ids:
        return {}
    users = list(
        get_user_model()
        .objects.filter(pk__in=ids)
        .prefetch_related(Prefetch("groups", queryset=Group.objects.only("id", "name")))
    )
    records = {p.user_id: p for p in Patient.objects.filter(user_id__in=ids).only("id", "user_id", "given_name", "family_name")}
    for user in users:
        user.patient_record = records.get(user.pk)  # type: ignore[attr-defined]  # read by person_label
    return {user.pk: person_label(user, with_email=with_email) for user in users}
