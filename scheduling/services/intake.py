"""The details a patient confirms before a visit: contact, insurance, payment reference and answers."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.records import save_validated
from patients.permissions import PATIENT_SELF_EDITABLE_FIELDS
from patients.services import patient_update

from .. import events
from ..models import Appointment, AppointmentStatus
from ..permissions import user_may_change
from .common import appointment_lock, event_emit

if TYPE_CHECKING:
    from accounts.models import User

# A run of 13-19 digits (spaces and dashes allowed) that passes the Luhn check is a card number.
_CARD_LIKE = re.compile(r"(?:\d[ -]?){13,19}")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def looks_like_card_number(value: str) -> bool:
    for match in _CARD_LIKE.finditer(value or ""):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            return True
    return False


INTAKE_ANSWER_MAX = 2000
INTAKE_KEYS = ("symptoms", "since", "medications", "allergies", "notes")


@transaction.atomic
def appointment_intake_submit(
    *,
    actor: User,
    appointment: Appointment,
    contact_phone: str,
    contact_email: str,
    insurance_provider: str = "",
    insurance_member_id: str = "",
    payment_reference: str = "",
    answers: dict | None = None,
    update_patient_record: bool = False,
    now: dt.datetime | None = None,
) -> Appointment:
    """The patient (or staff on their behalf) confirms contact, insurance and payment details
    before a visit. A payment reference is a reference, never card data: a card number is refused."""
    now = now or timezone.now()
    if not user_may_change(actor, appointment):
        raise PermissionDenied
    appointment = appointment_lock(appointment)
    if appointment.status != AppointmentStatus.BOOKED:
        raise ValidationError({"status": _("Intake is only taken for a booked visit.")})
    errors = {}
    contact_phone = (contact_phone or "").strip()
    contact_email = (contact_email or "").strip()
    if not contact_phone and not contact_email:
        errors["contact_phone"] = _("Give a phone number or an email address where we can reach you during the visit.")
    for field, value in (("payment_reference", payment_reference), ("insurance_member_id", insurance_member_id)):
        if looks_like_card_number(value):
            errors[field] = _("Do not enter a card number here. Give the reference of your payment or insurance instead.")
    answers = answers or {}
    if not isinstance(answers, dict):
        errors["answers"] = _("Answers must be a set of named fields.")
        answers = {}
    unknown = sorted(set(answers) - set(INTAKE_KEYS))
    if unknown:
        errors["answers"] = _("Unknown questions: %(keys)s.") % {"keys": ", ".join(map(str, unknown))}
    clean_answers = {}
    for key in INTAKE_KEYS:
        value = answers.get(key, "")
        if not isinstance(value, str):
            errors["answers"] = _("Each answer must be text.")
            continue
        if len(value) > INTAKE_ANSWER_MAX:
            errors["answers"] = _("Keep each answer under %(n)s characters.") % {"n": INTAKE_ANSWER_MAX}
            continue
        if value.strip():
            clean_answers[key] = value.strip()
    if errors:
        raise ValidationError(errors)
    appointment.contact_phone = contact_phone
    appointment.contact_email = contact_email
    appointment.insurance_provider = (insurance_provider or "").strip()
    appointment.insurance_member_id = (insurance_member_id or "").strip()
    appointment.payment_reference = (payment_reference or "").strip()
    appointment.intake_answers = clean_answers
    appointment.intake_completed_at = now
    save_validated(appointment, actor=actor)
    if update_patient_record:
        changes = {}
        patient = appointment.patient
        if contact_phone and contact_phone != patient.phone:
            changes["phone"] = contact_phone
        if contact_email and contact_email != patient.email:
            changes["email"] = contact_email
        if changes and set(changes) <= PATIENT_SELF_EDITABLE_FIELDS:
            patient_update(actor=actor, patient=patient, changes=changes)
    event_emit(events.APPOINTMENT_INTAKE_COMPLETED, appointment)
    return appointment
