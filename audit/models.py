from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class ChainHead(models.Model):
    """The tip of one hash chain. Appending locks this row, so entries are numbered without gaps.

    `purged_through_*` records where retention cut the chain's beginning: verification starts
    there instead of at the genesis hash, and a purge is never mistaken for tampering.
    """

    name = models.CharField(max_length=64, unique=True)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    purged_through_seq = models.BigIntegerField(default=0)
    purged_through_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = _("hash chain")

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seq}"


class ChainedRecord(models.Model):
    """An append-only row in a hash chain.

    entry_hash = SHA-256(prev_hash | seq | canonical JSON of CHAIN_FIELDS). Changing any chained
    field, deleting a row, or reordering rows breaks the chain at that row.
    """

    CHAIN_NAME: str = ""
    CHAIN_FIELDS: tuple[str, ...] = ()

    chain_seq = models.BigIntegerField(unique=True, null=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False, blank=True)
    entry_hash = models.CharField(max_length=64, editable=False, blank=True)

    class Meta:
        abstract = True


class ChainVerification(models.Model):
    """The result of one verification of every chain (hourly task, `verify_audit`, or on demand).

    Verifying re-hashes every row, which takes about a minute per million rows: pages show the
    latest stored result instead of recomputing on every view.
    """

    checked_at = models.DateTimeField()
    ok = models.BooleanField()
    problems = models.JSONField(default=list, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-checked_at", "-id"]
        get_latest_by = "checked_at"
        verbose_name = _("audit verification")

    def __str__(self) -> str:
        return f"{self.checked_at:%Y-%m-%d %H:%M} {'intact' if self.ok else 'BROKEN'}"
