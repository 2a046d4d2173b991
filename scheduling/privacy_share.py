"""Appointments' share of a patient's data export and of an erasure (see `core.privacy`).

The export holds every visit with what the patient told us for it (reason, intake answers, contact, insurance and
payment references); the video room's name is left out: it is a key to a room, not data about the
patient.

On erasure, visits still to come are cancelled without any notice (the record is being erased;
its pending messages are cancelled with it), and the free text and intake details of every visit,
past ones and every stored version included, are blanked. What happened and when (times, status,
service, practitioner) stays, like the rest of the medical record.
"""

from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from core.privacy import ErasureContext, ExportSection, PrivacyShare, patient_rows_scrub, share_register
from core.records import actor_user

from .models import Appointment, AppointmentReminder, AppointmentStatus, BookingChannel, ReminderStatus

ERASURE_CANCEL_REASON = "The patient's record was erased."
# What the patient gave for a visit: erased, where the visit itself is kept.
ERASED_FIELDS = {
    "reason": "",
    "intake_answers": {},
    "contact_phone": "",
    "contact_email": "",
    "insurance_provider": "",
    "insurance_member_id": "",
    "payment_reference": "",
}


def _label(name: str):
    return Appointment._meta.get_field(name).verbose_name


def appointments_export(patient) -> list[dict]:
    """Every visit of the patient, oldest first, the service named in the patient's language."""
    rows = []
    queryset = Appointment.objects.filter(patient=patient).select_related("service", "practitioner", "location")
    with translation.override(patient.preferred_language):
        for a in queryset.order_by("start", "id"):
            rows.append(
                {
                    "id": a.pk,
                    "start": a.start,
                    "end": a.end,
                    "status": a.status,
                    "service": a.service.name,
                    "practitioner": a.practitioner.display_name,
                    "virtual": a.virtual,
                    "location": a.location.name if a.location_id else "",
                    "location_address": a.location.address if a.location_id else "",
                    "reason": a.reason,
                    "intake_answers": a.intake_answers,
                    "intake_completed_at": a.intake_completed_at,
                    "contact_phone": a.contact_phone,
                    "contact_email": a.contact_email,
                    "insurance_provider": a.insurance_provider,
                    "insurance_member_id": a.insurance_member_id,
                    "payment_reference": a.payment_reference,
                    "booked_via": a.booked_via,
                    "booked_at": a.booked_at,
                    "arrived_at": a.arrived_at,
                    "started_at": a.started_at,
                    "fulfilled_at": a.fulfilled_at,
                    "cancelled_at": a.cancelled_at,
                    "cancel_reason": a.cancel_reason,
                    "visit_note_id": a.visit_note_id,
                }
            )
    return rows


SECTIONS = (
    ExportSection(
        "appointments",
        _("Appointments"),
        appointments_export,
        (
            ("start", _label("start")),
            ("end", _label("end")),
            ("status", _label("status"), dict(AppointmentStatus.choices)),
            ("service", _label("service")),
            ("practitioner", _label("practitioner")),
            ("virtual", _label("virtual")),
            ("location", _label("location")),
            ("reason", _label("reason")),
            ("booked_via", _label("booked_via"), dict(BookingChannel.choices)),
            ("booked_at", _label("booked_at")),
        ),
        order=70,
    ),
)


def _erase(ctx: ErasureContext) -> None:
    """Cancel the visits still to come, silently, and blank what the patient gave for every visit."""
    patient, actor = ctx.patient, ctx.actor
    now = timezone.now()
    upcoming = Appointment.objects.select_for_update().filter(patient=patient, status=AppointmentStatus.BOOKED, start__gt=now)
    for appointment in upcoming.order_by("pk"):
        appointment.status = AppointmentStatus.CANCELLED
        appointment.cancelled_at = now
        appointment.cancelled_by = actor_user(actor)
        appointment.cancel_reason = ERASURE_CANCEL_REASON
        appointment.sequence += 1
        for name, value in ERASED_FIELDS.items():
            setattr(appointment, name, value)
        appointment._history_user = appointment.cancelled_by
        appointment.save()
    AppointmentReminder.objects.filter(appointment__patient=patient, status=ReminderStatus.PENDING).update(
        status=ReminderStatus.CANCELLED
    )
    # In place, versions included: this rewrites the past, as the erasure of the record itself does.
    Appointment.objects.filter(patient=patient).update(**ERASED_FIELDS)
    Appointment.history.filter(patient_id=patient.pk).update(**ERASED_FIELDS)
    patient_rows_scrub("scheduling", ctx)


share_register(PrivacyShare(app_label="scheduling", export_sections=SECTIONS, erase=_erase, erase_order=30))
