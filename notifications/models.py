from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxKind(models.TextChoices):
    EVENT = "event", _("Domain event")
    MESSAGE = "message", _("Outgoing message")


class OutboxChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    IN_APP = "in_app", _("In-app notification")


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    CLAIMED = "claimed", _("Being delivered")
    DONE = "done", _("Delivered")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class OutboxItem(models.Model):
    """A domain event or an outgoing message, written in the transaction of the change that causes it.

    The dispatcher hands pending rows to Celery by id; a worker claims a row with a
    compare-and-set UPDATE, so each row is delivered by one worker only. `dedupe_key` makes the
    same logical send (one reminder for one appointment, one journey step for one enrollment)
    impossible to write twice.
    """

    kind = models.CharField(max_length=16, choices=OutboxKind.choices)
    topic = models.CharField(max_length=100, help_text=_("Event name, or the message's purpose."))
    channel = models.CharField(max_length=16, choices=OutboxChannel.choices, blank=True)
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The patient a message is about, as a plain id: this base layer knows nothing of patients.
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    to_address = models.CharField(max_length=254, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    status = models.CharField(max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    available_at = models.DateTimeField(help_text=_("Not delivered before this time."))
    claimed_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["available_at"],
                name="outbox_pending_idx",
                condition=models.Q(status__in=["pending", "claimed"]),
            ),
            models.Index(fields=["topic", "created_at"], name="outbox_topic_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="message") | ~models.Q(channel=""), name="outbox_message_has_channel"
            ),
        ]
        verbose_name = _("outbox item")
        verbose_name_plural = _("outbox items")

    def __str__(self) -> str:
        return f"{self.kind}:{self.topic}#{self.pk} ({self.status})"


class Notification(models.Model):
    """An in-app notification for a staff member, shown in the admin."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    source = models.OneToOneField(OutboxItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="notif_user_unread_idx")]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return self.title


class WorkerHeartbeat(models.Model):
    """Last time a Celery worker ran the heartbeat task: read by the health endpoint."""

    name = models.CharField(max_length=100, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
