"""What every appointment write shares: lock the row for the change and emit the domain event in the
same transaction (saving goes through `core.records.save_validated`, as every domain does)."""

from __future__ import annotations

from notifications.services import outbox_event_emit

from ..models import Appointment


def appointment_lock(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update().select_related("patient", "practitioner", "service").get(pk=appointment.pk)


def event_emit(topic: str, appointment: Appointment, **extra) -> None:
    outbox_event_emit(
        topic=topic,
        patient_id=appointment.patient_id,
        payload={
            "appointment_id": appointment.pk,
            "patient_id": appointment.patient_id,
            "practitioner_id": appointment.practitioner_id,
            "service_id": appointment.service_id,
            **extra,
        },
    )
