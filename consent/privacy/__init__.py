"""Privacy rights of patients (GDPR Art. 15, 17 and 20): requests, data exports and erasure.

Writes are services named `privacy_*`; each runs in one transaction and names its actor. The
portal, the admin, the API and the tasks call them. The permission-aware reads they need are in
`reads` (`privacy_requests_for_user`, `privacy_export_get_for_download`, ...).

- `requests`: recording, deciding and retrying a request, the open work, telling the patient.
- `export`: the registry of export sections, the JSON file and the PDF summary.
- `erasure`: pseudonymization of the patient everywhere, the audit trail kept.
- `reads`: the requests and exports a user may see.

Other apps add to an export, and to an erasure, without consent importing them (nor them
importing consent): an app may hold a module `privacy_export.py` with

    EXPORT_SECTIONS = [{"key": "appointments", "title": _("Appointments"),
                        "build": lambda patient: [...], "columns": [("start", _("Start")), ...]}]
    def erase_patient(*, patient, actor): ...   # optional: what the generic scrub cannot do

which is discovered once, like the admin's `admin.py` modules.
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
    export_section_register,
    export_sections,
    privacy_export_build,
    privacy_export_files_purge,
)
from .reads import (
    privacy_export_file,
    privacy_export_get_for_download,
    privacy_request_get_for_user,
    privacy_requests_for_patient,
    privacy_requests_for_user,
)
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
    "erasure_pseudonym",
    "export_collect",
    "export_json",
    "export_link_hours",
    "export_pdf",
    "export_section_register",
    "export_sections",
    "privacy_erase",
    "privacy_erase_run",
    "privacy_erasure_request",
    "privacy_export_build",
    "privacy_export_file",
    "privacy_export_files_purge",
    "privacy_export_get_for_download",
    "privacy_export_request",
    "privacy_open_request_ids",
    "privacy_request_create",
    "privacy_request_decide",
    "privacy_request_get_for_user",
    "privacy_request_retry",
    "privacy_requests_for_patient",
    "privacy_requests_for_user",
]
