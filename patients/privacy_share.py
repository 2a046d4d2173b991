"""The patient record's share of a data export and of an erasure (see `core.privacy`).

Export: the record, identifiers, contact persons, care team, clinical notes, every clinical fact
(under the names the REST API uses), and who read the record.

Erasure: the record is pseudonymized, every version of it included; identifiers and contact
persons are deleted with all their versions; clinical notes and facts are kept (Art. 17(3)(b)
and (c): the medical record must be kept for its legal retention period and care given must stay
explainable) with the patient's names, MRN, email and phone replaced by "[erased]" wherever they
appear. The birth date becomes 1 January of the birth year: age stays known (dosing, age bands,
readmission figures) while a full birth date, with a postal code and gender, singles out most
people. The access log keeps its rows: it holds ids and staff labels, and its hash chain must
still verify.

Mentions: other patients' clinical notes (and every past version of them) that quote the erased
patient's name, email or phone number ("Neighbour Petra Colombo (03 72 00 78 97) drives him")
are listed for an administrator to review; they are another patient's record, redacted only
when the administrator decides so (`clinical_note_mentions_redact`).
"""

import datetime as dt

from django.utils.translation import gettext_lazy, pgettext_lazy

from core.privacy import (
    ERASED_GIVEN_NAME,
    ErasureContext,
    ExportSection,
    Identity,
    Mention,
    MentionFinder,
    PrivacyShare,
    model_columns,
    patient_rows_scrub,
    row_fields,
    scrub_rows,
    share_register,
    user_label,
)

from .access import ACCESS_RESOURCE_LABELS, access_resource_label, actor_in_words, actor_label_for_patients
from .models import (
    AccessChannel,
    AccessLog,
    AllergyIntolerance,
    CareTeamRole,
    ClinicalNote,
    Condition,
    Encounter,
    Immunization,
    MedicationRequest,
    Observation,
    Patient,
    PatientContact,
    PatientIdentifier,
    Procedure,
)
from .selectors import CLINICAL_MODELS, care_team_for_patient, notes_for_patient, people_named
from .services import _list_entries_follow, clinical_note_mentions_redact


def _section_patient(patient: Patient) -> dict:
    data = row_fields(patient, exclude=("user",))
    data["portal_account"] = patient.user.email if patient.user_id else ""
    return data


def _section_identifiers(patient: Patient) -> list[dict]:
    return [row_fields(i) for i in PatientIdentifier.objects.filter(patient=patient).order_by("id")]


def _section_contacts(patient: Patient) -> list[dict]:
    return [row_fields(c) for c in PatientContact.objects.filter(patient=patient).order_by("id")]


def _section_care_team(patient: Patient) -> list[dict]:
    return [
        {"member": user_label(m.user), "role": m.role, "period_start": m.period_start, "period_end": m.period_end}
        for m in care_team_for_patient(patient=patient, include_past=True)
    ]


def _section_notes(patient: Patient) -> list[dict]:
    return [
        {
            "id": n.pk,
            "created_at": n.created_at,
            "author": user_label(n.author),
            "text": n.text,
            "encounter_id": n.encounter_id,
            "reviewed_by": user_label(n.reviewed_by),
            "reviewed_at": n.reviewed_at,
        }
        for n in notes_for_patient(patient=patient).order_by("created_at", "id")
    ]


def _facts(model):
    def build(patient: Patient) -> list[dict]:
        return [row_fields(fact) for fact in model.objects.filter(patient=patient).order_by("id").iterator(chunk_size=2000)]

    return build


def _section_access_log(patient: Patient) -> list[dict]:
    # Who read the record, when, what and how, in words: people by name and role (staff never by
    # email, as in the portal), what by its label. Staff IP addresses and browsers are theirs, not
    # the patient's.
    fields = ("created_at", "actor_id", "actor_label", "action", "resource", "channel")
    rows = list(AccessLog.objects.filter(patient=patient).order_by("created_at", "id").values(*fields))
    names = people_named((row["actor_id"] for row in rows), with_email=False)
    return [
        {
            "created_at": row["created_at"],
            "who": actor_in_words(
                actor_id=row["actor_id"], actor_label=actor_label_for_patients(row["actor_label"]), names=names
            ),
            "what": access_resource_label(row["resource"]),
            "resource": row["resource"],
            "action": row["action"],
            "channel": row["channel"],
        }
        for row in rows
    ]


_FACT_COLUMNS = {
    Encounter: ("period_start", "period_end", "encounter_class", "type_display", "reason_display", "location"),
    Condition: ("display", "code", "clinical_status", "onset", "abatement"),
    Observation: ("effective_at", "display", "value_quantity", "value_unit", "value_text"),
    MedicationRequest: ("authored_on", "display", "status", "dosage_text"),
    AllergyIntolerance: ("display", "clinical_status", "criticality", "recorded_date"),
    Procedure: ("performed_start", "display", "status"),
    Immunization: ("occurrence", "display", "status"),
}


# The FHIR codes the clinical facts carry, in the patient's words. Each in its resource's context:
# the word agrees with what it qualifies (French "allergie résolue" but "acte réalisé").
_CONDITION_STATUS = {
    "active": pgettext_lazy("condition status", "active"),
    "recurrence": pgettext_lazy("condition status", "recurrence"),
    "relapse": pgettext_lazy("condition status", "relapse"),
    "inactive": pgettext_lazy("condition status", "inactive"),
    "remission": pgettext_lazy("condition status", "remission"),
    "resolved": pgettext_lazy("condition status", "resolved"),
}
_ALLERGY_STATUS = {
    "active": pgettext_lazy("allergy status", "active"),
    "inactive": pgettext_lazy("allergy status", "inactive"),
    "resolved": pgettext_lazy("allergy status", "resolved"),
}
_ALLERGY_CRITICALITY = {
    "low": pgettext_lazy("allergy criticality", "low"),
    "high": pgettext_lazy("allergy criticality", "high"),
    "unable-to-assess": pgettext_lazy("allergy criticality", "unable to assess"),
}
_MEDICATION_STATUS = {
    "active": pgettext_lazy("prescription status", "active"),
    "on-hold": pgettext_lazy("prescription status", "on hold"),
    "cancelled": pgettext_lazy("prescription status", "cancelled"),
    "completed": pgettext_lazy("prescription status", "completed"),
    "entered-in-error": pgettext_lazy("prescription status", "entered in error"),
    "stopped": pgettext_lazy("prescription status", "stopped"),
    "draft": pgettext_lazy("prescription status", "draft"),
    "unknown": pgettext_lazy("prescription status", "unknown"),
}
_PROCEDURE_STATUS = {
    "preparation": pgettext_lazy("procedure status", "in preparation"),
    "in-progress": pgettext_lazy("procedure status", "in progress"),
    "not-done": pgettext_lazy("procedure status", "not done"),
    "on-hold": pgettext_lazy("procedure status", "on hold"),
    "stopped": pgettext_lazy("procedure status", "stopped"),
    "completed": pgettext_lazy("procedure status", "completed"),
    "entered-in-error": pgettext_lazy("procedure status", "entered in error"),
    "unknown": pgettext_lazy("procedure status", "unknown"),
}
_IMMUNIZATION_STATUS = {
    "completed": pgettext_lazy("immunization status", "completed"),
    "entered-in-error": pgettext_lazy("immunization status", "entered in error"),
    "not-done": pgettext_lazy("immunization status", "not done"),
}
_CODE_LABELS = {
    (Condition, "clinical_status"): _CONDITION_STATUS,
    (AllergyIntolerance, "clinical_status"): _ALLERGY_STATUS,
    (AllergyIntolerance, "criticality"): _ALLERGY_CRITICALITY,
    (MedicationRequest, "status"): _MEDICATION_STATUS,
    (Procedure, "status"): _PROCEDURE_STATUS,
    (Immunization, "status"): _IMMUNIZATION_STATUS,
}


def _fact_columns(model) -> tuple:
    """The model's columns, its FHIR codes given their words (a code not listed shows as it is)."""
    return tuple(
        (name, label, _CODE_LABELS.get((model, name), choices))
        for name, label, choices in model_columns(model, _FACT_COLUMNS[model])
    )


def _sections() -> tuple[ExportSection, ...]:
    sections = [
        ExportSection("patient", gettext_lazy("Your record"), _section_patient, order=10),
        ExportSection(
            "identifiers",
            gettext_lazy("Identifiers"),
            _section_identifiers,
            model_columns(PatientIdentifier, ("system", "value", "use")),
            order=11,
        ),
        ExportSection(
            "contacts",
            gettext_lazy("Contact persons"),
            _section_contacts,
            model_columns(PatientContact, ("name", "relationship", "phone", "email")),
            order=12,
        ),
        ExportSection(
            "care_team",
            gettext_lazy("Care team"),
            _section_care_team,
            (
                ("member", gettext_lazy("Member")),
                ("role", gettext_lazy("Role"), dict(CareTeamRole.choices)),
                ("period_start", gettext_lazy("From")),
                ("period_end", gettext_lazy("Until")),
            ),
            order=13,
        ),
        ExportSection(
            "clinical_notes",
            gettext_lazy("Clinical notes"),
            _section_notes,
            (("created_at", gettext_lazy("Written")), ("author", gettext_lazy("Author")), ("text", gettext_lazy("Text"))),
            order=14,
        ),
    ]
    for i, (kind, model) in enumerate(CLINICAL_MODELS.items()):
        sections.append(
            ExportSection(
                kind.replace("-", "_"),
                # The words the access log uses for the same part of the record.
                ACCESS_RESOURCE_LABELS.get(kind, model._meta.verbose_name_plural),
                _facts(model),
                _fact_columns(model),
                order=20 + i,
            )
        )
    sections.append(
        ExportSection(
            "access_log",
            gettext_lazy("Who read your record"),
            _section_access_log,
            (
                ("created_at", gettext_lazy("When")),
                ("who", gettext_lazy("Who")),
                ("what", gettext_lazy("What")),
                ("channel", gettext_lazy("How"), dict(AccessChannel.choices)),
            ),
            order=50,
        )
    )
    return tuple(sections)


def _identity(patient: Patient) -> Identity:
    """The record's names, MRN, email, address and phone as they are and as every version had
    them, the identifiers and the contact persons' names, emails and phones."""
    fields = ("given_name", "family_name", "mrn", "email", "phone", "address_line")
    identity = Identity()
    for v in [*Patient.history.filter(id=patient.pk).values(*fields), {name: getattr(patient, name) for name in fields}]:
        identity.add(
            common=[v["given_name"], v["family_name"]],
            distinctive=[
                v["mrn"],
                v["email"],
                v["address_line"],
                f"{v['given_name']} {v['family_name']}",
                f"{v['family_name']} {v['given_name']}",
                f"{v['family_name']}, {v['given_name']}",
            ],
            phones=[v["phone"]],
        )
    identity.add(
        distinctive=[
            *PatientIdentifier.history.filter(patient_id=patient.pk).values_list("value", flat=True),
            *PatientIdentifier.objects.filter(patient=patient).values_list("value", flat=True),
        ]
    )
    for name, email, phone in [
        *PatientContact.history.filter(patient_id=patient.pk).values_list("name", "email", "phone"),
        *PatientContact.objects.filter(patient=patient).values_list("name", "email", "phone"),
    ]:
        identity.add(distinctive=[name, email], phones=[phone])
    return identity


def _erase(ctx: ErasureContext) -> None:
    patient = ctx.patient
    for model in (PatientIdentifier, PatientContact):
        for row in model.objects.filter(patient=patient):
            row._history_user = ctx.history_user
            row.delete()
        model.history.filter(patient_id=patient.pk).delete()
    erased = {
        "given_name": ERASED_GIVEN_NAME,
        "family_name": ctx.pseudonym,
        "mrn": f"ERASED-{patient.pk}",
        "email": "",
        "phone": "",
        "address_line": "",
        "postal_code": "",
        "city": "",
        "birth_date": dt.date(patient.birth_date.year, 1, 1),
    }
    for name, value in {**erased, "active": False}.items():
        setattr(patient, name, value)
    patient._history_user = ctx.history_user
    patient._change_reason = ctx.reason
    patient.save()
    Patient.history.filter(id=patient.pk).update(**erased)
    _list_entries_follow(patient)
    patient_rows_scrub("patients", ctx)
    # The record's own versions: their free text too (the erased fields were set above).
    scrub_rows(Patient.history.filter(id=patient.pk), ctx.identity.pattern())


def _mention_finder(patient: Patient) -> MentionFinder:
    """The patient's names (given and family, both orders), email and phone, as they are and as
    every version of the record had them."""
    fields = ("given_name", "family_name", "email", "phone")
    versions = [*Patient.history.filter(id=patient.pk).values(*fields), {name: getattr(patient, name) for name in fields}]
    return MentionFinder(
        names=[n for v in versions for n in (f"{v['given_name']} {v['family_name']}", f"{v['family_name']} {v['given_name']}")],
        emails=[v["email"] for v in versions],
        phones=[v["phone"] for v in versions],
    )


def _mentions(patient: Patient) -> list[Mention]:
    """Other patients' notes quoting the patient, current text and past versions. It reads every
    other note once, in chunks: accents and phone punctuation cannot be matched by SQL portably,
    and an erasure is a rare, background task."""
    finder = _mention_finder(patient)
    if not finder:
        return []
    found: dict[int, dict] = {}

    def scan(rows, *, current: bool) -> None:
        for note_id, owner_id, text in rows:
            hits = finder.found(text)
            if hits:
                entry = found.setdefault(note_id, {"owner": owner_id, "texts": {}, "current": False})
                entry["texts"].update(dict.fromkeys(hits))
                entry["current"] = entry["current"] or current

    others = ClinicalNote.objects.exclude(patient_id=patient.pk)
    scan(others.values_list("pk", "patient_id", "text").iterator(chunk_size=2000), current=True)
    versions = ClinicalNote.history.exclude(patient_id=patient.pk).filter(id__in=others.values("pk"))  # redactable ones
    scan(versions.values_list("id", "patient_id", "text").iterator(chunk_size=2000), current=False)
    return [
        Mention(
            model="patients.clinicalnote",
            object_id=note_id,
            owner_patient_id=entry["owner"],
            texts=tuple(entry["texts"]),
            in_current_text=entry["current"],
        )
        for note_id, entry in sorted(found.items())
    ]


def _mention_redact(*, actor, object_id: int, texts) -> None:
    note = ClinicalNote.objects.get(pk=object_id)
    clinical_note_mentions_redact(actor=actor, note=note, texts=texts)


share_register(
    PrivacyShare(
        app_label="patients",
        export_sections=_sections(),
        identity=_identity,
        erase=_erase,
        erase_order=50,
        mentions=_mentions,
        mention_redact=_mention_redact,
    )
)
