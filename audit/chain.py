"""Append to and verify hash chains. Every write to a chained table goes through `chain_append`."""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from .models import ChainedRecord, ChainHead, ChainVerification


def _canonical(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date | Decimal):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if value is None or isinstance(value, str | int | bool | float | list | dict):
        return value
    return str(value)


def record_payload(record: ChainedRecord) -> str:
    """The chained fields of a row as canonical JSON (foreign keys by id)."""
    data = {}
    for name in record.CHAIN_FIELDS:
        field = record._meta.get_field(name)
        data[name] = _canonical(getattr(record, field.attname))
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(*, prev_hash: str, seq: int, payload: str) -> str:
    return hashlib.sha256(f"{prev_hash}|{seq}|{payload}".encode()).hexdigest()


@transaction.atomic
def chain_append(record: ChainedRecord) -> ChainedRecord:
    """Number, hash and save a new row at the tip of its chain (in the caller's transaction)."""
    if record.pk is not None:
        raise ValueError("Chained records are append-only; this one is already saved.")
    head, _ = ChainHead.objects.select_for_update().get_or_create(name=record.CHAIN_NAME)
    # Timestamps are fixed before hashing so that the stored value is the hashed one.
    for field in record._meta.concrete_fields:
        if getattr(field, "auto_now_add", False):
            raise TypeError(f"{type(record).__name__}.{field.name}: use default=timezone.now on chained records")
    record.chain_seq = head.last_seq + 1
    record.prev_hash = head.last_hash
    record.entry_hash = entry_hash(prev_hash=record.prev_hash, seq=record.chain_seq, payload=record_payload(record))
    record.save(force_insert=True)
    ChainHead.objects.filter(pk=head.pk).update(last_seq=record.chain_seq, last_hash=record.entry_hash)
    return record


@transaction.atomic
def chain_append_many(records: list[ChainedRecord]) -> list[ChainedRecord]:
    """`chain_append` for several rows of one chain under a single lock of its head: the same
    numbering and hashes as appending them one by one, in three queries whatever their number."""
    if not records:
        return []
    model = type(records[0])
    if any(type(r) is not model or r.pk is not None for r in records):
        raise ValueError("Append new rows of one chained table at a time.")
    head, _ = ChainHead.objects.select_for_update().get_or_create(name=model.CHAIN_NAME)
    seq, prev = head.last_seq, head.last_hash
    for record in records:
        seq += 1
        record.chain_seq, record.prev_hash = seq, prev
        record.entry_hash = prev = entry_hash(prev_hash=prev, seq=seq, payload=record_payload(record))
    model.objects.bulk_create(records)
    ChainHead.objects.filter(pk=head.pk).update(last_seq=seq, last_hash=prev)
    return records


@dataclass(frozen=True)
class ChainProblem:
    chain: str
    seq: int | None
    pk: int | None
    reason: str

    def __str__(self) -> str:
        where = f"row id={self.pk} (seq {self.seq})" if self.pk is not None else f"seq {self.seq}"
        return f"{self.chain}: {where}: {self.reason}"


def chain_verify(model: type[ChainedRecord], *, batch_size: int = 5000) -> list[ChainProblem]:
    """Recompute a chain from its start (or its retention cut) and report the first breaks."""
    name = model.CHAIN_NAME
    head = ChainHead.objects.filter(name=name).first()
    if head is None:
        return [] if not model.objects.exists() else [ChainProblem(name, None, None, "rows exist but the chain has no head")]
    problems: list[ChainProblem] = []
    expected_seq = head.purged_through_seq + 1
    prev = head.purged_through_hash
    qs = model.objects.filter(chain_seq__gt=head.purged_through_seq).order_by("chain_seq")
    last_seq = head.purged_through_seq
    for record in qs.iterator(chunk_size=batch_size):
        if record.chain_seq != expected_seq:
            problems.append(
                ChainProblem(name, expected_seq, None, f"missing (next row found is seq {record.chain_seq}): a row was deleted")
            )
            prev = record.prev_hash  # resynchronise to report further breaks separately
        if record.prev_hash != prev:
            problems.append(ChainProblem(name, record.chain_seq, record.pk, "does not follow the previous row (chain re-linked)"))
        recomputed = entry_hash(prev_hash=record.prev_hash, seq=record.chain_seq, payload=record_payload(record))
        if recomputed != record.entry_hash:
            problems.append(ChainProblem(name, record.chain_seq, record.pk, "content changed after it was written"))
        prev = record.entry_hash
        expected_seq = record.chain_seq + 1
        last_seq = record.chain_seq
        if len(problems) >= 20:
            return problems
    if last_seq != head.last_seq:
        problems.append(
            ChainProblem(
                name,
                last_seq + 1,
                None,
                f"the chain ends at seq {last_seq} but its head says {head.last_seq}: rows were deleted at the end",
            )
        )
    elif head.last_seq and prev != head.last_hash:
        problems.append(ChainProblem(name, head.last_seq, None, "the last row does not match the chain head"))
    return problems


@transaction.atomic
def chain_purge_before(model: type[ChainedRecord], *, through_seq: int) -> int:
    """Retention: delete the oldest rows through `through_seq`, moving the verification anchor."""
    head = ChainHead.objects.select_for_update().get(name=model.CHAIN_NAME)
    if through_seq <= head.purged_through_seq:
        return 0
    last = model.objects.filter(chain_seq__lte=through_seq).order_by("-chain_seq").first()
    if last is None:
        return 0
    deleted, _ = model.objects.filter(chain_seq__lte=last.chain_seq).delete()
    ChainHead.objects.filter(pk=head.pk).update(purged_through_seq=last.chain_seq, purged_through_hash=last.entry_hash)
    return deleted


def verify_all() -> list[ChainProblem]:
    from django.apps import apps

    problems: list[ChainProblem] = []
    for model in apps.get_models():
        if issubclass(model, ChainedRecord) and model.CHAIN_NAME:
            problems += chain_verify(model)
    return problems


def verification_run() -> ChainVerification:
    """Verify every chain now and keep the result (with its problems) for the pages that show it."""
    import time

    from django.utils import timezone

    started = time.monotonic()
    problems = verify_all()
    return ChainVerification.objects.create(
        checked_at=timezone.now(),
        ok=not problems,
        problems=[{"chain": p.chain, "seq": p.seq, "pk": p.pk, "reason": p.reason} for p in problems],
        duration_ms=int((time.monotonic() - started) * 1000),
    )


def verification_latest() -> ChainVerification | None:
    return ChainVerification.objects.order_by("-checked_at", "-id").first()


def verification_problems(verification) -> list[ChainProblem]:
    return [ChainProblem(**p) for p in verification.problems]
