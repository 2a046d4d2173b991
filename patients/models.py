from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from audit.models import ChainedRecord


class CodeSystem(models.TextChoices):
    """Code systems kept with every code, so that a code never loses its meaning."""

    SNOMED = "http://snomed.info/sct", "SNOMED CT"
    LOINC = "http://loinc.org", "LOINC"
    RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm", "RxNorm"
    ICD10 = "http://hl7.org/fhir/sid/icd-10", "ICD-10"
    ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm", "ICD-10-CM"
    CVX = "http://hl7.org/fhir/sid/cvx", "CVX"
    UCUM = "http://unitsofmeasure.org", "UCUM"
    OTHER = "other", _("Other / local")


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class Language(models.TextChoices):
    EN = "en", "English"
    FR = "fr", "Français"
    IT = "it", "Italiano"


class ContactChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    POST = "post", _("Postal letter")
    PORTAL = "portal", _("Portal message")


def validate_time_zone(value: str) -> None:
    if value not in _TIME_ZONES:
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value}, code="invalid")


_TIME_ZONES = frozenset(available_timezones())


def validate_not_in_future(value) -> None:
    if value > timezone.localdate():
        raise ValidationError(_("This date is in the future."), code="future")


class Patient(models.Model):
    mrn = models.CharField(_("MRN"), max_length=64, unique=True, help_text=_("Medical record number."))
    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    birth_date = models.DateField(_("birth date"), validators=[validate_not_in_future])
    gender = models.CharField(_("administrative gender"), max_length=16, choices=Gender.choices, default=Gender.UNKNOWN)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    address_line = models.CharField(_("address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166-1 alpha-2 code."))
    preferred_language = models.CharField(_("preferred language"), max_length=5, choices=Language.choices, default=Language.EN)
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=16, choices=ContactChannel.choices, default=ContactChannel.EMAIL
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris", validators=[validate_time_zone])
    active = models.BooleanField(_("active"), default=True)
    deceased = models.BooleanField(_("deceased"), default=False)
    deceased_at = models.DateTimeField(_("deceased at"), null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patient",
        verbose_name=_("portal account"),
    )
    created_at = models.DateTimeField(_("record opened"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        permissions = [("view_clinical", "Can view clinical data of the patients they may see")]
        indexes = [
            models.Index(fields=["family_name", "given_name", "id"], name="patient_name_idx"),
            models.Index(fields=["birth_date"], name="patient_birth_date_idx"),
            models.Index(fields=["gender", "birth_date"], name="patient_gender_birth_idx"),
            models.Index(fields=["postal_code"], name="patient_postal_code_idx"),
            models.Index(fields=["preferred_language"], name="patient_language_idx"),
        ]
        verbose_name = _("patient")
        verbose_name_plural = _("patients")

    def __str__(self) -> str:
        return f"{self.family_name.upper()}, {self.given_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


# Guardian object permissions with direct foreign keys: an indexed join instead of a generic
# relation over a text object_pk, which is what keeps "my patients" fast at a million rows.
class PatientUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Patient, on_delete=models.CASCADE)


class PatientGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Patient, on_delete=models.CASCADE)


class PatientListEntry(models.Model):
    """A patient on the list of a staff member who may open them through the care team: the grant
    (the guardian object permission `view_patient`), with the list's sort keys beside it.

    A care manager's list is their ~2,000 patients in name order. Read through the object
    permissions, every page looks up and sorts all of them (a primary-key probe each, and PostgreSQL
    cannot know that the grants of one user match that many patients); read from this table's
    (user, family name, given name, patient) index, the first page is its first 50 entries.

    An entry belongs to its grant (`grant`, deleted with it): whichever way a permission goes, its
    entry goes too, so the list never shows a patient the user may no longer open. The care-team
    services write the entry with the grant; the patient's write paths (update, erasure) keep the
    names in step.
    """

    grant = models.OneToOneField(PatientUserObjectPermission, on_delete=models.CASCADE, related_name="list_entry")
    # The grant's user and patient, copied when the entry is made (a grant never changes hands).
    # Indexed by the unique (user, patient) and the order index, which both begin with the user.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="list_entries")
    family_name = models.CharField(_("family name"), max_length=100)
    given_name = models.CharField(_("given name"), max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "patient"], name="patient_list_entry_unique")]
        indexes = [models.Index(fields=["user", "family_name", "given_name", "patient"], name="patient_list_entry_order_idx")]
        verbose_name = _("patient list entry")
        verbose_name_plural = _("patient list entries")

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name}"


class PatientIdentifier(models.Model):
    """A further identifier of the patient in another system (national id, EHR id, insurance)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="identifiers")
    system = models.CharField(_("system"), max_length=200, help_text=_("URI of the issuing system."))
    value = models.CharField(_("value"), max_length=100)
    use = models.CharField(
        _("use"),
        max_length=16,
        blank=True,
        choices=[("usual", _("Usual")), ("official", _("Official")), ("secondary", _("Secondary")), ("old", _("Old"))],
    )
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["system", "value"], name="patient_identifier_unique")]
        verbose_name = _("identifier")
        verbose_name_plural = _("identifiers")

    def __str__(self) -> str:
        return f"{self.system}|{self.value}"


class PatientContact(models.Model):
    """A person to contact about the patient: next of kin, emergency contact, guardian."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=200)
    relationship = models.CharField(
        _("relationship"),
        max_length=32,
        choices=[
            ("next_of_kin", _("Next of kin")),
            ("emergency", _("Emergency contact")),
            ("guardian", _("Legal guardian")),
            ("caregiver", _("Caregiver")),
        ],
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("contact person")
        verbose_name_plural = _("contact persons")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_relationship_display()})"


class CareTeamRole(models.TextChoices):
    CARE_MANAGER = "care_manager", _("Care manager")
    PROVIDER = "provider", _("Provider")
    NURSE = "nurse", _("Nurse")
    OTHER = "other", _("Other")


class CareTeamMember(models.Model):
    """A staff member on a patient's care team for a period. Being on it grants access to the patient."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_team")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="care_team_memberships", verbose_name=_("staff member")
    )
    role = models.CharField(_("role"), max_length=16, choices=CareTeamRole.choices)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("until"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "user", "role"],
                condition=Q(period_end__isnull=True),
                name="care_team_one_open_membership",
                violation_error_message=_("This person is already on the care team in this role."),
            ),
            models.CheckConstraint(
                condition=Q(period_end__isnull=True) | Q(period_end__gte=models.F("period_start")), name="care_team_period_order"
            ),
        ]
        indexes = [models.Index(fields=["user", "patient"], name="care_team_user_idx")]
        verbose_name = _("care team member")
        verbose_name_plural = _("care team members")

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()}"


class Coded(models.Model):
    """A code with its system: SNOMED CT, LOINC, RxNorm, ICD-10, CVX, ..."""

    code_system = models.CharField(_("code system"), max_length=200)
    code = models.CharField(_("code"), max_length=64)
    display = models.CharField(_("display"), max_length=300, blank=True)

    class Meta:
        abstract = True


class ClinicalFact(models.Model):
    """A fact received from an EHR/PAS. `source_system` + `source_id` make imports idempotent."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="%(class)ss")
    source_system = models.CharField(_("source system"), max_length=200, blank=True)
    source_id = models.CharField(_("source id"), max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(inherit=True)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "source_id"], condition=~Q(source_id=""), name="%(class)s_source_unique"
            ),
        ]


class EncounterClass(models.TextChoices):
    AMBULATORY = "AMB", _("Ambulatory")
    INPATIENT = "IMP", _("Inpatient")
    EMERGENCY = "EMER", _("Emergency")
    VIRTUAL = "VR", _("Virtual")
    HOME = "HH", _("Home health")
    OBSERVATION = "OBSENC", _("Observation")


class Encounter(ClinicalFact):
    """A contact with the hospital: visit, admission (period start) and discharge (period end)."""

    encounter_class = models.CharField(_("class"), max_length=8, choices=EncounterClass.choices)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=[(s, s) for s in ("planned", "arrived", "in-progress", "finished", "cancelled", "entered-in-error", "unknown")],
    )
    type_code = models.CharField(_("type code"), max_length=64, blank=True)
    type_display = models.CharField(_("type"), max_length=300, blank=True)
    period_start = models.DateTimeField(_("start"))
    period_end = models.DateTimeField(_("end"), null=True, blank=True)
    reason_system = models.CharField(_("reason code system"), max_length=200, blank=True)
    reason_code = models.CharField(_("reason code"), max_length=64, blank=True)
    reason_display = models.CharField(_("reason"), max_length=300, blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    service_provider = models.CharField(_("service provider"), max_length=200, blank=True)
    discharge_disposition = models.CharField(_("discharge disposition"), max_length=100, blank=True)

    class Meta(ClinicalFact.Meta):
        ordering = ["-period_start"]
        indexes = [
            models.Index(fields=["patient", "-period_start"], name="encounter_patient_idx"),
            models.Index(fields=["encounter_class", "period_start"], name="encounter_class_start_idx"),
            models.Index(fields=["encounter_class", "period_end"], name="encounter_class_end_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_encounter_class_display()} {self.period_start:%Y-%m-%d}"


class Condition(ClinicalFact, Coded):
    encounter = models.ForeignKey(Encounter, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    clinical_status = models.CharField(
        _("clinical status"),
        max_length=16,
        choices=[(s, s) for s in ("active", "recurrence", "relapse", "inactive", "remission", "resolved")],
    )
    verification_status = models.CharField(_("verification status"), max_length=20, blank=True)
    category = models.CharField(_("category"), max_length=32, blank=True)
    onset = models.DateTimeField(_("onset"), null=True, blank=True)
    abatement = models.DateTimeField(_("abatement"), null=True, blank=True)
    recorded_date = models.DateTimeField(_("recorded"), null=True, blank=True)

    class Meta(ClinicalFact.Meta):
        ordering = ["-onset"]
        indexes = [
            models.Index(fields=["code", "clinical_status"], name="condition_code_idx"),
            models.Index(fields=["patient", "clinical_status"], name="condition_patient_idx"),
        ]

    def __str__(self) -> str:
        return self.display or self.code


class Observation(ClinicalFact, Coded):
    """A measurement or finding: a quantity with its unit, a text/coded value, or components (BP)."""

    encounter = models.ForeignKey(Encounter, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    category = models.CharField(_("category"), max_length=32, blank=True, help_text=_("vital-signs, laboratory, survey, ..."))
    status = models.CharField(_("status"), max_length=16, default="final")
    value_quantity = models.DecimalField(_("value"), max_digits=14, decimal_places=4, null=True, blank=True)
    value_unit = models.CharField(_("unit"), max_length=32, blank=True)
    value_text = models.CharField(_("text value"), max_length=300, blank=True)
    components = models.JSONField(_("components"), default=list, blank=True)
    effective_at = models.DateTimeField(_("effective"))
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)

    class Meta(ClinicalFact.Meta):
        ordering = ["-effective_at"]
        indexes = [
            models.Index(fields=["patient", "code", "-effective_at"], name="observation_patient_code_idx"),
            models.Index(fields=["code", "effective_at"], name="observation_code_time_idx"),
        ]

    def __str__(self) -> str:
        value = f"{self.value_quantity} {self.value_unit}" if self.value_quantity is not None else self.value_text
        return f"{self.display or self.code}: {value}"


class MedicationRequest(ClinicalFact, Coded):
    encounter = models.ForeignKey(Encounter, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("status"), max_length=20)
    intent = models.CharField(_("intent"), max_length=20, default="order")
    authored_on = models.DateTimeField(_("authored on"), null=True, blank=True)
    dosage_text = models.CharField(_("dosage"), max_length=300, blank=True)

    class Meta(ClinicalFact.Meta):
        ordering = ["-authored_on"]
        indexes = [models.Index(fields=["code", "status"], name="medrequest_code_idx")]

    def __str__(self) -> str:
        return self.display or self.code


class AllergyIntolerance(ClinicalFact, Coded):
    clinical_status = models.CharField(_("clinical status"), max_length=16, blank=True)
    verification_status = models.CharField(_("verification status"), max_length=20, blank=True)
    category = models.CharField(_("category"), max_length=20, blank=True)
    criticality = models.CharField(_("criticality"), max_length=20, blank=True)
    recorded_date = models.DateTimeField(_("recorded"), null=True, blank=True)

    class Meta(ClinicalFact.Meta):
        ordering = ["-recorded_date", "-id"]
        verbose_name = _("allergy or intolerance")
        verbose_name_plural = _("allergies and intolerances")

    def __str__(self) -> str:
        return self.display or self.code


class Procedure(ClinicalFact, Coded):
    encounter = models.ForeignKey(Encounter, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("status"), max_length=20)
    performed_start = models.DateTimeField(_("performed from"), null=True, blank=True)
    performed_end = models.DateTimeField(_("performed until"), null=True, blank=True)

    class Meta(ClinicalFact.Meta):
        ordering = ["-performed_start"]
        indexes = [models.Index(fields=["code", "performed_start"], name="procedure_code_idx")]

    def __str__(self) -> str:
        return self.display or self.code


class Immunization(ClinicalFact, Coded):
    encounter = models.ForeignKey(Encounter, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("status"), max_length=20)
    occurrence = models.DateTimeField(_("occurrence"))

    class Meta(ClinicalFact.Meta):
        ordering = ["-occurrence"]

    def __str__(self) -> str:
        return self.display or self.code


class ClinicalNote(models.Model):
    """A note written by a clinician about a patient, reviewed later by a care manager."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="notes", verbose_name=_("patient"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author"))
    text = models.TextField(_("text"), max_length=20000)
    encounter = models.ForeignKey(
        Encounter, null=True, blank=True, on_delete=models.SET_NULL, related_name="notes", verbose_name=_("encounter")
    )
    created_at = models.DateTimeField(_("written on"), auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("reviewed by")
    )
    reviewed_at = models.DateTimeField(_("reviewed on"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="note_patient_idx"),
            models.Index(fields=["reviewed_at"], name="note_unreviewed_idx", condition=Q(reviewed_at__isnull=True)),
        ]
        verbose_name = _("clinical note")
        verbose_name_plural = _("clinical notes")

    def __str__(self) -> str:
        return f"{_('Note')} #{self.pk} ({self.created_at:%Y-%m-%d})" if self.created_at else str(_("New note"))


class AccessChannel(models.TextChoices):
    ADMIN = "admin", _("Admin")
    API = "api", _("REST API")
    FHIR = "fhir", _("FHIR API")
    PORTAL = "portal", _("Portal")
    STAFF_PAGES = "staff", _("Staff pages")
    TASK = "task", _("Background task")


class AccessAction(models.TextChoices):
    VIEW = "view", _("Read")
    EXPORT = "export", _("Export of the data")


class AccessLog(ChainedRecord):
    """One read of a patient's record. Append-only and hash-chained (audit.chain): a changed or
    deleted row is found by `manage.py verify_audit`."""

    CHAIN_NAME = "access_log"
    CHAIN_FIELDS = (
        "created_at",
        "actor",
        "actor_label",
        "patient",
        "action",
        "resource",
        "channel",
        "ip_address",
        "user_agent",
        "path",
    )

    created_at = models.DateTimeField(_("When"), default=timezone.now)
    # PROTECT: the actor's id is hashed into the chain; staff accounts are deactivated, never deleted.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(_("Who"), max_length=254, help_text=_("Who read, as they were named then."))
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="access_logs", verbose_name=_("Patient"))
    action = models.CharField(_("What was done"), max_length=32, choices=AccessAction.choices)
    resource = models.CharField(max_length=64, help_text=_("What was read: record, notes, observations, export, ..."))
    channel = models.CharField(_("Channel"), max_length=16, choices=AccessChannel.choices)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    path = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="access_patient_idx"),
            models.Index(fields=["actor", "-created_at"], name="access_actor_idx"),
            models.Index(fields=["-created_at"], name="access_time_idx"),
        ]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")

    def __str__(self) -> str:
        # In words, as the access-log admin titles a row: what was read, of whom, when.
        from .access import access_resource_label

        return f"{access_resource_label(self.resource)} — {self.patient} — {self.created_at:%Y-%m-%d %H:%M}"
