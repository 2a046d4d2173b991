"""Consents' share of a data export and of an erasure (see `core.privacy`).

Export: every consent with how and when it was given or withdrawn, and the patient's rows of the
consent ledger.

Erasure: active consents are withdrawn (the ledger records it); typed signer names are replaced by
the pseudonym; receipts and scans, which print the name, are deleted while their hashes stay in
the ledger; the ledger keeps its rows unchanged (ids, hashes and staff labels; its hash chain must
still verify).
"""

from django.utils.translation import gettext_lazy

from core.privacy import (
    ERASED_GIVEN_NAME,
    ERASED_TEXT,
    ErasureContext,
    ExportSection,
    Identity,
    PrivacyShare,
    patient_rows_scrub,
    share_register,
)
from patients.access import actor_in_words, actor_label_for_patients
from patients.selectors import people_named

from .models import Consent, ConsentLedgerEntry, ConsentMethod, ConsentStatus, LedgerEvent, Purpose, RepresentativeCapacity
from .selectors import consents_with_effective_status
from .services import consent_withdraw


def _section_consents(patient) -> list[dict]:
    return [
        {
            "id": c.pk,
            "purpose": c.purpose,
            "status": c.effective_status,  # the rule's answer now, not the stored column
            "version": c.version.version,
            "language": c.language,
            "method": c.method,
            "signer_name": c.signer_name,
            "representative_name": c.representative_name,
            "representative_capacity": c.representative_capacity,
            "signed_at": c.signed_at,
            "ip_address": c.ip_address,
            "text_sha256": c.text_sha256,
            "receipt_sha256": c.receipt_sha256,
            "expires_at": c.expires_at,
            "withdrawn_at": c.withdrawn_at,
            "withdrawal_reason": c.withdrawal_reason,
        }
        for c in consents_with_effective_status(Consent.objects.filter(patient=patient))
        .select_related("version")
        .order_by("signed_at", "id")
    ]


def _section_ledger(patient) -> list[dict]:
    # Who acted in words, as in the access log's section: a person and a role, never an account
    # number or a staff email; background work by its name.
    fields = (
        "chain_seq",
        "at",
        "consent_id",
        "purpose",
        "event",
        "actor_id",
        "actor_label",
        "text_sha256",
        "receipt_sha256",
        "detail",
    )
    rows = list(ConsentLedgerEntry.objects.filter(patient=patient).order_by("chain_seq").values(*fields))
    names = people_named((row["actor_id"] for row in rows), with_email=False)
    return [
        {key: value for key, value in row.items() if key not in ("actor_id", "actor_label")}
        | {
            "by": actor_in_words(
                actor_id=row["actor_id"],
                actor_label=actor_label_for_patients(row["actor_label"]),
                names=names,
            )
        }
        for row in rows
    ]


SECTIONS = (
    ExportSection(
        "consents",
        gettext_lazy("Consents"),
        _section_consents,
        (
            ("purpose", gettext_lazy("Purpose"), dict(Purpose.choices)),
            ("status", gettext_lazy("Status"), dict(ConsentStatus.choices)),
            ("method", gettext_lazy("How it was given"), dict(ConsentMethod.choices)),
            ("signer_name", gettext_lazy("Signed by")),
            (
                "representative_capacity",
                gettext_lazy("Signed as"),
                {"": gettext_lazy("The patient"), **dict(RepresentativeCapacity.choices)},
            ),
            ("signed_at", gettext_lazy("Signed at")),
            ("withdrawn_at", gettext_lazy("Withdrawn at")),
        ),
        order=40,
    ),
    ExportSection(
        "consent_ledger",
        gettext_lazy("Consent ledger"),
        _section_ledger,
        (
            ("at", gettext_lazy("When")),
            ("purpose", gettext_lazy("Purpose"), dict(Purpose.choices)),
            ("event", gettext_lazy("Event"), dict(LedgerEvent.choices)),
            ("by", gettext_lazy("By")),
        ),
        order=41,
    ),
)


def _identity(patient) -> Identity:
    """The names typed as signatures, in every version (a representative's included: naming the
    patient's parent or guardian points to the patient)."""
    return Identity().add(
        distinctive=[
            *Consent.history.filter(patient_id=patient.pk).values_list("signer_name", flat=True),
            *Consent.objects.filter(patient=patient).values_list("signer_name", flat=True),
        ]
    )


def _erase(ctx: ErasureContext) -> None:
    patient = ctx.patient
    in_force = consents_with_effective_status(Consent.objects.filter(patient=patient)).filter(
        effective_status=ConsentStatus.ACTIVE
    )
    for consent in in_force:
        consent_withdraw(actor=ctx.actor, consent=consent, reason=ctx.reason)
    for qs in (Consent.objects.filter(patient=patient), Consent.history.filter(patient_id=patient.pk)):
        for receipt, scan in qs.values_list("receipt_path", "scanned_document"):
            ctx.files += [p for p in (receipt, scan) if p]
        qs.exclude(representative_name="").update(representative_name=ERASED_TEXT)
        qs.update(
            signer_name=f"{ERASED_GIVEN_NAME} {ctx.pseudonym}",
            receipt_path="",
            scanned_document="",
            ip_address=None,
            user_agent="",
        )
    patient_rows_scrub("consent", ctx)


share_register(PrivacyShare(app_label="consent", export_sections=SECTIONS, identity=_identity, erase=_erase, erase_order=10))
