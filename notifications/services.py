"""Writes of the base layer: put events and messages in the outbox, deliver them once."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from core import tasks as core_tasks

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
        # A worker is nudged once the transaction commits; if the broker is down the row stays
        # pending and the periodic dispatcher delivers it when the broker is back.
        _outbox_nudge_on_commit(item.pk)
    return item


class _OutboxNudge:
    """The after-commit publish of one batch delivery, registered at most once per transaction:
    a transaction that writes a thousand rows publishes one task, which claims them in batches."""

    def __init__(self, first_item_id: int):
        self.first_item_id = first_item_id

    def __call__(self) -> None:
        core_tasks.publish_now(import_string(OUTBOX_BATCH_TASK), what=f"outbox item {self.first_item_id}")


OUTBOX_BATCH_TASK = "notifications.tasks.outbox_deliver_batch"


_nudges_held: ContextVar[bool] = ContextVar("outbox_nudges_held", default=False)


@contextmanager
def outbox_nudges_held() -> Iterator[None]:
    """Write rows without nudging a worker: for a caller that settles its own rows in process (the
    demo seed, through outbox_history_settle), so that the queue does not fill with batch tasks
    that would find nothing to do. Whatever it leaves due, the periodic dispatcher hands out."""
    token = _nudges_held.set(True)
    try:
        yield
    finally:
        _nudges_held.reset(token)


def _outbox_nudge_on_commit(item_id: int) -> None:
    if _nudges_held.get():
        return
    connection = transaction.get_connection()
    # Django keeps the callbacks of the open transaction (and drops those of a rolled-back
    # savepoint) in run_on_commit; one nudge already there covers this row too.
    if connection.in_atomic_block and any(isinstance(callback, _OutboxNudge) for _, callback, *_ in connection.run_on_commit):
        return
    transaction.on_commit(_OutboxNudge(item_id))


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


def _due_condition(*, now: datetime) -> tuple[str, list[Any]]:
    """SQL for "pending and due, or claimed by a worker that died" (the outbox_pending_idx rows)."""
    stale = now - timedelta(seconds=settings.SALUS_OUTBOX_CLAIM_SECONDS)
    at = db_connection.ops.adapt_datetimefield_value
    return (
        "((status = %s AND available_at <= %s) OR (status = %s AND claimed_at < %s))",
        [OutboxStatus.PENDING.value, at(now), OutboxStatus.CLAIMED.value, at(stale)],
    )


def outbox_claim_batch(*, limit: int, item_ids: list[int] | None = None) -> list[int]:
    """Compare-and-set over a set: take up to `limit` due rows (oldest due first; only among
    `item_ids` when given) for delivery in one UPDATE, and return their ids. A row another worker
    holds is skipped, not waited for.

    On PostgreSQL the inner SELECT locks its rows with FOR UPDATE SKIP LOCKED, so concurrent
    workers claim disjoint batches; on SQLite the single writer serializes the statement. The
    outer WHERE repeats the condition, so a row changed since it was read is not taken.
    A claim older than SALUS_OUTBOX_CLAIM_SECONDS belongs to a worker that died; it may be taken over.
    """
    if limit <= 0 or item_ids == []:
        return []
    now = timezone.now()
    due_sql, due_params = _due_condition(now=now)
    table = db_connection.ops.quote_name(OutboxItem._meta.db_table)
    only_sql, only_params = "", []
    if item_ids is not None:
        only_sql = f" AND id IN ({', '.join(['%s'] * len(item_ids))})"
        only_params = [int(pk) for pk in item_ids]
    lock = " FOR UPDATE SKIP LOCKED" if db_connection.features.has_select_for_update_skip_locked else ""
    # The choice is a materialized CTE, evaluated once: as a plain IN (subquery) PostgreSQL may
    # re-run a LIMIT ... SKIP LOCKED subquery during the join and claim more than `limit` rows.
    sql = (
        f"WITH picked AS MATERIALIZED (SELECT id FROM {table} WHERE {due_sql}{only_sql} "  # noqa: S608 - names from the model, values as parameters
        f"ORDER BY available_at, id LIMIT %s{lock}) "
        f"UPDATE {table} SET status = %s, claimed_at = %s, attempts = attempts + 1 "
        f"WHERE {due_sql} AND id IN (SELECT id FROM picked) RETURNING id"
    )
    params: list[Any] = [
        *due_params,
        *only_params,
        limit,
        OutboxStatus.CLAIMED.value,
        db_connection.ops.adapt_datetimefield_value(now),
        *due_params,
    ]
    with transaction.atomic(), db_connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(pk for (pk,) in cursor.fetchall())


def outbox_claim(*, item_id: int) -> bool:
    """Compare-and-set: take one due row for delivery. False if another worker has it or it is done."""
    return bool(outbox_claim_batch(limit=1, item_ids=[item_id]))


def _deliver_email(item: OutboxItem, connection=None) -> None:
    p = item.payload
    message = EmailMultiAlternatives(
        subject=p.get("subject", ""), body=p.get("text", ""), to=[item.to_address], connection=connection
    )
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


_CHANNELS: dict[str, Callable[..., None]] = {
    OutboxChannel.EMAIL: _deliver_email,
    OutboxChannel.SMS: _deliver_sms,
    OutboxChannel.IN_APP: _deliver_in_app,
}


class _EmailConnection:
    """One connection to the mail server for a whole batch, opened on the first email and opened
    again after a failure (a broken connection must not fail the rest of the batch)."""

    def __init__(self):
        self._connection = None

    def deliver(self, item: OutboxItem) -> None:
        if self._connection is None:
            self._connection = get_connection(fail_silently=False)
            self._connection.open()
        try:
            _CHANNELS[OutboxChannel.EMAIL](item, self._connection)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001 - a connection that cannot even close is dropped
                logger.warning("Closing the mail connection failed", exc_info=False)
            self._connection = None


def _deliver_claimed(item: OutboxItem, *, email: _EmailConnection | None = None) -> OutboxStatus:
    """Deliver one row this worker has claimed, and record the outcome on it."""
    try:
        if item.kind == OutboxKind.EVENT:
            for handler in event_handlers_for(item.topic):
                handler(item)
        elif item.channel == OutboxChannel.EMAIL and email is not None:
            email.deliver(item)
        else:
            _CHANNELS[OutboxChannel(item.channel)](item)
    except Exception as exc:  # noqa: BLE001 - recorded on the row and retried with back-off
        failed = item.attempts >= settings.SALUS_OUTBOX_MAX_ATTEMPTS
        status = OutboxStatus.FAILED if failed else OutboxStatus.PENDING
        backoff = timedelta(seconds=min(3600, 30 * 2 ** (item.attempts - 1)))
        OutboxItem.objects.filter(pk=item.pk, status=OutboxStatus.CLAIMED).update(
            status=status, available_at=timezone.now() + backoff, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        logger.warning("Outbox item %s attempt %s failed: %s", item.pk, item.attempts, type(exc).__name__)
        return status
    OutboxItem.objects.filter(pk=item.pk, status=OutboxStatus.CLAIMED).update(
        status=OutboxStatus.DONE, done_at=timezone.now(), last_error=""
    )
    return OutboxStatus.DONE


def outbox_deliver(*, actor, item_id: int) -> OutboxStatus | None:
    """Claim one row and deliver it. Returns the row's new status, or None when not claimed."""
    if not actor_may_deliver_outbox(actor):
        raise PermissionDenied
    if not outbox_claim(item_id=item_id):
        return None
    return _deliver_claimed(OutboxItem.objects.select_related("recipient_user").get(pk=item_id))


def outbox_deliver_batch(*, actor, limit: int | None = None) -> dict[str, int]:
    """Claim up to `limit` due rows (SALUS_OUTBOX_BATCH_SIZE by default) in one statement and
    deliver them, emails over one mail-server connection. Returns how many rows ended in each
    status ("claimed" counts rows handed back unsent because the batch ran out of time).

    A batch that runs past half the claim window hands its remaining rows back to "pending"
    before another worker could take them over, so that a slow batch never sends a row twice.
    """
    if not actor_may_deliver_outbox(actor):
        raise PermissionDenied
    limit = settings.SALUS_OUTBOX_BATCH_SIZE if limit is None else limit
    ids = outbox_claim_batch(limit=limit)
    outcome: dict[str, int] = {}
    if not ids:
        return outcome
    claimed_at = timezone.now()
    hand_back_after = claimed_at + timedelta(seconds=settings.SALUS_OUTBOX_CLAIM_SECONDS / 2)
    # Oldest due first, as they were chosen.
    items = sorted(OutboxItem.objects.select_related("recipient_user").filter(pk__in=ids), key=lambda i: (i.available_at, i.pk))
    email = _EmailConnection()
    try:
        for n, item in enumerate(items):
            if timezone.now() > hand_back_after:
                rest = [i.pk for i in items[n:]]
                OutboxItem.objects.filter(pk__in=rest, status=OutboxStatus.CLAIMED).update(
                    status=OutboxStatus.PENDING, attempts=F("attempts") - 1
                )
                outcome[OutboxStatus.CLAIMED] = len(rest)
                break
            status = _deliver_claimed(item, email=email)
            outcome[status] = outcome.get(status, 0) + 1
    finally:
        email.close()
    return outcome


def outbox_history_settle(*, actor, created_before: datetime) -> dict[str, int]:
    """Settle the rows a replay of past activity wrote (the demo seed, a load of past records), as
    their history would have left them: in-app notifications and domain events are delivered here,
    in this process, as a worker would; emails and SMS about that past are recorded as sent when
    they were written, and are not sent now. Rows due later (a message planned for tomorrow) stay.
    Returns how many rows were delivered and how many recorded as sent."""
    if not actor_may_deliver_outbox(actor):
        raise PermissionDenied
    past = OutboxItem.objects.filter(status=OutboxStatus.PENDING, created_at__lt=created_before, available_at__lte=created_before)
    recorded = past.filter(kind=OutboxKind.MESSAGE, channel__in=[OutboxChannel.EMAIL, OutboxChannel.SMS]).update(
        status=OutboxStatus.DONE, done_at=F("created_at"), claimed_at=F("created_at"), attempts=1
    )
    delivered = 0
    while ids := list(past.order_by("available_at", "id").values_list("id", flat=True)[: settings.SALUS_OUTBOX_BATCH_SIZE]):
        claimed = outbox_claim_batch(limit=len(ids), item_ids=ids)
        items = OutboxItem.objects.select_related("recipient_user").in_bulk(claimed)
        delivered += sum(1 for pk in claimed if _deliver_claimed(items[pk]) == OutboxStatus.DONE)
        if len(claimed) < len(ids):  # rows another worker holds: theirs to finish
            past = past.exclude(pk__in=set(ids) - set(claimed))
    return {"delivered": delivered, "recorded_as_sent": recorded}


def outbox_cancel_for_patient(*, patient_id: int) -> int:
    """Cancel every message still waiting for a patient (erasure, deceased, opt-out of all)."""
    return OutboxItem.objects.filter(patient_id=patient_id, kind=OutboxKind.MESSAGE, status=OutboxStatus.PENDING).update(
        status=OutboxStatus.CANCELLED, done_at=timezone.now()
    )


def notification_mark_read(*, actor: User, notification: Notification) -> None:
    if not user_may_read_notification(actor, notification):
        raise PermissionDenied
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
