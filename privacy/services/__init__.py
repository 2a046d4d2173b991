"""Privacy rights of patients (GDPR Art. 15, 17 and 20): requests, data exports and erasure.

Writes are services named `privacy_*`; each runs in one transaction and names its actor. The
portal, the admin, the API and the tasks call them. The permission-aware reads are in
`privacy.selectors`.

- `requests`: recording, deciding and retrying a request, the open work, telling the patient.
- `export`: the JSON file and the PDF summary built from every app's sections.
- `erasure`: every app's share of the erasure, in one transaction, the audit trail kept.
- `retention`: how long each kind of data is kept, applied daily.
- `mentions`: other patients' records quoting an erased patient, for an administrator to redact or keep.

Other apps hold their share of an export and of an erasure in a `privacy_share` module that
registers with `core.privacy`; this app never imports them, and they never import it.
"""

from .erasure import ERASED_GIVEN_NAME, ERASED_TEXT, PATIENT_ERASED, erasure_pseudonym, privacy_erase, privacy_erase_run
from .export import (
    EXPORT_FORMAT,
    EXPORT_FORMAT_VERSION,
    PDF_ROWS_PER_SECTION,
    PRIVACY_EXPORT_READY,
    ExportSection,
    export_collect,
    export_json,
    export_link_hours,
    export_pdf,
    export_sections,
    privacy_export_build,
    privacy_export_files_purge,
)
from .mentions import erasure_mention_decide, erasure_mentions_find, erasure_mentions_record
from .requests import (
    PRIVACY_REQUEST_CREATED,
    PRIVACY_REQUEST_DECIDED,
    REASON_MAX,
    privacy_erasure_request,
    privacy_export_request,
    privacy_open_request_ids,
    privacy_request_create,
    privacy_request_decide,
    privacy_request_retry,
)

__all__ = [
    "ERASED_GIVEN_NAME",
    "ERASED_TEXT",
    "EXPORT_FORMAT",
    "EXPORT_FORMAT_VERSION",
    "PATIENT_ERASED",
    "PDF_ROWS_PER_SECTION",
    "PRIVACY_EXPORT_READY",
    "PRIVACY_REQUEST_CREATED",
    "PRIVACY_REQUEST_DECIDED",
    "REASON_MAX",
    "ExportSection",
    "erasure_mention_decide",
    "erasure_mentions_find",
    "erasure_mentions_record",
    "erasure_pseudonym",
    "export_collect",
    "export_json",
    "export_link_hours",
    "export_pdf",
    "export_sections",
    "privacy_erase",
    "privacy_erase_run",
    "privacy_erasure_request",
    "privacy_export_build",
    "privacy_export_files_purge",
    "privacy_export_request",
    "privacy_open_request_ids",
    "privacy_request_create",
    "privacy_request_decide",
    "privacy_request_retry",
]
