"""Messages' and notifications' share of a data export and of an erasure (see `core.privacy`).

Export: every message sent to the patient (by any channel) and the portal account's notifications.

Erasure, after every other share (which may have queued or cancelled messages): pending messages
are cancelled; every message to the patient loses its address, its attachments (a receipt prints
the name) and identifying words; messages and notifications elsewhere that quote the patient (a
staff email naming the MRN) lose those words.
"""

from django.db import models
from django.db.models import Q, QuerySet, Subquery
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy

from core.privacy import ErasureContext, ExportSection, PrivacyShare, rows_mentioning, scrub, scrub_rows, share_register

from .models import Notification, OutboxChannel, OutboxItem, OutboxKind
from .services import outbox_cancel_for_patient


def messages_to(patient) -> QuerySet[OutboxItem]:
    q = Q(patient_id=patient.pk)
    if patient.user_id:
        q |= Q(recipient_user_id=patient.user_id)
    return OutboxItem.objects.filter(q, kind=OutboxKind.MESSAGE)


def _section_messages(patient) -> list[dict]:
    return [
        {
            "created_at": m.created_at,
            "channel": m.channel,
            "topic": m.topic,
            "to_address": m.to_address,
            "subject": m.payload.get("subject", ""),
            "text": m.payload.get("text", ""),
            "status": m.status,
            "sent_at": m.done_at,
        }
        for m in messages_to(patient).order_by("created_at", "id")
    ]


def _section_notifications(patient) -> list[dict]:
    if not patient.user_id:
        return []
    return list(
        Notification.objects.filter(user_id=patient.user_id)
        .order_by("created_at", "id")
        .values("created_at", "title", "body", "read_at")
    )


SECTIONS = (
    ExportSection(
        "messages",
        gettext_lazy("Messages sent to you"),
        _section_messages,
        (
            ("created_at", gettext_lazy("When")),
            ("channel", gettext_lazy("Channel"), dict(OutboxChannel.choices)),
            ("to_address", gettext_lazy("To")),
            ("subject", gettext_lazy("Subject")),
        ),
        order=60,
    ),
    ExportSection(
        "notifications",
        gettext_lazy("Notifications"),
        _section_notifications,
        (("created_at", gettext_lazy("When")), ("title", gettext_lazy("Title"))),
        order=61,
    ),
)


def _erase(ctx: ErasureContext) -> None:
    patient, identity = ctx.patient, ctx.identity
    outbox_cancel_for_patient(patient_id=patient.pk)
    full, distinctive = identity.pattern(), identity.pattern(distinctive_only=True)
    own = messages_to(patient)
    for item in own.only("pk", "payload"):
        payload = {k: v for k, v in (item.payload or {}).items() if k != "attachments"}
        OutboxItem.objects.filter(pk=item.pk).update(to_address="", payload=scrub(payload, full))
    scrub_rows(OutboxItem.objects.filter(patient_id=patient.pk, kind=OutboxKind.EVENT), full)
    terms = identity.search_terms()
    quoting = rows_mentioning(
        OutboxItem.objects.annotate(payload_text=Cast("payload", models.TextField())), ("payload_text", "to_address"), terms
    )
    addresses = {w.lower() for w in identity.distinctive if "@" in w}
    for item in quoting.only("pk", "payload", "to_address"):
        to_address = "" if item.to_address.lower() in addresses else item.to_address
        OutboxItem.objects.filter(pk=item.pk).update(to_address=to_address, payload=scrub(item.payload, distinctive))
    if patient.user_id:
        scrub_rows(Notification.objects.filter(user_id=patient.user_id), full)
    scrub_rows(Notification.objects.filter(source__in=Subquery(own.values("pk"))), full)
    scrub_rows(rows_mentioning(Notification.objects.all(), ("title", "body", "link"), terms), distinctive)


share_register(PrivacyShare(app_label="notifications", export_sections=SECTIONS, erase=_erase, erase_order=90))
