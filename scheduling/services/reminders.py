"""Reminders before a visit: scheduled with each booking or move, sent once when due."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from .. import messages
from ..models import Appointment, AppointmentReminder, AppointmentStatus, ReminderStatus
from ..permissions import actor_may_send_reminders


def reminders_schedule(appointment: Appointment, *, now: dt.datetime) -> None:
    """One reminder row per configured offset still in the future; pending ones for an older time
    are cancelled (a move gives a fresh set)."""
    appointment.reminders.filter(status=ReminderStatus.PENDING).exclude(
        due_at__in=[appointment.start - dt.timedelta(minutes=m) for m in settings.SALUS_APPOINTMENT_REMINDER_MINUTES]
    ).update(status=ReminderStatus.CANCELLED)
    for minutes in settings.SALUS_APPOINTMENT_REMINDER_MINUTES:
        due = appointment.start - dt.timedelta(minutes=minutes)
        if due > now:
            AppointmentReminder.objects.get_or_create(appointment=appointment, offset_minutes=minutes, due_at=due)


def reminders_send_due(*, actor, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Send the reminders that are due. Each is claimed with a compare-and-set UPDATE and its
    message queued in the same transaction under a unique key, so a second run (or a second
    worker) sends nothing twice. Returns how many were sent."""
    if not actor_may_send_reminders(actor):
        raise PermissionDenied
    now = now or timezone.now()
    sent = 0
    due = list(
        AppointmentReminder.objects.filter(status=ReminderStatus.PENDING, due_at__lte=now)
        .order_by("due_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    for reminder_id in due:
        with transaction.atomic():
            claimed = AppointmentReminder.objects.filter(pk=reminder_id, status=ReminderStatus.PENDING).update(
                status=ReminderStatus.SENT, sent_at=now
            )
            if not claimed:
                continue
            reminder = AppointmentReminder.objects.select_related(
                "appointment__patient", "appointment__practitioner", "appointment__service", "appointment__location"
            ).get(pk=reminder_id)
            appointment = reminder.appointment
            if appointment.status != AppointmentStatus.BOOKED or appointment.start <= now:
                AppointmentReminder.objects.filter(pk=reminder_id).update(status=ReminderStatus.CANCELLED, sent_at=None)
                continue
            messages.appointment_reminder_enqueue(appointment, reminder=reminder)
            sent += 1
    return sent
