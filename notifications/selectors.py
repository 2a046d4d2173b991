from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import Notification, OutboxItem, OutboxStatus

if TYPE_CHECKING:
    from accounts.models import User


def outbox_due_ids(*, limit: int = 500) -> list[int]:
    """Rows a worker should deliver now: pending and due, or claimed by a worker that died."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SALUS_OUTBOX_CLAIM_SECONDS)
    return list(
        OutboxItem.objects.filter(
            Q(status=OutboxStatus.PENDING, available_at__lte=now) | Q(status=OutboxStatus.CLAIMED, claimed_at__lt=stale)
        )
        .order_by("available_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def notifications_for_user(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs
