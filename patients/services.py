"""Every write to the patient record. The admin, the REST API, the portal and tasks call these."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from audit.chain import chain_append, chain_append_many
from core.http import client_ip, client_user_agent
from core.records import actor_label, actor_user, save_validated
from notifications.services import outbox_event_emit, staff_notify

from . import events
from .access import ACCESS_RESOURCE_LABELS
from .models import (
    AccessChannel,
    AccessLog,
    CareTeamMember,
    ClinicalNote,
    Encounter,
    Patient,
    PatientIdentifier,
    PatientListEntry,
    PatientUserObjectPermission,
)
from .permissions import (
    CARE_TEAM_OBJECT_PERMISSIONS,
    STAFF_EDITABLE_FIELDS,
    actor_may_be_access_logged,
    user_editable_fields,
    user_may_change_patient_details,
    user_may_link_portal_account,
    user_may_manage_care_team,
    user_may_redact_note_mentions,
    user_may_register_patient,
    user_may_review_note,
    user_may_write_note,
)
from .selectors import care_managers_of

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.http import HttpRequest

    from accounts.models import User

    from .models import PatientContact


@transaction.atomic
def patient_create(*, actor: User, data: dict) -> Patient:
    """Register a patient. `data` holds the demographic and contact fields."""
    if not user_may_register_patient(actor):
        raise PermissionDenied
    unknown = set(data) - STAFF_EDITABLE_FIELDS
    if unknown:
        raise ValidationError({f: _("This field cannot be set here.") for f in sorted(unknown)})
    patient = Patient(**data)
    try:
        with transaction.atomic():
            save_validated(patient, actor=actor)
    except IntegrityError:
        raise ValidationError({"mrn": _("A patient with this MRN already exists.")}) from None
    outbox_event_emit(topic=events.PATIENT_CREATED, patient_id=patient.pk, payload={"patient_id": patient.pk})
    return patient


@transaction.atomic
def patient_update(*, actor: User, patient: Patient, changes: dict) -> Patient:
    """Change a patient's record: the fields the actor may change, validated all together.

    The portal (a patient's own contact details), the admin and the API use this one path.
    """
    allowed = user_editable_fields(actor, patient)
    if not allowed:
        raise PermissionDenied
    refused = set(changes) - allowed
    if refused:
        raise ValidationError({f: _("You cannot change this field.") for f in sorted(refused)})
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    changed = sorted(f for f, v in changes.items() if getattr(patient, f) != v)
    if not changed:
        return patient
    for field in changed:
        setattr(patient, field, changes[field])
    try:
        with transaction.atomic():
            save_validated(patient, actor=actor)
    except IntegrityError:
        raise ValidationError({"mrn": _("A patient with this MRN already exists.")}) from None
    if {"family_name", "given_name"} & set(changed):
        _list_entries_follow(patient)
    # The event names the changed fields, never their values.
    outbox_event_emit(topic=events.PATIENT_UPDATED, patient_id=patient.pk, payload={"patient_id": patient.pk, "fields": changed})
    return patient


@transaction.atomic
def patient_identifier_add(*, actor: User, patient: Patient, system: str, value: str, use: str = "") -> PatientIdentifier:
    if not user_may_change_patient_details(actor, patient):
        raise PermissionDenied
    identifier = PatientIdentifier(patient=patient, system=system, value=value, use=use)
    try:
        with transaction.atomic():
            save_validated(identifier, actor=actor)
    except IntegrityError:
        raise ValidationError({"value": _("This identifier already belongs to a patient.")}) from None
    return identifier


@transaction.atomic
def patient_link_user(*, actor: User, patient: Patient, user: User) -> Patient:
    """Give a patient their portal account."""
    if not user_may_link_portal_account(actor, patient):
        raise PermissionDenied
    if Patient.objects.filter(user=user).exclude(pk=patient.pk).exists():
        raise ValidationError({"user": _("This account already belongs to another patient.")})
    fresh = Patient.objects.select_for_update().get(pk=patient.pk)
    fresh.user = user
    fresh.full_clean()
    fresh._history_user = actor_user(actor)  # type: ignore[attr-defined]  # read by simple-history on save
    # Only the link: a stale copy of the record in the caller's hands must not undo other changes.
    fresh.save(update_fields=["user", "updated_at"])
    patient.user = user
    return fresh


def _list_entries_follow(patient: Patient) -> int:
    """Bring the names on every list entry of a patient in step with the record (after a change of
    name through any write path: update, erasure). Returns the number of entries changed."""
    return (
        PatientListEntry.objects.filter(patient_id=patient.pk)
        .exclude(family_name=patient.family_name, given_name=patient.given_name)
        .update(family_name=patient.family_name, given_name=patient.given_name)
    )


def _grant(user: User, patient: Patient) -> None:
    perms = {
        p
        for m in CareTeamMember.objects.filter(patient=patient, user=user, period_end__isnull=True)
        for p in CARE_TEAM_OBJECT_PERMISSIONS[m.role]
    }
    for perm in perms:
        grant = assign_perm(f"patients.{perm}", user, patient)
        if perm == "view_patient":
            # For one user and one object, guardian returns the object permission row it made or found.
            if not isinstance(grant, PatientUserObjectPermission):
                raise TypeError(f"Expected the patient's object permission row, got {type(grant).__name__}.")
            PatientListEntry.objects.get_or_create(
                grant=grant,
                defaults={"user": user, "patient": patient, "family_name": patient.family_name, "given_name": patient.given_name},
            )


def _revoke_unbacked(user: User, patient: Patient) -> None:
    """Remove the object permissions no remaining open membership backs."""
    still = {
        p
        for m in CareTeamMember.objects.filter(patient=patient, user=user, period_end__isnull=True)
        for p in CARE_TEAM_OBJECT_PERMISSIONS[m.role]
    }
    for perm in {"view_patient", "change_patient"} - still:
        remove_perm(f"patients.{perm}", user, patient)  # a list entry goes with its grant


@transaction.atomic
def care_team_member_add(
    *, actor: User, patient: Patient, user: User, role: str, period_start: dt.date | None = None
) -> CareTeamMember:
    """Put a staff member on the care team; from this commit on they see the patient."""
    if not user_may_manage_care_team(actor, patient):
        raise PermissionDenied
    if not user.is_active or not user.is_staff:
        raise ValidationError({"user": _("Only active staff members can join a care team.")})
    member = CareTeamMember(patient=patient, user=user, role=role, period_start=period_start or timezone.localdate())
    try:
        with transaction.atomic():
            save_validated(member, actor=actor)
    except IntegrityError:  # the same membership added at the same moment by someone else
        raise ValidationError({"user": _("This person is already on the care team in this role.")}) from None
    _grant(user, patient)
    outbox_event_emit(
        topic=events.CARE_TEAM_MEMBER_ADDED,
        patient_id=patient.pk,
        payload={"patient_id": patient.pk, "member_id": member.pk, "user_id": user.pk, "role": role},
    )
    return member


@transaction.atomic
def care_team_member_end(*, actor: User, member: CareTeamMember, period_end: dt.date | None = None) -> CareTeamMember:
    """Take a staff member off the care team; their access ends in the same transaction."""
    if not user_may_manage_care_team(actor, member.patient):
        raise PermissionDenied
    member = CareTeamMember.objects.select_for_update().get(pk=member.pk)
    if member.period_end is not None:
        return member
    today = timezone.localdate()
    period_end = period_end or today
    if period_end > today:
        raise ValidationError({"period_end": _("A membership ends now or in the past; end it on the day it ends.")})
    member.period_end = period_end
    save_validated(member, actor=actor)
    _revoke_unbacked(member.user, member.patient)
    outbox_event_emit(
        topic=events.CARE_TEAM_MEMBER_ENDED,
        patient_id=member.patient_id,
        payload={"patient_id": member.patient_id, "member_id": member.pk, "user_id": member.user_id},
    )
    return member


@transaction.atomic
def clinical_note_create(*, actor: User, patient: Patient, text: str, encounter: Encounter | None = None) -> ClinicalNote:
    """A clinician writes a note; the patient's care managers are told (in the app and by email)."""
    if not user_may_write_note(actor, patient):
        raise PermissionDenied
    if encounter is not None and encounter.patient_id != patient.pk:
        raise ValidationError({"encounter": _("This encounter belongs to another patient.")})
    note = ClinicalNote(patient=patient, author=actor, text=(text or "").strip(), encounter=encounter)
    save_validated(note, actor=actor)
    outbox_event_emit(
        topic=events.CLINICAL_NOTE_CREATED, patient_id=patient.pk, payload={"patient_id": patient.pk, "note_id": note.pk}
    )
    for manager in care_managers_of(patient=patient):
        if manager.pk == actor.pk:
            continue
        # Title and body carry no clinical text: email is not a place for PHI.
        staff_notify(
            user=manager,
            title=_("New note to review"),
            body=_("A new clinical note was written for patient %(mrn)s.") % {"mrn": patient.mrn},
            link=f"/admin/patients/clinicalnote/{note.pk}/change/",
            dedupe_key=f"note-created:{note.pk}:{manager.pk}",
        )
    return note


@transaction.atomic
def clinical_note_review(*, actor: User, note: ClinicalNote) -> ClinicalNote:
    if not user_may_review_note(actor, note):
        raise PermissionDenied
    note = ClinicalNote.objects.select_for_update().get(pk=note.pk)
    if note.reviewed_at is not None:
        return note
    note.reviewed_by = actor
    note.reviewed_at = timezone.now()
    save_validated(note, actor=actor)
    outbox_event_emit(
        topic=events.CLINICAL_NOTE_REVIEWED,
        patient_id=note.patient_id,
        payload={"patient_id": note.patient_id, "note_id": note.pk},
    )
    return note


NOTE_MENTION_REDACTED = "[redacted]"


@transaction.atomic
def clinical_note_mentions_redact(*, actor: User, note: ClinicalNote, texts: Iterable[str]) -> int:
    """Replace each of `texts` (the words of a mention, exactly as written) by "[redacted]" in the
    note and in every past version of it, then record the redaction as a new version by `actor`.
    Returns how many rows (the note and its versions) changed."""
    if not user_may_redact_note_mentions(actor):
        raise PermissionDenied
    texts = sorted({t for t in texts if t and t.strip()}, key=len, reverse=True)
    if not texts:
        raise ValidationError({"texts": _("Nothing to redact.")})

    def redacted(value: str) -> str:
        for t in texts:
            value = value.replace(t, NOTE_MENTION_REDACTED)
        return value

    note = ClinicalNote.objects.select_for_update().get(pk=note.pk)
    changed = 0
    for version_id, text in ClinicalNote.history.filter(id=note.pk).values_list("history_id", "text"):
        if redacted(text) != text:
            ClinicalNote.history.filter(history_id=version_id).update(text=redacted(text))
            changed += 1
    if redacted(note.text) != note.text:
        note.text = redacted(note.text)
        note._change_reason = "Mention of an erased person redacted"  # type: ignore[attr-defined]
        save_validated(note, actor=actor)
        changed += 1
    return changed


def _access_log_row(
    *,
    actor: User,
    patient: Patient,
    resource: str,
    channel: AccessChannel | str,
    request: HttpRequest | None,
    action: str,
    now: dt.datetime | None = None,
) -> AccessLog:
    """The unsaved row both writers append: a page that logs several patients gives them one time."""
    if resource not in ACCESS_RESOURCE_LABELS:
        raise ValueError(f"Access-log resource {resource!r} has no label in patients.access.")
    return AccessLog(
        created_at=now or timezone.now(),
        actor=actor_user(actor),
        actor_label=actor_label(actor),
        patient=patient,
        action=action,
        resource=resource,
        channel=AccessChannel(channel),
        ip_address=client_ip(request),
        user_agent=client_user_agent(request),
        # The path only: a query string may hold search terms and never reaches the log.
        path=request.path[:300] if request is not None else "",
    )


def access_log_record(
    *,
    actor: User,
    patient: Patient,
    resource: str,
    channel: AccessChannel | str,
    request: HttpRequest | None = None,
    action: str = "view",
) -> AccessLog:
    """Write who read which patient's record, from where, through which channel."""
    if not actor_may_be_access_logged(actor):
        raise PermissionDenied
    return chain_append(  # type: ignore[return-value]  # chain_append returns the record it is given
        _access_log_row(actor=actor, patient=patient, resource=resource, channel=channel, request=request, action=action)
    )


def access_log_record_many(
    *,
    actor: User,
    patients: Iterable[Patient],
    resource: str,
    channel: AccessChannel | str,
    request: HttpRequest | None = None,
    action: str = "view",
) -> list[AccessLog]:
    """`access_log_record` for a page that shows several patients at once (one row per patient),
    appended to the chain together so that the page's query count does not grow with its rows."""
    if not actor_may_be_access_logged(actor):
        raise PermissionDenied
    now = timezone.now()
    rows = [
        _access_log_row(actor=actor, patient=patient, resource=resource, channel=channel, request=request, action=action, now=now)
        for patient in dict.fromkeys(patients)
    ]
    return chain_append_many(rows)  # type: ignore[arg-type, return-value]  # the records it is given


@transaction.atomic
def patient_detail_row_save(*, actor: User, row: PatientIdentifier | PatientContact) -> None:
    """Save an identifier or contact person of a patient the actor may change (admin inlines)."""
    if not user_may_change_patient_details(actor, row.patient):
        raise PermissionDenied
    try:
        with transaction.atomic():
            save_validated(row, actor=actor)
    except IntegrityError:
        raise ValidationError({"value": _("This identifier already belongs to a patient.")}) from None


@transaction.atomic
def patient_detail_row_delete(*, actor: User, row: PatientIdentifier | PatientContact) -> None:
    if not user_may_change_patient_details(actor, row.patient):
        raise PermissionDenied
    row._history_user = actor  # type: ignore[union-attr]  # read by simple-history on delete
    row.delete()
