"""What a practitioner needs to know about each patient of their day, read in a fixed number of queries.

`visit_summaries` serves the provider's queue: one query for the active conditions of every
patient of the day, one for their allergies, one for their current medications, one for their
latest vital signs (the newest observation per code, picked by a window function in the database
rather than by loading each patient's history), none for what the appointment itself carries
(intake answers, the contact details confirmed at intake). The count is the same for two
appointments or forty.

Vital signs are named as a clinician says them ("Blood pressure 128/82 mmHg"), not by their
LOINC long name, with units as they are written on paper rather than in UCUM code.

It is a read of clinical data: the caller has already decided that the user may read it (their
own visits, `patients.view_clinical`) and records the read in the access log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import AllergyIntolerance, Condition, MedicationRequest, Observation

from .models import Appointment
from .services import INTAKE_KEYS

ACTIVE_CONDITION_STATUSES = ("active", "recurrence", "relapse")
VITAL_SIGNS_CATEGORY = "vital-signs"

# Allergies still relevant (an empty status is an import that did not say: shown, to be safe).
ACTIVE_ALLERGY_STATUSES = ("active", "")
REFUTED_ALLERGY = "refuted"
CURRENT_MEDICATION_STATUSES = ("active", "on-hold")

# What the common vital signs are called at the bedside, by LOINC code.
VITAL_LABELS = {
    "85354-9": _("Blood pressure"),
    "55284-4": _("Blood pressure"),
    "8480-6": _("Systolic blood pressure"),
    "8462-4": _("Diastolic blood pressure"),
    "8867-4": _("Heart rate"),
    "59408-5": _("Oxygen saturation"),
    "2708-6": _("Oxygen saturation"),
    "9279-1": _("Respiratory rate"),
    "8310-5": _("Body temperature"),
    "29463-7": _("Body weight"),
    "8302-2": _("Body height"),
    "39156-5": _("Body mass index"),
    "2339-0": _("Blood glucose"),
    "15074-8": _("Blood glucose"),
    "41653-7": _("Blood glucose"),
}
# UCUM codes as they are written for people.
UNIT_LABELS = {"mm[Hg]": "mmHg", "Cel": "°C", "[degF]": "°F", "kg/m2": "kg/m²", "[in_i]": "in", "[lb_av]": "lb"}

INTAKE_LABELS = {
    "symptoms": _("Symptoms"),
    "since": _("Since when"),
    "medications": _("Current medications"),
    "allergies": _("Allergies"),
    "notes": _("Other notes"),
}


@dataclass(frozen=True)
class VitalSign:
    code: str
    label: str
    value: str
    effective_at: dt.datetime


@dataclass(frozen=True)
class IntakeAnswer:
    key: str
    label: str
    text: str


@dataclass(frozen=True)
class CarePlanSummary:
    title: str
    status: str


@dataclass
class Summary:
    appointment_id: int
    patient_id: int
    age: int | None
    conditions: list[str] = field(default_factory=list)
    allergies: list[str] = field(default_factory=list)
    medications: list[str] = field(default_factory=list)
    vitals: list[VitalSign] = field(default_factory=list)
    care_plan: CarePlanSummary | None = None
    intake_answers: list[IntakeAnswer] = field(default_factory=list)
    intake_completed_at: dt.datetime | None = None
    contact_phone: str = ""
    contact_email: str = ""


def age_on(birth_date: dt.date | None, day: dt.date) -> int | None:
    if birth_date is None:
        return None
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _number(value: Decimal | float | int | str) -> str:
    """A measured value without the database's padding: 91.0000 is 91, 36.60 is 36.6."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    text = f"{number.normalize():f}"
    return text


def unit_label(unit: str) -> str:
    return UNIT_LABELS.get(unit, unit)


def vital_label(code: str, display: str) -> str:
    return str(VITAL_LABELS.get(code, "")) or display or code


def observation_value(*, value_quantity, value_unit: str, value_text: str, components) -> str:
    """An observation's value as one short text: "72 /min", "128/82 mmHg" for blood pressure."""
    if value_quantity is not None:
        return f"{_number(value_quantity)} {unit_label(value_unit)}".strip()
    parts = [c for c in (components or []) if isinstance(c, dict) and c.get("value") is not None]
    if parts:
        units = {str(c.get("unit", "")) for c in parts}
        if len(units) == 1:
            return f"{'/'.join(_number(c['value']) for c in parts)} {unit_label(units.pop())}".strip()
        return "; ".join(
            f"{vital_label(str(c.get('code', '')), str(c.get('display') or ''))} {_number(c['value'])} "
            f"{unit_label(str(c.get('unit', '')))}".strip()
            for c in parts
        )
    return value_text


def _active_conditions(patient_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    rows = (
        Condition.objects.filter(patient_id__in=patient_ids, clinical_status__in=ACTIVE_CONDITION_STATUSES)
        .order_by("patient_id", F("onset").desc(nulls_last=True), "id")
        .values_list("patient_id", "display", "code")
    )
    for patient_id, display, code in rows:
        names = found.setdefault(patient_id, [])
        name = display or code
        if name not in names:  # the same condition recorded by two source systems is shown once
            names.append(name)
    return found


def _allergies(patient_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    rows = (
        AllergyIntolerance.objects.filter(patient_id__in=patient_ids, clinical_status__in=ACTIVE_ALLERGY_STATUSES)
        .exclude(verification_status=REFUTED_ALLERGY)
        .order_by("patient_id", F("recorded_date").desc(nulls_last=True), "id")
        .values_list("patient_id", "display", "code", "criticality")
    )
    for patient_id, display, code, criticality in rows:
        names = found.setdefault(patient_id, [])
        name = display or code
        if criticality == "high":
            name = f"{name} ({_('high risk')})"
        if name not in names:
            names.append(name)
    return found


def _current_medications(patient_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    rows = (
        MedicationRequest.objects.filter(patient_id__in=patient_ids, status__in=CURRENT_MEDICATION_STATUSES)
        .filter(Q(intent="order") | Q(intent="plan") | Q(intent=""))
        .order_by("patient_id", F("authored_on").desc(nulls_last=True), "id")
        .values_list("patient_id", "display", "code", "dosage_text")
    )
    for patient_id, display, code, dosage in rows:
        names = found.setdefault(patient_id, [])
        name = f"{display or code} — {dosage}" if dosage else display or code
        if name not in names:
            names.append(name)
    return found


def _latest_vitals(patient_ids: list[int]) -> dict[int, list[VitalSign]]:
    newest_first = Window(
        RowNumber(), partition_by=[F("patient_id"), F("code")], order_by=[F("effective_at").desc(), F("id").desc()]
    )
    rows = (
        Observation.objects.filter(patient_id__in=patient_ids, category=VITAL_SIGNS_CATEGORY)
        .annotate(rank=newest_first)
        .filter(rank=1)
        .order_by("patient_id", "display", "code")
        .values("patient_id", "code", "display", "value_quantity", "value_unit", "value_text", "components", "effective_at")
    )
    found: dict[int, list[VitalSign]] = {}
    for row in rows:
        found.setdefault(row["patient_id"], []).append(
            VitalSign(
                code=row["code"],
                label=vital_label(row["code"], row["display"]),
                value=observation_value(
                    value_quantity=row["value_quantity"],
                    value_unit=row["value_unit"],
                    value_text=row["value_text"],
                    components=row["components"],
                ),
                effective_at=row["effective_at"],
            )
        )
    return found


def _active_care_plans(patient_ids: list[int]) -> dict[int, CarePlanSummary]:
    """The active care plan of each patient, when there is one.

    The seam for care plans: the careplans app has no tables yet, so no patient has one. When it
    does, this becomes one query through a careplans selector (e.g. the active plan per patient
    id). The import-linter layers keep scheduling and careplans independent today, so that change
    also lets scheduling read careplans (or moves the lookup up to a layer that sees both).
    """
    return {}


def visit_summaries(*, appointments: Iterable[Appointment], today: dt.date | None = None) -> dict[int, Summary]:
    """A summary per appointment id, for appointments loaded with their patient (`practitioner_day`
    does). Ages are counted on `today` (the local date by default)."""
    appointments = list(appointments)
    if not appointments:
        return {}
    today = today or timezone.localdate()
    patient_ids = sorted({a.patient_id for a in appointments})
    conditions = _active_conditions(patient_ids)
    allergies = _allergies(patient_ids)
    medications = _current_medications(patient_ids)
    vitals = _latest_vitals(patient_ids)
    care_plans = _active_care_plans(patient_ids)
    summaries = {}
    for appointment in appointments:
        answers = appointment.intake_answers if isinstance(appointment.intake_answers, dict) else {}
        summaries[appointment.pk] = Summary(
            appointment_id=appointment.pk,
            patient_id=appointment.patient_id,
            age=age_on(appointment.patient.birth_date, today),
            conditions=conditions.get(appointment.patient_id, []),
            allergies=allergies.get(appointment.patient_id, []),
            medications=medications.get(appointment.patient_id, []),
            vitals=vitals.get(appointment.patient_id, []),
            care_plan=care_plans.get(appointment.patient_id),
            intake_answers=[
                IntakeAnswer(key=key, label=str(INTAKE_LABELS.get(key, key)), text=str(answers[key]))
                for key in INTAKE_KEYS
                if answers.get(key)
            ],
            intake_completed_at=appointment.intake_completed_at,
            contact_phone=appointment.contact_phone if appointment.intake_completed_at else "",
            contact_email=appointment.contact_email if appointment.intake_completed_at else "",
        )
    return summaries
