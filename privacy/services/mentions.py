"""Mentions of an erased patient in other patients' records: recorded by the erasure, decided by
an administrator. Another patient's clinical record is never rewritten silently: "redact" has the
owning app's service replace the words in the row and its past versions; "keep" leaves them, with
a reason. Either decision is recorded on the item (who, when, why) and in its history."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.privacy import Mention, PrivacyShare, shares
from core.records import save_validated
from notifications.services import staff_notify

from ..models import ErasureMention, MentionStatus, PrivacyRequest
from ..permissions import actor_may_decide_privacy

REASON_MAX = 2000

__all__ = ["erasure_mention_decide", "erasure_mentions_find", "erasure_mentions_record"]


def erasure_mentions_find(*, patient) -> list[tuple[PrivacyShare, Mention]]:
    """Every share's mentions of the patient in other patients' rows (read before anything is erased)."""
    return [(share, mention) for share in shares() if share.mentions is not None for mention in share.mentions(patient)]


def erasure_mentions_record(*, actor, request: PrivacyRequest, found: list[tuple[PrivacyShare, Mention]]) -> list[ErasureMention]:
    """Part of `privacy_erase` (which checks its actor): one item to review per row found; the
    administrators are told how many wait (no name in the message)."""
    if not actor_may_decide_privacy(actor):
        raise PermissionDenied
    items = []
    for _share, mention in found:
        item = ErasureMention(
            request=request,
            model=mention.model,
            object_id=mention.object_id,
            owner_patient_id=mention.owner_patient_id,
            texts=list(mention.texts),
            in_current_text=mention.in_current_text,
        )
        save_validated(item, actor=actor)
        items.append(item)
    if items:
        for admin in get_user_model().objects.filter(is_superuser=True, is_active=True):
            with translation.override(admin.preferred_language):
                staff_notify(
                    user=admin,
                    title=_("Mentions of an erased patient to review"),
                    body=ngettext(
                        "Erasure request #%(id)s found %(n)d mention in another patient's record.",
                        "Erasure request #%(id)s found %(n)d mentions in other patients' records.",
                        len(items),
                    )
                    % {"id": request.pk, "n": len(items)},
                    link=reverse("admin:privacy_erasuremention_changelist"),
                    dedupe_key=f"privacy-erasure-mentions:{request.pk}:{admin.pk}",
                )
    return items


def _share_for(model: str) -> PrivacyShare | None:
    app_label = model.split(".", 1)[0]
    return next((s for s in shares() if s.app_label == app_label and s.mention_redact is not None), None)


@transaction.atomic
def erasure_mention_decide(*, actor, mention: ErasureMention, redact: bool, reason: str = "") -> ErasureMention:
    """An administrator redacts a mention (through the owning app) or keeps it, saying why."""
    if not actor_may_decide_privacy(actor):
        raise PermissionDenied
    mention = ErasureMention.objects.select_for_update().get(pk=mention.pk)
    reason = (reason or "").strip()
    errors = {}
    if mention.status != MentionStatus.PENDING:
        errors["status"] = _("This mention has already been decided.")
    if not redact and not reason:
        errors["decision_reason"] = _("Say why the mention is kept.")
    elif len(reason) > REASON_MAX:
        errors["decision_reason"] = _("Keep the reason under %(n)s characters.") % {"n": REASON_MAX}
    share = _share_for(mention.model)
    if redact and share is None:
        errors["status"] = _("This kind of record cannot be redacted from here.")
    if errors:
        raise ValidationError(errors)
    if redact:
        assert share is not None and share.mention_redact is not None  # else an error above
        share.mention_redact(actor=actor, object_id=mention.object_id, texts=list(mention.texts))
        mention.status = MentionStatus.REDACTED
    else:
        mention.status = MentionStatus.KEPT
    # Decided, the words found (an erased patient's name or number) are no longer needed here:
    # redacted, they are gone from the record; kept, the record itself still holds them.
    mention.texts = []
    mention.decided_by = actor
    mention.decided_at = timezone.now()
    mention.decision_reason = reason
    save_validated(mention, actor=actor)
    ErasureMention.history.filter(id=mention.pk).update(texts=[])
    return mention
