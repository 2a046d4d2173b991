"""Privacy rights (GDPR Art. 15, 17, 20) and retention: the requests patients make and the rules
that say how long each kind of data is kept."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class PrivacyRequestKind(models.TextChoices):
    EXPORT = "export", _("Copy of my data")
    ERASURE = "erasure", _("Erasure")


class PrivacyRequestStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    PROCESSING = "processing", _("Being processed")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


PRIVACY_OPEN_STATUSES = (PrivacyRequestStatus.REQUESTED, PrivacyRequestStatus.APPROVED, PrivacyRequestStatus.PROCESSING)


class PrivacyRequestChannel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    ADMIN = "admin", _("Staff, on the patient's behalf")
    API = "api", _("REST API")


class PrivacyRequest(models.Model):
    """A patient's request for a copy of their data (Art. 15/20) or for erasure (Art. 17).

    Exports are built by a task as soon as they are asked for; erasures wait for an
    administrator's decision. Export files are private and reachable only through the download
    view, by an unguessable token in the URL path, until `expires_at`.
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="privacy_requests")
    kind = models.CharField(_("kind"), max_length=16, choices=PrivacyRequestKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=PrivacyRequestStatus.choices, default=PrivacyRequestStatus.REQUESTED
    )
    channel = models.CharField(_("asked through"), max_length=16, choices=PrivacyRequestChannel.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("asked by")
    )
    requested_at = models.DateTimeField(_("asked at"), default=timezone.now)
    reason = models.TextField(_("reason"), max_length=2000, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("decided by")
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), max_length=2000, blank=True)
    started_at = models.DateTimeField(_("processing started at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    json_path = models.CharField(_("JSON file (private)"), max_length=300, blank=True)
    pdf_path = models.CharField(_("PDF file (private)"), max_length=300, blank=True)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("download link expires at"), null=True, blank=True)
    download_token = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=Q(status__in=["requested", "approved", "processing"]),
                name="privacy_one_open_request_per_kind",
                violation_error_message=_("There is already an open request of this kind for this patient."),
            ),
            models.CheckConstraint(condition=Q(kind__in=["export", "erasure"]), name="privacy_request_kind_known"),
            models.CheckConstraint(
                condition=Q(status__in=["requested", "approved", "rejected", "processing", "done", "failed"]),
                name="privacy_request_status_known",
            ),
            models.CheckConstraint(condition=~Q(status="rejected") | ~Q(decision_note=""), name="privacy_rejection_has_a_note"),
        ]
        indexes = [
            models.Index(fields=["patient", "-requested_at"], name="privacy_patient_idx"),
            models.Index(fields=["kind", "status"], name="privacy_kind_status_idx"),
        ]
        verbose_name = _("privacy request")
        verbose_name_plural = _("privacy requests")

    def __str__(self) -> str:
        # Ids only: the label shows up in admin logs and messages, which erasure does not rewrite.
        return f"#{self.pk} {self.get_kind_display()} — patient {self.patient_id} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in PRIVACY_OPEN_STATUSES

    def link_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class RetentionCategory(models.TextChoices):
    """What retention may purge. The consent ledger is not among them: it is the evidence that
    consent was given and withdrawn (GDPR Art. 7(1)), holds ids and hashes only, and its hash
    chain would have to be cut to delete from it."""

    ACCESS_LOG = "access_log", _("Access log entries")
    OUTBOX_DONE_MESSAGES = "outbox_done_messages", _("Outgoing messages delivered, cancelled or failed")
    OUTBOX_DONE_EVENTS = "outbox_done_events", _("Domain events already handled")
    NOTIFICATIONS_READ = "notifications_read", _("Staff notifications already read")
    PRIVACY_EXPORTS = "privacy_exports", _("Data export files, after their link expired")
    WITHDRAWN_CONSENT_RECEIPTS = "withdrawn_consent_receipts", _("Receipts and scans of withdrawn consents")


class RetentionRule(models.Model):
    """How long one category is kept: rows older than `keep_days` are purged by `apply_retention`."""

    category = models.CharField(_("category"), max_length=32, choices=RetentionCategory.choices, unique=True)
    keep_days = models.PositiveIntegerField(_("keep for (days)"), validators=[MinValueValidator(1), MaxValueValidator(36500)])
    active = models.BooleanField(_("applied"), default=True)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("changed by")
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["category"]
        constraints = [models.CheckConstraint(condition=Q(keep_days__gte=1), name="retention_keep_at_least_a_day")]
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention rules")

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.keep_days}"


class MentionStatus(models.TextChoices):
    PENDING = "pending", _("To review")
    REDACTED = "redacted", _("Redacted")
    KEPT = "kept", _("Kept")


class ErasureMention(models.Model):
    """Another patient's record quoting an erased patient (their name, email or phone in a clinical
    note), found by the erasure. It is not rewritten silently: an administrator reviews it and
    either has the mention redacted, in the row and its past versions, through the owning app, or
    keeps it with a reason. Who decided, when and why is recorded here and in the item's history.

    `texts` are the words found, as written there; they are cleared (history included) once decided."""

    request = models.ForeignKey(PrivacyRequest, on_delete=models.PROTECT, related_name="mentions", verbose_name=_("erasure"))
    model = models.CharField(_("kind of record"), max_length=100)
    object_id = models.PositiveBigIntegerField(_("record id"))
    owner_patient = models.ForeignKey(
        "patients.Patient",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("in the record of"),
    )
    texts = models.JSONField(_("words found"), default=list, blank=True)
    in_current_text = models.BooleanField(_("in the current text"), default=True)
    found_at = models.DateTimeField(_("found at"), default=timezone.now)
    status = models.CharField(_("status"), max_length=16, choices=MentionStatus.choices, default=MentionStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("decided by")
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), max_length=2000, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["status", "-found_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "model", "object_id"], name="privacy_mention_once_per_record"),
            models.CheckConstraint(condition=Q(status__in=["pending", "redacted", "kept"]), name="privacy_mention_status_known"),
            models.CheckConstraint(
                condition=~Q(status="kept") | ~Q(decision_reason=""), name="privacy_mention_kept_has_a_reason"
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(decided_at__isnull=False), name="privacy_mention_decision_is_dated"
            ),
        ]
        indexes = [models.Index(fields=["status", "-found_at"], name="privacy_mention_status_idx")]
        verbose_name = _("mention of an erased patient")
        verbose_name_plural = _("mentions of erased patients")

    def __str__(self) -> str:
        # Ids only, like the request's label: it shows up in admin logs, which nothing rewrites.
        return f"#{self.pk} {self.model} {self.object_id} ({self.get_status_display()})"
