from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from audit.models import ChainedRecord


class Purpose(models.TextChoices):
    TREATMENT = "treatment", _("Treatment")
    VIRTUAL_VISIT = "virtual_visit", _("Virtual visits")
    DATA_SHARING = "data_sharing", _("Data sharing")
    RESEARCH = "research", _("Research")
    PORTAL_TERMS = "portal_terms", _("Portal terms of use")
    MARKETING_EMAIL = "marketing_email", _("News and invitations by email")
    MARKETING_SMS = "marketing_sms", _("News and invitations by SMS")
    MARKETING_POST = "marketing_post", _("News and invitations by post")
    MARKETING_PORTAL = "marketing_portal", _("News and invitations in the portal")


LANGUAGES = ("en", "fr", "it")


class ConsentTemplate(models.Model):
    """What a patient is asked to agree to, for one purpose. Its wording lives in versions."""

    purpose = models.CharField(_("purpose"), max_length=32, choices=Purpose.choices, unique=True)
    description = models.CharField(_("internal description"), max_length=300, blank=True)
    active = models.BooleanField(_("offered to patients"), default=True)

    class Meta:
        ordering = ["purpose"]
        verbose_name = _("consent template")
        verbose_name_plural = _("consent templates")

    def __str__(self) -> str:
        return self.get_purpose_display()


class ConsentTemplateVersion(models.Model):
    """One wording of a template, in English, French and Italian. Immutable once signed."""

    template = models.ForeignKey(ConsentTemplate, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    effective_from = models.DateField(_("effective from"))
    title_en = models.CharField(_("title (English)"), max_length=200)
    title_fr = models.CharField(_("title (French)"), max_length=200)
    title_it = models.CharField(_("title (Italian)"), max_length=200)
    text_en = models.TextField(_("text (English)"), max_length=50000)
    text_fr = models.TextField(_("text (French)"), max_length=50000)
    text_it = models.TextField(_("text (Italian)"), max_length=50000)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["template", "-version"]
        constraints = [models.UniqueConstraint(fields=["template", "version"], name="consent_version_unique")]
        verbose_name = _("consent template version")
        verbose_name_plural = _("consent template versions")

    def __str__(self) -> str:
        return f"{self.template} v{self.version}"

    def title_for(self, language: str) -> str:
        return getattr(self, f"title_{language if language in LANGUAGES else 'en'}")

    def text_for(self, language: str) -> str:
        return getattr(self, f"text_{language if language in LANGUAGES else 'en'}")


class ConsentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


class ConsentMethod(models.TextChoices):
    PORTAL = "portal", _("Signed in the portal")
    IN_PERSON = "in_person", _("In person, with a staff witness")
    PAPER = "paper", _("Scanned paper form")
    API = "api", _("Through the API")


class RepresentativeCapacity(models.TextChoices):
    """In what capacity someone other than the patient signs for them."""

    PARENT = "parent", _("Parent of a minor")
    GUARDIAN = "guardian", _("Legal guardian")
    HEALTH_CARE_PROXY = "health_care_proxy", _("Health care proxy (power of attorney)")


class Consent(models.Model):
    """A patient's consent to one purpose: who, when, how, from where, and the hash of the exact text."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=32, choices=Purpose.choices)
    version = models.ForeignKey(ConsentTemplateVersion, on_delete=models.PROTECT, related_name="consents")
    language = models.CharField(_("language"), max_length=5)
    status = models.CharField(_("status"), max_length=16, choices=ConsentStatus.choices, default=ConsentStatus.ACTIVE)
    method = models.CharField(_("how it was given"), max_length=16, choices=ConsentMethod.choices)
    signer_name = models.CharField(_("signer's typed name"), max_length=200)
    # Blank when the patient signed; else the named person who signed for them, and in what capacity.
    representative_name = models.CharField(_("representative who signed"), max_length=200, blank=True)
    representative_capacity = models.CharField(
        _("capacity of the representative"), max_length=32, choices=RepresentativeCapacity.choices, blank=True
    )
    signed_at = models.DateTimeField(_("signed at"), default=timezone.now)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    witness = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    text_sha256 = models.CharField(_("SHA-256 of the text shown"), max_length=64)
    scanned_document = models.CharField(_("scanned form (private file)"), max_length=300, blank=True)
    receipt_path = models.CharField(_("receipt (private file)"), max_length=300, blank=True)
    receipt_sha256 = models.CharField(_("SHA-256 of the receipt"), max_length=64, blank=True, db_index=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    withdrawal_reason = models.CharField(_("reason for withdrawal"), max_length=500, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-signed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "purpose"],
                condition=Q(status="active"),
                name="consent_one_active_per_purpose",
                violation_error_message=_("This patient already has an active consent for this purpose."),
            ),
            models.CheckConstraint(
                condition=Q(representative_name="", representative_capacity="")
                | (~Q(representative_name="") & ~Q(representative_capacity="")),
                name="consent_representative_named_with_capacity",
                violation_error_message=_("A representative who signs is named, with their capacity."),
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "purpose", "status"], name="consent_patient_purpose_idx"),
            models.Index(fields=["purpose", "status"], name="consent_purpose_status_idx"),
            models.Index(fields=["text_sha256"], name="consent_text_hash_idx"),
        ]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} — {self.get_status_display()} ({self.signed_at:%Y-%m-%d})"


class LedgerEvent(models.TextChoices):
    SIGNED = "signed", _("Signed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


class ConsentLedgerEntry(ChainedRecord):
    """The append-only, hash-chained history of every consent: signed, withdrawn, expired."""

    CHAIN_NAME = "consent_ledger"
    CHAIN_FIELDS = (
        "at",
        "consent",
        "patient",
        "purpose",
        "event",
        "actor",
        "actor_label",
        "text_sha256",
        "receipt_sha256",
        "detail",
    )

    at = models.DateTimeField(default=timezone.now)
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="ledger")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    event = models.CharField(max_length=16, choices=LedgerEvent.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=254)
    text_sha256 = models.CharField(max_length=64)
    receipt_sha256 = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-chain_seq"]
        indexes = [
            models.Index(fields=["patient", "at"], name="ledger_patient_idx"),
            models.Index(fields=["at"], name="ledger_at_idx"),
        ]
        verbose_name = _("consent ledger entry")
        verbose_name_plural = _("consent ledger")

    def __str__(self) -> str:
        return f"#{self.chain_seq} {self.event} {self.purpose} (patient {self.patient_id})"
