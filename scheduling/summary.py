"""What a practitioner needs to know about each patient of their day, read in a fixed number of queries.

`visit_summaries` serves the provider's queue: one query for the active conditions of every
patient of the day, one for their latest vital signs (the newest observation per code, picked by a
window function in the database rather than by loading each patient's history), none for what the
appointment itself carries (intake answers, the contact details confirmed at intake). The count is
the same for two appointments or forty.

It is a read of clinical data: the caller has already decided that the user may read it (their
own visits, `patients.view_clinical`) and records the read in the access log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Condition, Observation

from .models import Appointment
from .services import INTAKE_KEYS

ACTIVE_CONDITION_STATUSES = ("active", "recurrence", "relapse")
VITAL_SIGNS_CATEGORY = "vital-signs"

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


def _number(value: Decimal | float | int) -> str:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def observation_value(*, value_quantity, value_unit: str, value_text: str, components) -> str:
    """An observation's value as one short text: "72 /min", "128/82 mm[Hg]" for blood pressure."""
    if value_quantity is not None:
        return f"{_number(value_quantity)} {value_unit}".strip()
    parts = [c for c in (components or []) if isinstance(c, dict) and c.get("value") is not None]
    if parts:
        units = {str(c.get("unit", "")) for c in parts}
        if len(units) == 1:
            return f"{'/'.join(_number(c['value']) for c in parts)} {units.pop()}".strip()
        return "; ".join(
            f"{c.get('display') or c.get('code', '')} {_number(c['value'])} {c.get('unit', '')}".strip() for c in parts
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
                label=row["display"] or row["code"],
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
