"""The video room of a virtual visit and who may have its link.

The room name is random (`secrets.token_urlsafe`, 192 bits) and stored on the appointment; the
link is built from the configured provider (Jitsi Meet by default) and is only ever handed to the
patient of the visit, once consent and intake are done, and to its practitioner.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import Purpose
from consent.selectors import consent_is_active

from .models import Appointment, AppointmentStatus
from .permissions import user_is_patient_of, user_is_practitioner_of


@dataclass
class VideoAccess:
    url: str | None
    # What stands between the asker and the link, each a sentence that tells them what to do.
    missing: list[str] = field(default_factory=list)
    needs_consent: bool = False
    needs_intake: bool = False


def room_url(room: str) -> str:
    base = settings.SALUS_VIDEO_BASE_URL.rstrip("/")
    return f"{base}/{room}"


def video_access(*, user, appointment: Appointment, now: dt.datetime | None = None) -> VideoAccess:
    """Whether `user` may have the video link of `appointment` now, and if not, why.

    Callers have already fetched the appointment through `appointment_get_for_user`; this answers
    the finer question of the link itself, which even a care manager who sees the visit does not get.
    """
    now = now or timezone.now()
    if not appointment.virtual or not appointment.video_room:
        return VideoAccess(None, [_("This is an in-person visit.")])
    if appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED):
        return VideoAccess(None, [_("This visit is %(status)s.") % {"status": appointment.get_status_display().lower()}])
    if now > appointment.over_at():
        return VideoAccess(None, [_("This visit is over.")])
    is_practitioner = user_is_practitioner_of(user, appointment)
    if not (is_practitioner or user_is_patient_of(user, appointment.patient)):
        return VideoAccess(None, [_("Only the patient and the practitioner of this visit can join it.")])
    access = VideoAccess(None)
    if not consent_is_active(patient=appointment.patient, purpose=Purpose.VIRTUAL_VISIT, at=now):
        access.needs_consent = True
        access.missing.append(_("The virtual-visit consent has not been signed."))
    if appointment.intake_completed_at is None:
        access.needs_intake = True
        access.missing.append(_("The intake (contact, insurance and payment details) is not complete."))
    if access.missing:
        return access
    access.url = room_url(appointment.video_room)
    return access
