"""What an access-log row says was read: every resource code any part of Salus logs, with the
words patients and auditors see for it. `access_log_record` refuses a code that is not here, so a
new kind of read cannot reach the log without its label."""

from django.utils.translation import gettext_lazy as _

ACCESS_RESOURCE_LABELS = {
    "record": _("Record: identity and contact details"),
    "history": _("Change history of the record"),
    "notes": _("Clinical notes"),
    "care_team": _("Care team"),
    "encounters": _("Visits and hospital stays"),
    "conditions": _("Conditions"),
    "observations": _("Measurements and test results"),
    "medication-requests": _("Medications"),
    "allergies": _("Allergies and intolerances"),
    "procedures": _("Procedures"),
    "immunizations": _("Immunizations"),
    "export": _("Data download"),
    "consents": _("Consents"),
    "consent_receipt": _("Consent receipt"),
    "consent_scan": _("Scanned consent form"),
    "consent_verify": _("Check of a consent receipt"),
    "appointment": _("Appointment"),
    "appointments": _("Appointments"),
    "appointment_history": _("Change history of an appointment"),
    "visit_summary": _("Visit summary: conditions, vital signs, intake answers"),
    "video_link": _("Video visit link"),
}


def access_resource_label(resource: str) -> str:
    return str(ACCESS_RESOURCE_LABELS[resource]) if resource in ACCESS_RESOURCE_LABELS else resource
