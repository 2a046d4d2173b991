"""Writes of the base layer: put events and messages in the outbox, deliver them once."""

from __future__ import annotations

import base64
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.tasks import publish_on_commit

from .events import event_handlers_for
from .models import Notification, OutboxChannel, OutboxItem, OutboxKind, OutboxStatus
from .permissions import actor_may_deliver_outbox, user_may_read_notification
from .sms import SmsMessage, get_sms_backend

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)


def _outbox_write(**fields) -> OutboxItem:
    dedupe_key = fields.get("dedupe_key")
    fields.setdefault("available_at", timezone.now())
    try:
        # A savepoint, so that a duplicate key leaves the caller's transaction usable.
        with transaction.atomic():
            item = OutboxItem.objects.create(**fields)
    except IntegrityError:
        existing = OutboxItem.objects.filter(dedupe_key=dedupe_key).first() if dedupe_key else None
        if existing is None:  # not a duplicate: some other constraint failed
            raise
        return existing
    if item.available_at <= timezone.now():
        # Handed to a worker at once; if the broker is down the row stays pending and the
        # periodic dispatcher delivers it when the broker is back.
        publish_on_commit("notifications.tasks.outbox_deliver", item.pk, what=f"outbox item {item.pk}")
    return item


def outbox_event_emit(
    *, topic: str, patient_id: int | None = None, payload: dict | None = None, dedupe_key: str | None = None
) -> OutboxItem:
    """Record a domain event in the caller's transaction. Payloads carry ids, never PHI values."""
    return _outbox_write(kind=OutboxKind.EVENT, topic=topic, patient_id=patient_id, payload=payload or {}, dedupe_key=dedupe_key)


def outbox_message_enqueue(
    *,
    channel: OutboxChannel | str,
    topic: str,
    to_address: str = "",
    recipient_user: User | None = None,
    patient_id: int | None = None,
    subject: str = "",
    text: str,
    html: str = "",
    link: str = "",
    attachments: list[tuple[str, bytes, str]] | None = None,
    dedupe_key: str | None = None,
    available_at: datetime | None = None,
) -> OutboxItem:
    """Queue one message on one channel, rendered already in the recipient's language.

    `dedupe_key` names the logical send (e.g. "reminder:appt-42:24h"): a second enqueue with the
    same key returns the first row, so the message goes out once.
    """
    channel = OutboxChannel(channel)
    if channel in (OutboxChannel.EMAIL, OutboxChannel.SMS) and not to_address:
        raise ValueError(f"A {channel.label} message needs an address.")
    if channel is OutboxChannel.IN_APP and recipient_user is None:
        raise ValueError("An in-app notification needs a recipient user.")
    payload: dict[str, object] = {"subject": subject, "text": text, "html": html, "link": link}
    if attachments:
        payload["attachments"] = [
            {"filename": name, "content_b64": base64.b64encode(content).decode(), "mimetype": mimetype}
            for name, content, mimetype in attachments
        ]
    return _outbox_write(
        kind=OutboxKind.MESSAGE,
        topic=topic,
        channel=channel,
        to_address=to_address,
        recipient_user=recipient_user,
        patient_id=patient_id,
        payload=payload,
        dedupe_key=dedupe_key,
        available_at=available_at or timezone.now(),
    )


def staff_notify(
    *, user: User, title: str, body: str = "", link: str = "", email: bool = True, dedupe_key: str | None = None
) -> None:
    """Notify a staff member in the app and, unless told otherwise, by email."""
    outbox_message_enqueue(
        channel=OutboxChannel.IN_APP,
        topic="staff.notification",
        recipient_user=user,
        subject=title,
        text=body,
        link=link,
        dedupe_key=f"{dedupe_key}:in_app" if dedupe_key else None,
    )
    if email and user.email:
        outbox_message_enqueue(
            channel=OutboxChannel.EMAIL,
            topic="staff.notification",
            recipient_user=user,
            to_address=user.email,
            subject=title,
            text=f"{body}\n\n{link}".strip(),
            dedupe_key=f"{dedupe_key}:email" if dedupe_key else None,
        )


def outbox_claim(*, item_id: int) -> bool:
    """Compare-and-set: take a due row for delivery. False if another worker has it or it is done.

    A claim older than SALUS_OUTBOX_CLAIM_SECONDS belongs to a worker that died; it may be taken over.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SALUS_OUTBOX_CLAIM_SECONDS)
    claimed = (
        OutboxItem.objects.filter(pk=item_id, available_at__lte=now)
        .filter(status=OutboxStatus.PENDING)
        .update(status=OutboxStatus.CLAIMED, claimed_at=now, attempts=F("attempts") + 1)
    ) or (
        OutboxItem.objects.filter(pk=item_id, status=OutboxStatus.CLAIMED, claimed_at__lt=stale).update(
            claimed_at=now, attempts=F("attempts") + 1
        )
    )
    return bool(claimed)


def _deliver_email(item: OutboxItem) -> None:
    p = item.payload
    message = EmailMultiAlternatives(subject=p.get("subject", ""), body=p.get("text", ""), to=[item.to_address])
    if p.get("html"):
        message.attach_alternative(p["html"], "text/html")
    for a in p.get("attachments", []):
        message.attach(a["filename"], base64.b64decode(a["content_b64"]), a["mimetype"])
    message.send(fail_silently=False)


def _deliver_sms(item: OutboxItem) -> None:
    get_sms_backend().send(SmsMessage(to=item.to_address, body=item.payload.get("text", ""), sender=settings.SALUS_SMS_SENDER))


def _deliver_in_app(item: OutboxItem) -> None:
    p = item.payload
    # source is unique: a re-run after a crash finds the notification already there.
    Notification.objects.get_or_create(
        source=item,
        defaults={
            "user": item.recipient_user,  # type: ignore[misc]  # set on every in-app row (outbox_message_enqueue)
            "title": p.get("subject", ""),
            "body": p.get("text", ""),
            "link": p.get("link", ""),
        },
    )


_CHANNELS = {OutboxChannel.EMAIL: _deliver_email, OutboxChannel.SMS: _deliver_sms, OutboxChannel.IN_APP: _deliver_in_app}


def outbox_deliver(*, actor, item_id: int) -> OutboxStatus | None:
    """Claim one row and deliver it. Returns the row's new status, or None when not claimed."""
    if not actor_may_deliver_outbox(actor):
        raise PermissionDenied
    if not outbox_claim(item_id=item_id):
        return None
    item = OutboxItem.objects.select_related("recipient_user").get(pk=item_id)
    try:
        if item.kind == OutboxKind.EVENT:
            for handler in event_handlers_for(item.topic):
                handler(item)
        else:
            _CHANNELS[OutboxChannel(item.channel)](item)
    except Exception as exc:  # noqa: BLE001 - recorded on the row and retried with back-off
        failed = item.attempts >= settings.SALUS_OUTBOX_MAX_ATTEMPTS
        status = OutboxStatus.FAILED if failed else OutboxStatus.PENDING
        backoff = timedelta(seconds=min(3600, 30 * 2 ** (item.attempts - 1)))
        OutboxItem.objects.filter(pk=item_id, status=OutboxStatus.CLAIMED).update(
            status=status, available_at=timezone.now() + backoff, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        logger.warning("Outbox item %s attempt %s failed: %s", item_id, item.attempts, type(exc).__name__)
        return status
    OutboxItem.objects.filter(pk=item_id, status=OutboxStatus.CLAIMED).update(
        status=OutboxStatus.DONE, done_at=timezone.now(), last_error=""
    )
    return OutboxStatus.DONE


def outbox_cancel_for_patient(*, patient_id: int) -> int:
    """Cancel every message still waiting for a patient (erasure, deceased, opt-out of all)."""
    return OutboxItem.objects.filter(patient_id=patient_id, kind=OutboxKind.MESSAGE, status=OutboxStatus.PENDING).update(
        status=OutboxStatus.CANCELLED, done_at=timezone.now()
    )


def notification_mark_read(*, actor: User, notification: Notification) -> None:
    if not user_may_read_notification(actor, notification):
        raise PermissionDenied
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
