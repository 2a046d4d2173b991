"""Retention: purge what is past its term, one category per rule (`RetentionRule`).

`retention_plan` says what each active rule would purge now; `retention_apply` purges it (or,
with `dry_run`, only counts). Deletions run in batches, each in its own transaction, so a long
purge never holds a lock for long and an interrupted one simply continues at the next run.

The consent ledger is not a category: it is the evidence that consent was given and withdrawn
(GDPR Art. 7(1)), it holds ids and hashes only, and its hash chain is kept whole. The access log
is cut from its start with `audit.chain.chain_purge_before`, which moves the chain's
verification anchor, so `verify_audit` still passes after a purge.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.chain import chain_purge_before
from audit.models import ChainHead
from consent.models import Consent, ConsentStatus
from core.files import private_file_delete
from notifications.models import Notification, OutboxItem, OutboxKind, OutboxStatus
from notifications.services import outbox_event_emit
from patients.models import AccessLog

from ..models import PrivacyRequest, PrivacyRequestKind, RetentionCategory, RetentionRule
from ..permissions import actor_may_apply_retention, actor_may_decide_privacy
from .export import privacy_export_files_purge

BATCH = 1000
RETENTION_APPLIED = "retention.applied"
_FINISHED = (OutboxStatus.DONE, OutboxStatus.CANCELLED, OutboxStatus.FAILED)

Progress = Callable[[int], None]


@dataclass
class RetentionPlanRow:
    """What one rule purges at one moment: rows (or files) older than `cutoff`."""

    category: str
    label: str
    keep_days: int
    cutoff: dt.datetime
    count: int
    purge: Callable[[Progress], int] = field(repr=False)


@transaction.atomic
def retention_rule_update(*, actor, rule: RetentionRule, keep_days, active: bool) -> RetentionRule:
    """Change how long a category is kept (administrators only). At least one day."""
    if not actor_may_decide_privacy(actor):
        raise PermissionDenied
    try:
        keep_days = int(keep_days)
    except (TypeError, ValueError):
        raise ValidationError({"keep_days": _("Enter a whole number of days.")}) from None
    if keep_days < 1:
        raise ValidationError({"keep_days": _("Keep everything for at least one day.")})
    rule = RetentionRule.objects.select_for_update().get(pk=rule.pk)
    rule.keep_days = keep_days
    rule.active = bool(active)
    rule.updated_by = actor
    rule._history_user = actor  # type: ignore[attr-defined]  # read by simple-history on save
    rule.full_clean()
    rule.save()
    return rule


def _batched_delete(queryset: QuerySet) -> Callable[[Progress], int]:
    """Delete the rows of `queryset` that exist now (ids up to the current highest), in batches."""
    top = queryset.aggregate(top=Max("pk"))["top"]
    model = queryset.model

    def purge(progress: Progress) -> int:
        if top is None:
            return 0
        total = 0
        while True:
            with transaction.atomic():
                ids = list(queryset.filter(pk__lte=top).order_by("pk").values_list("pk", flat=True)[:BATCH])
                if not ids:
                    return total
                _deleted, per_model = model.objects.filter(pk__in=ids).delete()
            done = per_model.get(model._meta.label, 0)
            total += done
            progress(done)

    return purge


def _access_log(cutoff: dt.datetime) -> tuple[int, Callable[[Progress], int]]:
    """The oldest entries, up to the first one written after the cutoff: a chain is only ever
    cut from its start, so its remaining rows still verify."""
    head = ChainHead.objects.filter(name=AccessLog.CHAIN_NAME).first()
    purged = head.purged_through_seq if head else 0
    first_recent = (
        AccessLog.objects.filter(created_at__gte=cutoff).order_by("chain_seq").values_list("chain_seq", flat=True).first()
    )
    old = AccessLog.objects.filter(chain_seq__gt=purged)
    if first_recent is not None:
        old = old.filter(chain_seq__lt=first_recent)
    through = old.aggregate(top=Max("chain_seq"))["top"]
    count = old.count()

    def purge(progress: Progress) -> int:
        total, seq = 0, purged
        while through is not None and seq < through:
            seq = min(seq + BATCH, through)
            done = chain_purge_before(AccessLog, through_seq=seq)
            total += done
            progress(done)
        return total

    return count, purge


def _exports(cutoff: dt.datetime) -> tuple[int, Callable[[Progress], int]]:
    """Files of exports whose download link expired before the cutoff (the request rows stay)."""
    qs = PrivacyRequest.objects.filter(kind=PrivacyRequestKind.EXPORT, expires_at__lt=cutoff).filter(
        ~Q(json_path="") | ~Q(pdf_path="")
    )
    ids = list(qs.values_list("pk", flat=True))

    def purge(progress: Progress) -> int:
        total = 0
        for start in range(0, len(ids), BATCH):
            done = privacy_export_files_purge(request_ids=ids[start : start + BATCH])
            total += done
            progress(done)
        return total

    return len(ids), purge


def _withdrawn_receipts(cutoff: dt.datetime) -> tuple[int, Callable[[Progress], int]]:
    """Receipt PDFs and scanned forms of consents withdrawn before the cutoff. Their SHA-256
    stays on the consent and in the ledger: what was signed can still be proven from a copy."""
    qs = Consent.objects.filter(status=ConsentStatus.WITHDRAWN, withdrawn_at__lt=cutoff).filter(
        ~Q(receipt_path="") | ~Q(scanned_document="")
    )
    ids = list(qs.values_list("pk", flat=True))

    def purge(progress: Progress) -> int:
        total = 0
        for start in range(0, len(ids), BATCH):
            with transaction.atomic():
                done = 0
                for consent in Consent.objects.select_for_update().filter(pk__in=ids[start : start + BATCH]):
                    files = [p for p in (consent.receipt_path, consent.scanned_document) if p]
                    if not files:
                        continue
                    consent.receipt_path = consent.scanned_document = ""
                    consent._history_user = None  # type: ignore[attr-defined]  # read by simple-history on save
                    consent._change_reason = "Retention"  # type: ignore[attr-defined]
                    consent.save(update_fields=["receipt_path", "scanned_document"])
                    for path in files:
                        private_file_delete(path)
                    done += 1
            total += done
            progress(done)
        return total

    return len(ids), purge


def _queryset_plan(queryset: QuerySet) -> tuple[int, Callable[[Progress], int]]:
    return queryset.count(), _batched_delete(queryset)


_PLANNERS: dict[str, Callable[[dt.datetime], tuple[int, Callable[[Progress], int]]]] = {
    RetentionCategory.ACCESS_LOG: _access_log,
    RetentionCategory.OUTBOX_DONE_MESSAGES: lambda cutoff: _queryset_plan(
        OutboxItem.objects.filter(kind=OutboxKind.MESSAGE, status__in=_FINISHED, created_at__lt=cutoff)
    ),
    RetentionCategory.OUTBOX_DONE_EVENTS: lambda cutoff: _queryset_plan(
        OutboxItem.objects.filter(kind=OutboxKind.EVENT, status__in=_FINISHED, created_at__lt=cutoff)
    ),
    RetentionCategory.NOTIFICATIONS_READ: lambda cutoff: _queryset_plan(Notification.objects.filter(read_at__lt=cutoff)),
    RetentionCategory.PRIVACY_EXPORTS: _exports,
    RetentionCategory.WITHDRAWN_CONSENT_RECEIPTS: _withdrawn_receipts,
}


def retention_plan(*, now: dt.datetime | None = None) -> list[RetentionPlanRow]:
    """What every active rule would purge at `now` (default: this moment)."""
    now = now or timezone.now()
    rows = []
    for rule in RetentionRule.objects.filter(active=True).order_by("category"):
        planner = _PLANNERS.get(rule.category)
        if planner is None:
            continue
        cutoff = now - dt.timedelta(days=rule.keep_days)
        count, purge = planner(cutoff)
        rows.append(RetentionPlanRow(rule.category, str(rule.get_category_display()), rule.keep_days, cutoff, count, purge))
    return rows


def retention_apply(*, actor, dry_run: bool, now: dt.datetime | None = None, progress: Progress | None = None) -> dict[str, int]:
    """Purge what every active rule says is past its term; per category, how many rows (or
    files) were purged — or, with `dry_run`, would be. Nothing changes in a dry run."""
    if not actor_may_apply_retention(actor):
        raise PermissionDenied
    plan = retention_plan(now=now)
    if dry_run:
        return {row.category: row.count for row in plan}
    progress = progress or (lambda n: None)
    counts = {row.category: row.purge(progress) for row in plan}
    with transaction.atomic():
        outbox_event_emit(
            topic=RETENTION_APPLIED,
            payload={"counts": counts, "actor_id": getattr(actor, "pk", None)},
        )
    return counts
