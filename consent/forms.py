"""Forms of the consent pages (portal and admin). They validate input; the services decide and write."""

import hashlib

from django import forms
from django.contrib.admin.widgets import AdminDateWidget, AdminSplitDateTime, AutocompleteSelect
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from patients.models import Language

from .models import LANGUAGES, Consent, ConsentMethod, Purpose, RepresentativeCapacity

MAX_SCAN_BYTES = 10 * 1024 * 1024
MAX_RECEIPT_BYTES = 10 * 1024 * 1024
SCAN_SIGNATURES = (b"%PDF", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def _read_upload(upload, *, limit: int, too_big: str) -> bytes:
    if upload.size > limit:
        raise ValidationError(too_big, code="too_big")
    return upload.read()


class ConsentSignForm(forms.Form):
    """The patient's signature in the portal: the typed name and the agreement, bound to the exact
    version and language shown on the page (hidden fields) so that what is signed is what was read."""

    signer_name = forms.CharField(
        label=_("Type your full name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text=_("Typing your name here is your signature."),
        error_messages={"required": _("Type your full name to sign.")},
    )
    representative_capacity = forms.ChoiceField(
        label=_("You sign as"),
        required=False,
        choices=[("", _("The patient")), *RepresentativeCapacity.choices],
        help_text=_("Signing for the patient? Choose in what capacity, and type your own name above."),
    )
    agree = forms.BooleanField(
        label=_("I have read and agree"),
        error_messages={"required": _("Tick this box to show that you have read and agree to the text.")},
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    language = forms.ChoiceField(widget=forms.HiddenInput, choices=[(lang, lang) for lang in LANGUAGES])


class ConsentWithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Telling us why helps us improve; you do not have to."),
    )


class ConsentVerifyForm(forms.Form):
    """A receipt PDF or a pasted SHA-256: either one, never both."""

    receipt = forms.FileField(
        label=_("Receipt (PDF)"),
        required=False,
        help_text=_("The consent receipt exactly as downloaded from Salus."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )
    sha256 = forms.CharField(
        label=_("Or its SHA-256"),
        required=False,
        max_length=200,
        help_text=_("64 characters, 0–9 and a–f. Spaces and colons are ignored."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_receipt(self):
        upload = self.cleaned_data.get("receipt")
        if not upload:
            return None
        content = _read_upload(upload, limit=MAX_RECEIPT_BYTES, too_big=_("A receipt is never larger than 10 MB."))
        if not content.startswith(b"%PDF"):
            raise ValidationError(_("Upload the receipt as the PDF file you downloaded."), code="not_pdf")
        return hashlib.sha256(content).hexdigest()

    def clean_sha256(self):
        value = "".join(ch for ch in self.cleaned_data.get("sha256", "") if ch not in " :\t\r\n").lower()
        if value and (len(value) != 64 or any(ch not in "0123456789abcdef" for ch in value)):
            raise ValidationError(_("A SHA-256 is 64 characters, 0–9 and a–f."), code="invalid")
        return value

    def clean(self):
        data = super().clean()
        receipt, sha = data.get("receipt"), data.get("sha256")
        if self.errors:
            return data
        if not receipt and not sha:
            self.add_error("receipt", _("Upload a receipt, or paste its SHA-256 below."))
        elif receipt and sha:
            self.add_error("sha256", _("Give either a receipt or a SHA-256, not both."))
        else:
            data["hash"] = receipt or sha
        return data


class PatientAutocomplete(AutocompleteSelect):
    """The admin's patient search box (PatientAdmin's permission-aware search). A posted value that
    is not an id is shown as no choice rather than looked up (which would fail on "abc")."""

    def optgroups(self, name, value, attr=None):
        value = [v for v in value if str(v).isdigit() and int(v) <= 2**63 - 1]
        return super().optgroups(name, value, attr)


class StaffConsentRecordForm(forms.Form):
    """Staff record a consent given in person (they are the witness) or on a scanned paper form."""

    patient = forms.ModelChoiceField(label=_("Patient"), queryset=None)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Purpose.choices)
    method = forms.ChoiceField(
        label=_("How it was given"),
        choices=[(m.value, m.label) for m in (ConsentMethod.IN_PERSON, ConsentMethod.PAPER)],
        widget=forms.RadioSelect,
        help_text=_("In person: you are recorded as the witness. Paper: attach the scanned, signed form."),
    )
    signer_name = forms.CharField(
        label=_("Signer's full name"),
        max_length=200,
        help_text=_("As the patient (or their representative) wrote or typed it."),
    )
    representative_capacity = forms.ChoiceField(
        label=_("Signed by"),
        required=False,
        choices=[("", _("The patient")), *RepresentativeCapacity.choices],
        help_text=_("When a representative signed for the patient: in what capacity (the name above is theirs)."),
    )
    language = forms.ChoiceField(
        label=_("Language of the text the patient read"),
        required=False,
        choices=[("", _("The patient's preferred language")), *Language.choices],
    )
    scanned_document = forms.FileField(
        label=_("Scanned form"),
        required=False,
        help_text=_("PDF, JPEG or PNG, at most 10 MB. Needed for a paper consent."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
    )
    expires_at = forms.SplitDateTimeField(
        label=_("Expires at"),
        required=False,
        widget=AdminSplitDateTime,
        help_text=_("Leave empty for a consent without an end date."),
    )

    def __init__(self, *args, patients, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["patient"]
        field.widget = PatientAutocomplete(Consent._meta.get_field("patient"), admin_site)
        field.queryset = patients  # after the widget: it hands the widget its choices

    def clean_scanned_document(self):
        upload = self.cleaned_data.get("scanned_document")
        if not upload:
            return None
        content = _read_upload(upload, limit=MAX_SCAN_BYTES, too_big=_("The scan is larger than 10 MB."))
        if not content.startswith(SCAN_SIGNATURES):
            raise ValidationError(_("The scan must be a PDF, JPEG or PNG file."), code="file_type")
        return content

    def clean(self):
        data = super().clean()
        if (
            data.get("method") == ConsentMethod.PAPER
            and not data.get("scanned_document")
            and "scanned_document" not in self.errors
        ):
            self.add_error("scanned_document", _("Attach the scanned, signed form."))
        if data.get("method") == ConsentMethod.IN_PERSON and data.get("scanned_document"):
            self.add_error("scanned_document", _("A scan goes with a paper consent; choose “Scanned paper form” or remove it."))
        return data


class StaffConsentWithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Recorded in the consent ledger, e.g. “Patient asked by phone on 3 March”."),
    )


class ConsentTemplateVersionForm(forms.Form):
    """A new wording for a purpose, in every language. Published by consent_template_version_create."""

    purpose = forms.ChoiceField(label=_("Purpose"), choices=Purpose.choices)
    effective_from = forms.DateField(label=_("Effective from"), widget=AdminDateWidget)
    title_en = forms.CharField(label=_("Title (English)"), max_length=200)
    title_fr = forms.CharField(label=_("Title (French)"), max_length=200)
    title_it = forms.CharField(label=_("Title (Italian)"), max_length=200)
    text_en = forms.CharField(label=_("Text (English)"), max_length=50000, widget=forms.Textarea(attrs={"rows": 10, "cols": 80}))
    text_fr = forms.CharField(label=_("Text (French)"), max_length=50000, widget=forms.Textarea(attrs={"rows": 10, "cols": 80}))
    text_it = forms.CharField(label=_("Text (Italian)"), max_length=50000, widget=forms.Textarea(attrs={"rows": 10, "cols": 80}))
