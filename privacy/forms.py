"""Forms of the privacy pages (portal and admin). They check input; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from patients.selectors import patients_for_user

from .models import PrivacyRequestKind
from .services.requests import REASON_MAX


class PrivacyRequestForm(forms.Form):
    """A patient asks for a copy of their data or for erasure (portal)."""

    kind = forms.ChoiceField(
        label=_("What would you like?"),
        choices=PrivacyRequestKind.choices,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose a copy of your data or erasure.")},
    )
    reason = forms.CharField(
        label=_("Anything we should know (optional)"),
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm = forms.BooleanField(
        label=_("I understand that erasure cannot be undone and closes my portal account."),
        required=False,
    )

    def clean(self):
        data = super().clean()
        if data.get("kind") == PrivacyRequestKind.ERASURE and not data.get("confirm"):
            self.add_error("confirm", _("Tick this box to confirm that you want your data erased."))
        return data


class StaffPrivacyRequestForm(forms.Form):
    """A staff member records a patient's request received by letter, phone or at the desk."""

    mrn = forms.CharField(label=_("Patient's MRN"), max_length=64)
    kind = forms.ChoiceField(label=_("Request"), choices=PrivacyRequestKind.choices)
    reason = forms.CharField(
        label=_("How it was received, and any reason given"),
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_mrn(self):
        mrn = self.cleaned_data["mrn"].strip()
        # The selector decides which patients this staff member may act for.
        patient = patients_for_user(user=self.user).filter(mrn__iexact=mrn).first()
        if patient is None:
            raise forms.ValidationError(_("No patient you may see has this MRN."))
        self.cleaned_data["patient"] = patient
        return mrn


class DecisionForm(forms.Form):
    """An administrator approves or rejects an erasure request."""

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve: erase the patient's data")), ("reject", _("Reject"))],
        widget=forms.RadioSelect,
    )
    decision_note = forms.CharField(
        label=_("Note to the patient"),
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Required when rejecting: the patient reads it in the portal."),
    )


class MentionDecisionForm(forms.Form):
    """An administrator redacts a mention of an erased patient in another record, or keeps it."""

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("redact", _("Redact: replace these words in the note and its past versions")),
            ("keep", _("Keep the note as it is")),
        ],
        widget=forms.RadioSelect,
    )
    decision_reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when keeping, e.g. “the neighbour is the driver, not the erased patient's data”."),
    )
