"""Seed a realistic demo: one user per role and N fr/en/it patients with clinical facts."""

import datetime as dt
import random
import unicodedata
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from faker import Faker
from simple_history.utils import bulk_create_with_history
from tqdm import tqdm

from accounts.roles import Role
from accounts.services import user_create
from audit.chain import chain_append
from consent.models import Purpose
from consent.services import consent_sign, consent_template_version_create, consent_withdraw
from core.actors import SystemActor
from demo import clinical as c
from demo.consent_texts import TEMPLATES
from demo.scheduling import seed_scheduling
from notifications.services import outbox_history_settle, outbox_nudges_held
from patients.models import (
    AccessLog,
    AllergyIntolerance,
    Condition,
    Encounter,
    Immunization,
    MedicationRequest,
    Observation,
    Patient,
    Procedure,
)
from patients.services import care_team_member_add, clinical_note_create, patient_create, patient_link_user
from privacy.services import privacy_erasure_request

# The accounts are opened by the seed itself (no administrator exists before it runs); the record
# writes are made as the demo administrator and staff, whose logins the seed prints.
SEED = SystemActor("demo seed")
DEMO_PASSWORD = "salus-demo-2026"  # noqa: S105 - printed for the demo, never used in production
DEMO_USERS = [
    # email, first, last, role
    ("admin@salus.example", "Ada", "Laurent", Role.ADMINISTRATOR),
    ("alice@salus.example", "Alice", "Martin", Role.CARE_MANAGER),
    ("bob@salus.example", "Bob", "Rossi", Role.CARE_MANAGER),
    ("paula@salus.example", "Paula", "Moreau", Role.PROVIDER),
    ("marco@salus.example", "Marco", "Ferri", Role.PROVIDER),
    ("claire@salus.example", "Claire", "Petit", Role.PROVIDER),
    ("fay@salus.example", "Fay", "Dubois", Role.FRONT_DESK),
    ("olga@salus.example", "Olga", "Bianchi", Role.OUTREACH),
    ("evan@salus.example", "Evan", "Clarke", Role.EVENT_PLANNER),
]
DEMO_PATIENTS = [
    ("paul@salus.example", "Paul", "Lefèvre", "fr", dt.date(1958, 3, 14), "male"),
    ("petra@salus.example", "Petra", "Colombo", "it", dt.date(1971, 9, 2), "female"),
]
LOCALES = [
    ("fr", "fr_FR", "FR", "Europe/Paris", 0.4),
    ("en", "en_GB", "GB", "Europe/London", 0.3),
    ("it", "it_IT", "IT", "Europe/Rome", 0.3),
]


class Command(BaseCommand):
    help = "Create demo users (one per role), N patients with clinical facts and care teams, and a clinic's schedule."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=200, help="How many patients (default 200).")
        parser.add_argument("--seed", type=int, default=20261127, help="Random seed, for a repeatable demo.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when patients already exist.")

    def handle(self, *args, **options):
        # Every row the seed writes to the outbox is settled here, at the end: no worker is nudged.
        with outbox_nudges_held():
            self._seed(**options)

    def _seed(self, *, patients: int, seed: int, if_empty: bool, **options):
        if patients < 2:
            raise CommandError("--patients must be at least 2 (the two demo portal patients).")
        if if_empty and Patient.objects.exists():
            self.stdout.write("Demo data already present; nothing to do.")
            self._print_logins()
            return
        if get_user_model().objects.filter(email=DEMO_USERS[0][0]).exists():
            raise CommandError("Demo users already exist. Use a fresh database, or --if-empty.")
        self.rng = random.Random(seed)
        Faker.seed(seed)
        self.fakers = {lang: Faker(loc) for lang, loc, *_ in LOCALES}
        self.now = timezone.now()
        with transaction.atomic():
            staff = self._users()
            self._consent_templates(staff["admin@salus.example"])
        created = []
        with tqdm(total=patients, desc="Patients", unit="patient", disable=options.get("verbosity", 1) == 0) as bar:
            for i in range(patients):
                with transaction.atomic():
                    created.append(self._patient(i, staff))
                bar.update()
        self._access_trail(created, staff)
        # A clinic, services, practitioners with their week, and visits today and in the coming days.
        visits = seed_scheduling(staff=staff, patients=created, now=self.now, rng=self.rng)
        # One erasure request waiting for an administrator's decision (Privacy requests in the admin).
        with transaction.atomic():
            privacy_erasure_request(
                actor=staff["fay@salus.example"],
                patient=created[-1],
                channel="admin",
                reason="Asked at the front desk to have their data erased after moving abroad.",
            )
        # The seed replays a clinic's past: what it wrote to the outbox was delivered at the time.
        # In-app notifications and events are delivered now, emails and SMS recorded as sent; what
        # is still to come (reminders, messages planned for later) stays for the worker.
        settled = outbox_history_settle(actor=SEED, created_before=timezone.now())
        counts = {
            m.__name__: m.objects.count()
            for m in (Encounter, Condition, Observation, MedicationRequest, AllergyIntolerance, Procedure, Immunization)
        }
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {len(created)} patients: "
                + ", ".join(f"{v} {k}" for k, v in counts.items())
                + f"; {visits} appointments (paula@salus.example has today's queue); "
                + f"past messages settled: {settled['delivered']} delivered in the app, "
                + f"{settled['recorded_as_sent']} recorded as sent"
            )
        )
        self._print_logins()

    # --- users ------------------------------------------------------------------------------
    def _users(self):
        users = {}
        for email, first, last, role in DEMO_USERS:
            users[email] = user_create(
                actor=SEED, email=email, password=DEMO_PASSWORD, role=role, first_name=first, last_name=last, email_verified=True
            )
        return users

    def _print_logins(self):
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD})")
        for email, first, last, role in DEMO_USERS:
            self.stdout.write(f"  {role.value:<14} {email:<24} {first} {last}")
        for email, first, last, *_ in DEMO_PATIENTS:
            self.stdout.write(f"  {'patient':<14} {email:<24} {first} {last}")

    # --- patients ---------------------------------------------------------------------------
    def _patient(self, i: int, staff):
        rng = self.rng
        admin = staff["admin@salus.example"]
        if i < len(DEMO_PATIENTS):
            email, given, family, lang, birth, gender = DEMO_PATIENTS[i]
            fake = self.fakers[lang]
        else:
            lang = rng.choices([loc[0] for loc in LOCALES], weights=[loc[4] for loc in LOCALES])[0]
            fake = self.fakers[lang]
            gender = rng.choice(["male", "female", "female", "male", "other"] if rng.random() < 0.02 else ["male", "female"])
            given = (
                fake.first_name_male()
                if gender == "male"
                else fake.first_name_female()
                if gender == "female"
                else fake.first_name()
            )
            family = fake.last_name()
            birth = fake.date_of_birth(minimum_age=18, maximum_age=92)
            local = unicodedata.normalize("NFKD", f"{given}.{family}.{i}").encode("ascii", "ignore").decode()
            email = "".join(ch for ch in local.lower() if ch.isalnum() or ch == ".") + "@example.org"
        loc = next(x for x in LOCALES if x[0] == lang)
        patient = patient_create(
            actor=admin,
            data={
                "mrn": f"MRN{100000 + i}",
                "given_name": given,
                "family_name": family,
                "birth_date": birth,
                "gender": gender,
                "email": email,
                "phone": fake.phone_number()[:32],
                "address_line": fake.street_address()[:200],
                "postal_code": fake.postcode()[:20],
                "city": fake.city()[:100],
                "country": loc[2],
                "preferred_language": lang,
                "preferred_channel": rng.choice(["email", "email", "sms", "portal", "post"]),
                "time_zone": loc[3],
            },
        )
        if i < len(DEMO_PATIENTS):
            user = user_create(
                actor=SEED,
                email=email,
                password=DEMO_PASSWORD,
                role=Role.PATIENT,
                first_name=given,
                last_name=family,
                preferred_language=lang,
                email_verified=True,
            )
            patient_link_user(actor=admin, patient=patient, user=user)
        # Care teams: Alice has the even patients, Bob the odd ones; Paula sees every third.
        manager = staff["alice@salus.example"] if i % 2 == 0 else staff["bob@salus.example"]
        care_team_member_add(
            actor=admin,
            patient=patient,
            user=manager,
            role="care_manager",
            period_start=(self.now - dt.timedelta(days=rng.randint(10, 400))).date(),
        )
        if i % 3 == 0:
            care_team_member_add(actor=admin, patient=patient, user=staff["paula@salus.example"], role="provider")
        self._facts(patient, admin)
        self._consents(patient, i, staff)
        if rng.random() < 0.3 or i < len(DEMO_PATIENTS):
            clinical_note_create(
                actor=staff["paula@salus.example"] if i % 3 == 0 else admin, patient=patient, text=rng.choice(NOTES)
            )
        return patient

    # --- consents and the audit trail -------------------------------------------------------
    def _consent_templates(self, admin):
        effective = (self.now - dt.timedelta(days=365)).date()
        for purpose, wording in TEMPLATES.items():
            consent_template_version_create(
                actor=admin, purpose=purpose, effective_from=effective, titles=wording["title"], texts=wording["text"]
            )

    CONSENT_ODDS = {
        Purpose.TREATMENT: 0.6,
        Purpose.VIRTUAL_VISIT: 0.35,
        Purpose.PORTAL_TERMS: 0.3,
        Purpose.MARKETING_EMAIL: 0.3,
        Purpose.MARKETING_SMS: 0.15,
        Purpose.DATA_SHARING: 0.15,
        Purpose.RESEARCH: 0.08,
    }

    def _consents(self, patient, i, staff):
        rng = self.rng
        portal_patient = i < len(DEMO_PATIENTS)
        for purpose, odds in self.CONSENT_ODDS.items():
            if portal_patient and purpose in (Purpose.TREATMENT, Purpose.PORTAL_TERMS, Purpose.MARKETING_EMAIL):
                pass  # the demo portal patients have a few consents to look at
            elif rng.random() >= odds:
                continue
            if portal_patient:
                actor, method, witness = patient.user, "portal", None
            else:
                actor = staff["fay@salus.example"]
                method = rng.choice(["in_person", "in_person", "api"])
                witness = actor if method == "in_person" else None
            consent = consent_sign(
                actor=actor,
                patient=patient,
                purpose=purpose,
                method=method,
                witness=witness,
                signer_name=patient.full_name,
                ip_address=f"192.0.2.{rng.randint(2, 250)}" if method == "portal" else None,
                user_agent="Mozilla/5.0 (demo)",
            )
            if purpose.value.startswith("marketing") and rng.random() < 0.2:
                consent_withdraw(actor=actor, consent=consent, reason="No longer interested")

    def _access_trail(self, patients, staff):
        """A few weeks of reads by the care teams and the front desk, in time order (one hash chain)."""
        rng = self.rng
        readers = [staff[e] for e in ("alice@salus.example", "bob@salus.example", "paula@salus.example", "fay@salus.example")]
        reads = []
        for patient in patients:
            team = [m.user for m in patient.care_team.all()] or readers[-1:]
            for _ in range(rng.randint(1, 6)):
                who = rng.choice([*team, readers[-1]])
                at = self.now - dt.timedelta(days=rng.randint(1, 28), minutes=rng.randint(0, 600))
                resource = rng.choice(["record", "record", "notes", "observations", "conditions", "care_team"])
                reads.append((at, who, patient, resource, rng.choice(["admin", "admin", "api"])))
        for at, who, patient, resource, channel in sorted(reads, key=lambda r: r[0]):
            chain_append(
                AccessLog(
                    created_at=at,
                    actor=who,
                    actor_label=who.email,
                    patient=patient,
                    action="view",
                    resource=resource,
                    channel=channel,
                    ip_address=f"10.20.{rng.randint(0, 9)}.{rng.randint(2, 250)}",
                    user_agent="Mozilla/5.0 (Windows NT 10.0) Firefox/135.0" if channel == "admin" else "salus-client/1.4",
                    path=f"/admin/patients/patient/{patient.pk}/change/"
                    if channel == "admin"
                    else f"/api/v1/patients/{patient.pk}/",
                )
            )

    def _facts(self, patient, actor):
        rng, now = self.rng, self.now
        encounters = []
        for _ in range(rng.randint(2, 6)):
            start = now - dt.timedelta(days=rng.randint(1, 720), hours=rng.randint(0, 10))
            cls = rng.choices(["AMB", "IMP", "EMER", "VR"], weights=[60, 15, 10, 15])[0]
            end = start + (
                dt.timedelta(days=rng.randint(1, 9)) if cls == "IMP" else dt.timedelta(minutes=rng.choice([20, 30, 45]))
            )
            encounters.append(
                Encounter(
                    patient=patient,
                    encounter_class=cls,
                    status="finished",
                    period_start=start,
                    period_end=end,
                    type_display={
                        "AMB": "General examination",
                        "IMP": "Hospital admission",
                        "EMER": "Emergency room admission",
                        "VR": "Video consultation",
                    }[cls],
                    location=rng.choice(
                        ["Hôpital Saint-Louis", "Ospedale San Raffaele", "St Mary's Hospital", "Clinique du Parc"]
                    ),
                    discharge_disposition="home" if cls == "IMP" else "",
                )
            )
        bulk_create_with_history(encounters, Encounter, default_user=actor)
        conditions, meds = [], []
        for code, display in rng.sample(c.CONDITIONS, rng.randint(1, 3)):
            onset = now - dt.timedelta(days=rng.randint(60, 3650))
            status = rng.choices(["active", "resolved"], weights=[85, 15])[0]
            conditions.append(
                Condition(
                    patient=patient,
                    code_system=c.SNOMED,
                    code=code,
                    display=display,
                    clinical_status=status,
                    verification_status="confirmed",
                    category="problem-list-item",
                    onset=onset,
                    abatement=onset + dt.timedelta(days=200) if status == "resolved" else None,
                    recorded_date=onset,
                )
            )
            if code in c.MEDICATIONS and status == "active":
                rx, rx_display, dosage = c.MEDICATIONS[code]
                meds.append(
                    MedicationRequest(
                        patient=patient,
                        code_system=c.RXNORM,
                        code=rx,
                        display=rx_display,
                        status="active",
                        authored_on=onset + dt.timedelta(days=3),
                        dosage_text=dosage,
                    )
                )
        bulk_create_with_history(conditions, Condition, default_user=actor)
        bulk_create_with_history(meds, MedicationRequest, default_user=actor)
        observations = []
        diabetic = any(x.code == "44054006" for x in conditions)
        for k in range(rng.randint(3, 8)):
            at = now - dt.timedelta(days=k * rng.randint(20, 60), hours=rng.randint(0, 12))
            for code, display, unit, low, high, decimals in c.VITALS:
                value = round(Decimal(str(rng.uniform(low, high))), decimals)
                observations.append(
                    Observation(
                        patient=patient,
                        code_system=c.LOINC,
                        code=code,
                        display=display,
                        category="vital-signs",
                        value_quantity=value,
                        value_unit=unit,
                        effective_at=at,
                    )
                )
            sys_, dia = rng.randint(105, 175), rng.randint(60, 105)
            observations.append(
                Observation(
                    patient=patient,
                    code_system=c.LOINC,
                    code=c.BLOOD_PRESSURE[0],
                    display=c.BLOOD_PRESSURE[1],
                    category="vital-signs",
                    effective_at=at,
                    components=[
                        {
                            "code_system": c.LOINC,
                            "code": c.SYSTOLIC[0],
                            "display": c.SYSTOLIC[1],
                            "value": sys_,
                            "unit": "mm[Hg]",
                        },
                        {
                            "code_system": c.LOINC,
                            "code": c.DIASTOLIC[0],
                            "display": c.DIASTOLIC[1],
                            "value": dia,
                            "unit": "mm[Hg]",
                        },
                    ],
                )
            )
            if diabetic:
                code, display, unit, low, high, decimals = c.HBA1C
                observations.append(
                    Observation(
                        patient=patient,
                        code_system=c.LOINC,
                        code=code,
                        display=display,
                        category="laboratory",
                        value_quantity=round(Decimal(str(rng.uniform(low, high))), decimals),
                        value_unit=unit,
                        effective_at=at,
                    )
                )
        bulk_create_with_history(observations, Observation, default_user=actor)
        if rng.random() < 0.35:
            code, display, category, criticality = rng.choice(c.ALLERGIES)
            bulk_create_with_history(
                [
                    AllergyIntolerance(
                        patient=patient,
                        code_system=c.SNOMED,
                        code=code,
                        display=display,
                        clinical_status="active",
                        verification_status="confirmed",
                        category=category,
                        criticality=criticality,
                        recorded_date=now - dt.timedelta(days=rng.randint(100, 3000)),
                    )
                ],
                AllergyIntolerance,
                default_user=actor,
            )
        if rng.random() < 0.3:
            code, display = rng.choice(c.PROCEDURES)
            start = now - dt.timedelta(days=rng.randint(30, 2000))
            bulk_create_with_history(
                [
                    Procedure(
                        patient=patient,
                        code_system=c.SNOMED,
                        code=code,
                        display=display,
                        status="completed",
                        performed_start=start,
                        performed_end=start + dt.timedelta(hours=2),
                    )
                ],
                Procedure,
                default_user=actor,
            )
        bulk_create_with_history(
            [
                Immunization(
                    patient=patient,
                    code_system=c.CVX,
                    code=code,
                    display=display,
                    status="completed",
                    occurrence=now - dt.timedelta(days=rng.randint(10, 1500)),
                )
                for code, display in rng.sample(c.IMMUNIZATIONS, rng.randint(1, 2))
            ],
            Immunization,
            default_user=actor,
        )


NOTES = [
    "Patient reports better glucose control since the dose change. Continue current plan; review HbA1c in 3 months.",
    "Shortness of breath on exertion, ankle oedema +. Weight up 2 kg in a week. Discussed fluid restriction; follow up in 7 days.",
    "Telephone follow-up after discharge: pain controlled, wound clean, no fever. Knows whom to call.",
    "Blood pressure remains above target at home. Adherence good. Consider adding a second agent at the next visit.",
    "Inhaler technique reviewed; symptoms improving. Action plan updated and given to the patient.",
]
