"""What an access-log row says was read, and by whom, in words.

`ACCESS_RESOURCE_LABELS`: every resource code any part of Salus logs, with the words patients and
auditors see for it. `access_log_record` refuses a code that is not here, so a new kind of read
cannot reach the log without its label.

`ROLE_NAMES` and `actor_in_words`, with `patients.selectors.people_named`: who acted, as a person and a role ("Paul Lefèvre (patient)", "Alice Martin (care
manager)"), for the audit report, the access-log admin and a patient's data export. Chained rows
keep naming people by email or account number (an erasure never rewrites them); these words are
worked out when a page is shown, from the accounts and records as they are now — so an erased
patient reads as their pseudonym.
"""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role

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


# How a role reads inside a person's label, most telling first (an administrator who is also a
# provider reads as an administrator).
ROLE_NAMES = {
    Role.ADMINISTRATOR: _("administrator"),
    Role.CARE_MANAGER: _("care manager"),
    Role.PROVIDER: _("provider"),
    Role.FRONT_DESK: _("front desk"),
    Role.OUTREACH: _("outreach"),
    Role.EVENT_PLANNER: _("event planner"),
    Role.PATIENT: _("patient"),
}


def actor_label_for_patients(label: str) -> str:
    """A chained row's label as a patient may read it, for an account that no longer answers:
    background work by its name, anyone else as a closed account (never an email or a number)."""
    return label if label.startswith("system") else gettext("a closed account")


def actor_in_words(*, actor_id: int | None, actor_label: str, names: dict[int, str]) -> str:
    """Who a log row says acted, in words: the person (from `people_named`), background work by
    its name, or, for an account gone since, the label the row was written with."""
    if actor_id and actor_id in names:
        return names[actor_id]
    if actor_label.startswith("system"):
        task = actor_label.removeprefix("system").lstrip(": ")
        return gettext("Salus (automatic task: %(task)s)") % {"task": task} if task else gettext("Salus (automatic task)")
    return actor_label
