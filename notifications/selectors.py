from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import Notification, OutboxItem, OutboxStatus

if TYPE_CHECKING:
    from accounts.models import User


def _outbox_due() -> QuerySet[OutboxItem]:
    """Rows a worker should deliver now: pending and due, or claimed by a worker that died."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SALUS_OUTBOX_CLAIM_SECONDS)
    return OutboxItem.objects.filter(
        Q(status=OutboxStatus.PENDING, available_at__lte=now) | Q(status=OutboxStatus.CLAIMED, claimed_at__lt=stale)
    )


def outbox_due_ids(*, limit: int = 500) -> list[int]:
    """The ids of the rows due now, oldest due first."""
    return list(_outbox_due().order_by("available_at", "id").values_list("id", flat=True)[:limit])


def outbox_due_count(*, limit: int) -> int:
    """How many rows are due now, counted up to `limit` (the count stops there, at any backlog)."""
    return _outbox_due()[:limit].count()


def outbox_batches_running() -> int:
    """How many batches workers are delivering now: the rows of one batch share the instant of
    its claim (one UPDATE), so live claims counted by claimed_at are batches."""
    stale = timezone.now() - timedelta(seconds=settings.SALUS_OUTBOX_CLAIM_SECONDS)
    return OutboxItem.objects.filter(status=OutboxStatus.CLAIMED, claimed_at__gte=stale).values("claimed_at").distinct().count()


def notifications_for_user(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs
