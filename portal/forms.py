from django import forms
from django.utils.translation import gettext_lazy as _

from patients.models import ContactChannel, Language, validate_time_zone
from patients.permissions import PATIENT_SELF_EDITABLE_FIELDS


class ContactDetailsForm(forms.Form):
    """A patient's own contact details and preferences. Saved by patients.services.patient_update."""

    email = forms.EmailField(
        label=_("Email"), required=False, max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    phone = forms.RegexField(
        label=_("Phone"),
        required=False,
        max_length=32,
        regex=r"^\+?[0-9 ().-]{6,31}$",
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        error_messages={"invalid": _("Enter a phone number: digits, spaces and an optional leading +.")},
    )
    address_line = forms.CharField(
        label=_("Address"), required=False, max_length=200, widget=forms.TextInput(attrs={"autocomplete": "street-address"})
    )
    postal_code = forms.CharField(
        label=_("Postal code"), required=False, max_length=20, widget=forms.TextInput(attrs={"autocomplete": "postal-code"})
    )
    city = forms.CharField(
        label=_("City"), required=False, max_length=100, widget=forms.TextInput(attrs={"autocomplete": "address-level2"})
    )
    country = forms.RegexField(
        label=_("Country"),
        required=False,
        regex=r"^[A-Za-z]{2}$",
        # No maxlength on the input: the browser would silently cut "Germany" to "Ge" (Georgia).
        widget=forms.TextInput(attrs={"autocomplete": "country", "size": 4}),
        help_text=_("Two-letter code, e.g. FR, IT, GB."),
        error_messages={"invalid": _("Enter a two-letter country code, e.g. FR.")},
    )
    preferred_language = forms.ChoiceField(label=_("Language for messages"), choices=Language.choices)
    preferred_channel = forms.ChoiceField(label=_("How we contact you"), choices=ContactChannel.choices)
    time_zone = forms.CharField(label=_("Time zone"), max_length=64, validators=[validate_time_zone])

    def clean_country(self):
        return self.cleaned_data["country"].upper()

    def clean(self):
        data = super().clean()
        if data.get("preferred_channel") == ContactChannel.EMAIL and not data.get("email") and "email" not in self.errors:
            self.add_error("email", _("Give an email address to be contacted by email."))
        if data.get("preferred_channel") == ContactChannel.SMS and not data.get("phone") and "phone" not in self.errors:
            self.add_error("phone", _("Give a mobile number to be contacted by SMS."))
        return data


assert set(ContactDetailsForm.base_fields) == PATIENT_SELF_EDITABLE_FIELDS
