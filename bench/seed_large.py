#!/usr/bin/env python
"""Build a large Salus data set on PostgreSQL: N fr/en/it patients with encounters, conditions and observations.

Rows are generated in Python, chunk by chunk, and loaded with COPY into the real tables with every index,
constraint and deferred foreign-key check in place. Every patient has one care manager on their care team
(a care-team row, the guardian object permissions the care team grants and an entry on the care
manager's list), so a care manager sees about --patients-per-care-manager patients, as in a hospital
where every patient is followed.

The same generated text is then COPYed into UNLOGGED tables of the same columns with no index, no
constraint and no NOT NULL: the physical limit of loading these bytes on this server. Both rates are
printed side by side with the generation time, so the cost of generation, indexes, constraints and
WAL is visible.

Re-runnable: the patient tables are emptied first (TRUNCATE ... CASCADE), the bench users are reused.
The history tables (django-simple-history) are not filled: the list and search endpoints never read them.

    .venv/bin/python bench/seed_large.py --patients 1000000 --facts-per-patient 10
"""

import argparse
import datetime as dt
import os
import random
import sys
import time
import unicodedata
from dataclasses import dataclass, field

import names as n
from _common import (
    FRONT_DESK_EMAIL,
    care_manager_email,
    code_revision,
    database_name,
    ensure_database_exists,
    load_average,
    psycopg_connect,
    require_bench_database,
    server_description,
    setup_django,
)

SOURCE_SYSTEM = "urn:salus:bench:ehr"
# Shares of --facts-per-patient.
FACT_SHARES = {"encounters": 0.3, "conditions": 0.2, "observations": 0.5}

TABLES = {
    "patients_patient": [
        "id",
        "mrn",
        "given_name",
        "family_name",
        "birth_date",
        "gender",
        "email",
        "phone",
        "address_line",
        "postal_code",
        "city",
        "country",
        "preferred_language",
        "preferred_channel",
        "time_zone",
        "active",
        "deceased",
        "deceased_at",
        "created_at",
        "updated_at",
        "user_id",
    ],
    "patients_careteammember": ["id", "role", "period_start", "period_end", "user_id", "patient_id"],
    "patients_patientuserobjectpermission": ["id", "content_object_id", "permission_id", "user_id"],
    "patients_patientlistentry": ["id", "grant_id", "user_id", "patient_id", "family_name", "given_name"],
    "patients_encounter": [
        "id",
        "source_system",
        "source_id",
        "created_at",
        "updated_at",
        "encounter_class",
        "status",
        "type_code",
        "type_display",
        "period_start",
        "period_end",
        "reason_system",
        "reason_code",
        "reason_display",
        "location",
        "service_provider",
        "discharge_disposition",
        "patient_id",
    ],
    "patients_condition": [
        "id",
        "code_system",
        "code",
        "display",
        "source_system",
        "source_id",
        "created_at",
        "updated_at",
        "clinical_status",
        "verification_status",
        "category",
        "onset",
        "abatement",
        "recorded_date",
        "encounter_id",
        "patient_id",
    ],
    "patients_observation": [
        "id",
        "code_system",
        "code",
        "display",
        "source_system",
        "source_id",
        "created_at",
        "updated_at",
        "category",
        "status",
        "value_quantity",
        "value_unit",
        "value_text",
        "components",
        "effective_at",
        "issued_at",
        "encounter_id",
        "patient_id",
    ],
}


def raw_table(table: str) -> str:
    return f"bench_raw_{table}"


@dataclass
class Timings:
    generate: float = 0.0
    copy: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TABLES, 0.0))
    commit: float = 0.0
    raw_copy: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TABLES, 0.0))
    raw_commit: float = 0.0
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    nbytes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isalnum()).lower()


def _zipf_pool(rng: random.Random, items: list, size: int = 1 << 16, exponent: float = 0.9) -> list:
    """A lookup pool in which item k appears in proportion to 1/(k+1)^exponent: a few names are very common."""
    weights = [1 / (k + 1) ** exponent for k in range(len(items))]
    return rng.choices(items, weights=weights, k=size)


class Generator:
    """Generates COPY text (tab-separated, one row a line) for a range of patients and their facts."""

    POOL = 1 << 16

    def __init__(
        self, *, seed: int, facts_per_patient: float, care_managers: list[int], permission_ids: list[int], view_permission_id: int
    ):
        from demo import clinical as c

        self.rng = random.Random(seed)
        rng = self.rng
        self.means = {kind: facts_per_patient * share for kind, share in FACT_SHARES.items()}
        self.care_managers = care_managers
        self.permission_ids = permission_ids
        self.view_permission_id = view_permission_id
        self.now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S+00")
        today = dt.date.today()
        # Day strings, index 0 = today, going back 100 years.
        self.days = [(today - dt.timedelta(days=i)).isoformat() for i in range(366 * 100)]
        self.times = [f"{h:02d}:{m:02d}:00+00" for h in range(7, 20) for m in range(0, 60, 5)]
        pool = self.POOL
        self.langs = []
        for lang, family, given_f, given_m, streets, cities, country, tz in (
            ("fr", n.FR_FAMILY, n.FR_GIVEN_F, n.FR_GIVEN_M, n.FR_STREETS, n.FR_CITIES, "FR", "Europe/Paris"),
            ("en", n.EN_FAMILY, n.EN_GIVEN_F, n.EN_GIVEN_M, n.EN_STREETS, n.EN_CITIES, "GB", "Europe/London"),
            ("it", n.IT_FAMILY, n.IT_GIVEN_F, n.IT_GIVEN_M, n.IT_STREETS, n.IT_CITIES, "IT", "Europe/Rome"),
        ):
            self.langs.append(
                {
                    "lang": lang,
                    # With exponent 0.5 the most frequent family name is about 14 times as frequent as
                    # the 200th, the order of magnitude of French, British and Italian name statistics.
                    "family": _zipf_pool(rng, family, pool, 0.5),
                    "given_f": _zipf_pool(rng, given_f, pool, 0.7),
                    "given_m": _zipf_pool(rng, given_m, pool, 0.7),
                    "streets": _zipf_pool(rng, streets, pool, 0.5),
                    "cities": _zipf_pool(rng, cities, pool, 0.7),
                    "country": country,
                    "tz": tz,
                }
            )
        self.ascii = {name: _ascii(name) for name in {*n.FR_FAMILY, *n.EN_FAMILY, *n.IT_FAMILY}}
        self.ascii.update({name: _ascii(name) for name in {*n.FR_GIVEN_F, *n.FR_GIVEN_M, *n.EN_GIVEN_F, *n.EN_GIVEN_M}})
        self.ascii.update({name: _ascii(name) for name in {*n.IT_GIVEN_F, *n.IT_GIVEN_M}})
        # fr 40 %, en 30 %, it 30 %
        self.lang_pool = rng.choices(self.langs, weights=[40, 30, 30], k=pool)
        self.channel_pool = rng.choices(["email", "sms", "post", "portal"], weights=[55, 30, 10, 5], k=pool)
        self.snomed, self.loinc = c.SNOMED, c.LOINC
        conditions = [
            *c.CONDITIONS,
            ("73211009", "Diabetes mellitus"),
            ("49436004", "Atrial fibrillation"),
            ("709044004", "Chronic kidney disease"),
            ("396275006", "Osteoarthritis"),
            ("69896004", "Rheumatoid arthritis"),
            ("40055000", "Chronic sinusitis"),
            ("22298006", "Myocardial infarction"),
            ("230690007", "Cerebrovascular accident"),
            ("40930008", "Hypothyroidism"),
            ("197480006", "Anxiety disorder"),
            ("26929004", "Alzheimer's disease"),
            ("64859006", "Osteoporosis"),
            ("414545008", "Ischemic heart disease"),
            ("271737000", "Anemia"),
            ("68566005", "Urinary tract infectious disease"),
            ("233604007", "Pneumonia"),
            ("444814009", "Viral sinusitis"),
            ("10509002", "Acute bronchitis"),
        ]
        self.condition_pool = _zipf_pool(rng, conditions, pool, 0.6)
        # code, display, unit, low, high, decimals, category
        labs = [
            (*c.HBA1C, "laboratory"),
            ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", 140, 280, 0, "laboratory"),
            ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.6, 1.8, 2, "laboratory"),
            ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 10, 17, 1, "laboratory"),
        ]
        vitals = [
            *((*v, "vital-signs") for v in c.VITALS),
            ("8302-2", "Body height", "cm", 150, 195, 0, "vital-signs"),
            ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", 18, 40, 1, "vital-signs"),
            ("8310-5", "Body temperature", "Cel", 36.0, 39.5, 1, "vital-signs"),
        ]
        self.observation_pool = rng.choices([*vitals, *labs, "bp"], weights=[3] * len(vitals) + [2] * len(labs) + [6], k=pool)
        self.bp_code, self.bp_display = c.BLOOD_PRESSURE
        self.bp_components = (
            f'[{{"code_system": "{c.LOINC}", "code": "{c.SYSTOLIC[0]}", "display": "{c.SYSTOLIC[1]}", '
            '"value": %d, "unit": "mm[Hg]"}, '
            f'{{"code_system": "{c.LOINC}", "code": "{c.DIASTOLIC[0]}", "display": "{c.DIASTOLIC[1]}", '
            '"value": %d, "unit": "mm[Hg]"}]'
        )
        # class, type code, type display, weight
        encounter_types = [
            ("AMB", "185349003", "Encounter for check up", 40),
            ("AMB", "185347001", "Encounter for problem", 25),
            ("AMB", "390906007", "Follow-up encounter", 10),
            ("EMER", "50849002", "Emergency room admission", 10),
            ("IMP", "32485007", "Hospital admission", 8),
            ("VR", "448337001", "Telemedicine consultation with patient", 7),
        ]
        self.encounter_pool = rng.choices(encounter_types, weights=[t[3] for t in encounter_types], k=pool)
        self.locations = {
            "fr": ("Hôpital Saint-Louis", "Consultations externes", "Clinique du Parc"),
            "en": ("St Mary's Hospital", "Outpatients Department", "Royal Infirmary"),
            "it": ("Ospedale San Raffaele", "Ambulatorio", "Policlinico Gemelli"),
        }
        self.next_id = dict.fromkeys(TABLES, 1)

    def chunk(self, first_patient: int, count: int) -> dict[str, tuple[bytes, int]]:
        """COPY text and row count per table for patients first_patient .. first_patient + count - 1."""
        rnd = self.rng.random
        pool = self.POOL
        days, times, now = self.days, self.times, self.now
        n_times = len(times)
        asc = self.ascii
        out: dict[str, list[str]] = {t: [] for t in TABLES}
        patients, care_team, perms, entries = (
            out["patients_patient"],
            out["patients_careteammember"],
            out["patients_patientuserobjectpermission"],
            out["patients_patientlistentry"],
        )
        encounters, conditions, observations = out["patients_encounter"], out["patients_condition"], out["patients_observation"]
        ids = self.next_id
        m_enc, m_cond, m_obs = (2 * self.means[k] + 1 for k in ("encounters", "conditions", "observations"))
        care_managers, n_cm = self.care_managers, len(self.care_managers)
        snomed, loinc, src = self.snomed, self.loinc, SOURCE_SYSTEM
        for pid in range(first_patient, first_patient + count):
            lg = self.lang_pool[int(rnd() * pool)]
            lang = lg["lang"]
            r = rnd()
            if r < 0.505:
                gender, given = "female", lg["given_f"][int(rnd() * pool)]
            elif r < 0.995:
                gender, given = "male", lg["given_m"][int(rnd() * pool)]
            else:
                gender, given = (
                    ("other" if r < 0.997 else "unknown"),
                    lg["given_f" if rnd() < 0.5 else "given_m"][int(rnd() * pool)],
                )
            family = lg["family"][int(rnd() * pool)]
            birth = days[int(rnd() * 95 * 365)]
            email = f"{asc[given]}.{asc[family]}{pid % 1000}@example.org" if rnd() < 0.85 else ""
            city, code = lg["cities"][int(rnd() * pool)]
            street = lg["streets"][int(rnd() * pool)]
            number = 1 + int(rnd() * 180)
            if lang == "fr":
                phone = f"+33 6 39 98 {int(rnd() * 100):02d} {int(rnd() * 100):02d}"
                address, postal = f"{number} {street}", code
            elif lang == "en":
                phone = f"+44 7700 900{int(rnd() * 1000):03d}"
                address = f"{number} {street}"
                postal = f"{code} {1 + int(rnd() * 9)}{'ABDEFGHJLNPQRSTUWXYZ'[int(rnd() * 20)]}{'ABDEFGHJLNPQRSTUWXYZ'[int(rnd() * 20)]}"
            else:
                phone = f"+39 3{int(rnd() * 100):02d} {int(rnd() * 10_000_000):07d}"
                address, postal = f"{street} {number}", code
            deceased = rnd() < 0.01
            deceased_at = f"{days[int(rnd() * 700)]} {times[int(rnd() * n_times)]}" if deceased else "\\N"
            patients.append(
                f"{pid}\tSAL{pid:08d}\t{given}\t{family}\t{birth}\t{gender}\t{email}\t{phone}\t{address}\t{postal}\t{city}\t"
                f"{lg['country']}\t{lang}\t{self.channel_pool[int(rnd() * pool)]}\t{lg['tz']}\t"
                f"{'f' if deceased or rnd() < 0.02 else 't'}\t{'t' if deceased else 'f'}\t{deceased_at}\t{now}\t{now}\t\\N\n"
            )
            # One care manager per patient; the care team grants the guardian object permissions.
            cm = care_managers[int(rnd() * n_cm)]
            care_team.append(f"{ids['patients_careteammember']}\tcare_manager\t{days[int(rnd() * 1000)]}\t\\N\t{cm}\t{pid}\n")
            ids["patients_careteammember"] += 1
            for perm in self.permission_ids:
                grant = ids["patients_patientuserobjectpermission"]
                perms.append(f"{grant}\t{pid}\t{perm}\t{cm}\n")
                ids["patients_patientuserobjectpermission"] += 1
                if perm == self.view_permission_id:
                    # The view grant puts the patient on the care manager's list (PatientListEntry).
                    entries.append(f"{ids['patients_patientlistentry']}\t{grant}\t{cm}\t{pid}\t{family}\t{given}\n")
                    ids["patients_patientlistentry"] += 1
            # Encounters: (id, day index, time index)
            mine = []
            location, department, clinic = self.locations[lang]
            for _ in range(int(rnd() * m_enc)):
                eid = ids["patients_encounter"]
                ids["patients_encounter"] += 1
                cls, type_code, type_display, _w = self.encounter_pool[int(rnd() * pool)]
                d, t = int(rnd() * 1825), int(rnd() * (n_times - 40))
                start = f"{days[d]} {times[t]}"
                status = "finished"
                if cls == "IMP":
                    end_day = d - 1 - int(rnd() * 9)
                    place, disposition = location, "home"
                    if end_day >= 0:
                        end = f"{days[end_day]} {times[int(rnd() * n_times)]}"
                    else:  # still in hospital
                        end, status, disposition = "\\N", "in-progress", ""
                elif cls == "EMER":
                    end, place, disposition = f"{days[d]} {times[t + 36]}", location, ""
                else:
                    end, place, disposition = f"{days[d]} {times[t + 6]}", (department if cls == "AMB" else clinic), ""
                encounters.append(
                    f"{eid}\t{src}\tenc-{eid}\t{now}\t{now}\t{cls}\t{status}\t{type_code}\t{type_display}\t{start}\t{end}\t"
                    f"\t\t\t{place}\t{location}\t{disposition}\t{pid}\n"
                )
                mine.append((eid, d, t))
            for _ in range(int(rnd() * m_cond)):
                cid = ids["patients_condition"]
                ids["patients_condition"] += 1
                code, display = self.condition_pool[int(rnd() * pool)]
                onset_day = 60 + int(rnd() * 3600)
                onset = f"{days[onset_day]} {times[int(rnd() * n_times)]}"
                r = rnd()
                status = "active" if r < 0.75 else ("resolved" if r < 0.9 else "inactive")
                abatement = f"{days[max(onset_day - 30 - int(rnd() * 300), 0)]} 00:00:00+00" if status == "resolved" else "\\N"
                if mine and rnd() < 0.5:
                    encounter, category = mine[int(rnd() * len(mine))][0], "encounter-diagnosis"
                else:
                    encounter, category = "\\N", "problem-list-item"
                conditions.append(
                    f"{cid}\t{snomed}\t{code}\t{display}\t{src}\tcond-{cid}\t{now}\t{now}\t{status}\tconfirmed\t"
                    f"{category}\t{onset}\t{abatement}\t{onset}\t{encounter}\t{pid}\n"
                )
            for _ in range(int(rnd() * m_obs)):
                oid = ids["patients_observation"]
                ids["patients_observation"] += 1
                if mine:
                    encounter, d, t = mine[int(rnd() * len(mine))]
                    at = f"{days[d]} {times[t + 1]}"
                else:
                    encounter, at = "\\N", f"{days[int(rnd() * 1825)]} {times[int(rnd() * n_times)]}"
                kind = self.observation_pool[int(rnd() * pool)]
                if kind == "bp":
                    components = self.bp_components % (105 + int(rnd() * 70), 60 + int(rnd() * 45))
                    observations.append(
                        f"{oid}\t{loinc}\t{self.bp_code}\t{self.bp_display}\t{src}\tobs-{oid}\t{now}\t{now}\tvital-signs\tfinal\t"
                        f"\\N\t\t\t{components}\t{at}\t{at}\t{encounter}\t{pid}\n"
                    )
                else:
                    code, display, unit, low, high, decimals, category = kind
                    value = f"{low + rnd() * (high - low):.{decimals}f}"
                    observations.append(
                        f"{oid}\t{loinc}\t{code}\t{display}\t{src}\tobs-{oid}\t{now}\t{now}\t{category}\tfinal\t"
                        f"{value}\t{unit}\t\t[]\t{at}\t{at}\t{encounter}\t{pid}\n"
                    )
        return {table: ("".join(lines).encode(), len(lines)) for table, lines in out.items()}


def _users(n_care_managers: int):
    """The front-desk user and the care managers, created through the account service (reused when present)."""
    from django.db import transaction

    from accounts.models import User
    from accounts.roles import Role
    from accounts.services import user_create
    from core.actors import SystemActor

    wanted = [(FRONT_DESK_EMAIL, Role.FRONT_DESK, "Fay", "Frontdesk")]
    wanted += [(care_manager_email(k), Role.CARE_MANAGER, "Carla", f"Manager {k:04d}") for k in range(n_care_managers)]
    existing = {u.email: u for u in User.objects.filter(email__in=[w[0] for w in wanted])}
    with transaction.atomic():
        for email, role, first, last in wanted:
            if email not in existing:
                existing[email] = user_create(
                    actor=SystemActor("bench seed"), email=email, password=None, role=role, first_name=first, last_name=last
                )
    return existing[FRONT_DESK_EMAIL], [existing[care_manager_email(k)].pk for k in range(n_care_managers)]


def _fmt_rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument(
        "--facts-per-patient",
        type=float,
        default=10,
        help="Average clinical facts per patient: 30%% encounters, 20%% conditions, 50%% observations (default 10).",
    )
    parser.add_argument("--patients-per-care-manager", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=20_000, help="Patients per COPY transaction (default 20000).")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--no-baseline", action="store_true", help="Skip the raw COPY baseline.")
    parser.add_argument(
        "--allow-any-database", action="store_true", help="Empty the patient tables even if the name lacks 'bench'."
    )
    args = parser.parse_args()

    wall = time.perf_counter()
    load_at_start = load_average()
    setup_django()
    revision = code_revision()
    require_bench_database(args.allow_any_database)
    ensure_database_exists()
    from django.contrib.auth.models import Permission
    from django.core.management import call_command
    from tqdm import tqdm

    from patients.permissions import CARE_TEAM_OBJECT_PERMISSIONS

    t = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    migrate_s = time.perf_counter() - t

    conn = psycopg_connect(autocommit=True)
    t = time.perf_counter()
    conn.execute("SET client_min_messages = warning")
    conn.execute("TRUNCATE patients_patient RESTART IDENTITY CASCADE")
    truncate_s = time.perf_counter() - t

    t = time.perf_counter()
    n_cm = max(1, -(-args.patients // args.patients_per_care_manager))
    front_desk, care_managers = _users(n_cm)
    permission_ids = [
        Permission.objects.get(content_type__app_label="patients", codename=codename).pk
        for codename in CARE_TEAM_OBJECT_PERMISSIONS["care_manager"]
    ]
    view_permission_id = Permission.objects.get(content_type__app_label="patients", codename="view_patient").pk
    users_s = time.perf_counter() - t

    baseline = not args.no_baseline
    if baseline:
        for table, columns in TABLES.items():
            conn.execute(f"DROP TABLE IF EXISTS {raw_table(table)}")
            # CREATE TABLE AS keeps the column types and nothing else: no index, no constraint, no NOT NULL.
            conn.execute(f"CREATE UNLOGGED TABLE {raw_table(table)} AS SELECT {', '.join(columns)} FROM {table} WITH NO DATA")

    gen = Generator(
        seed=args.seed,
        facts_per_patient=args.facts_per_patient,
        care_managers=care_managers,
        permission_ids=permission_ids,
        view_permission_id=view_permission_id,
    )
    tm = Timings()
    conn.autocommit = False
    cur = conn.cursor()
    print(
        f"Seeding {args.patients:,} patients, {args.facts_per_patient:g} facts per patient on average, "
        f"{n_cm} care managers, into {database_name()} ({args.chunk:,} patients per transaction)."
    )
    with tqdm(total=args.patients, unit="patient", unit_scale=True, smoothing=0.1) as bar:
        for first in range(1, args.patients + 1, args.chunk):
            count = min(args.chunk, args.patients + 1 - first)
            t = time.perf_counter()
            data = gen.chunk(first, count)
            tm.generate += time.perf_counter() - t
            for table, columns in TABLES.items():
                text, rows = data[table]
                tm.rows[table] += rows
                tm.nbytes[table] += len(text)
                t = time.perf_counter()
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    copy.write(text)
                tm.copy[table] += time.perf_counter() - t
            t = time.perf_counter()
            conn.commit()  # the deferred foreign-key checks of the chunk run here
            tm.commit += time.perf_counter() - t
            if baseline:
                for table, columns in TABLES.items():
                    t = time.perf_counter()
                    with cur.copy(f"COPY {raw_table(table)} ({', '.join(columns)}) FROM STDIN") as copy:
                        copy.write(data[table][0])
                    tm.raw_copy[table] += time.perf_counter() - t
                t = time.perf_counter()
                conn.commit()
                tm.raw_commit += time.perf_counter() - t
            bar.update(count)
    conn.autocommit = True

    for table in TABLES:
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))")
    if baseline:
        raw_sizes = {
            table: conn.execute("SELECT pg_total_relation_size(%s)", [raw_table(table)]).fetchone()[0] for table in TABLES
        }
        for table in TABLES:
            conn.execute(f"DROP TABLE {raw_table(table)}")
    # VACUUM as well as ANALYZE: it sets the visibility map, so the API figures do not depend on
    # whether autovacuum has passed yet (index-only scans, counts).
    t = time.perf_counter()
    for table in TABLES:
        conn.execute(f"VACUUM (ANALYZE) {table}")
    vacuum_s = time.perf_counter() - t
    sizes = {table: conn.execute("SELECT pg_total_relation_size(%s)", [table]).fetchone()[0] for table in TABLES}
    conn.close()
    wall = time.perf_counter() - wall

    total_rows = sum(tm.rows.values())
    copy_s = sum(tm.copy.values())
    raw_s = sum(tm.raw_copy.values()) + tm.raw_commit
    print()
    for key, value in {**server_description(), "code": revision}.items():
        print(f"{key:>20}: {value}")
    print(f"{'load average':>20}: {load_at_start} at the start, {load_average()} at the end ({os.cpu_count()} CPUs)")
    print()
    header = f"{'table':<38} {'rows':>12} {'MiB text':>9} {'COPY s':>8} {'rows/s':>10} {'size MiB':>9}"
    if baseline:
        header += f" {'raw COPY s':>10} {'raw rows/s':>11} {'raw MiB':>8}"
    print(header)
    for table in TABLES:
        line = (
            f"{table:<38} {tm.rows[table]:>12,} {tm.nbytes[table] / 2**20:>9,.0f} {tm.copy[table]:>8.1f} "
            f"{_fmt_rate(tm.rows[table], tm.copy[table]):>10} {sizes[table] / 2**20:>9,.0f}"
        )
        if baseline:
            line += (
                f" {tm.raw_copy[table]:>10.1f} {_fmt_rate(tm.rows[table], tm.raw_copy[table]):>11}"
                f" {raw_sizes[table] / 2**20:>8,.0f}"
            )
        print(line)
    print(f"{'commit (deferred foreign-key checks)':<38} {'':>12} {'':>9} {tm.commit:>8.1f}", end="")
    print(f" {'':>10} {'':>9} {tm.raw_commit:>10.1f}" if baseline else "")
    print()
    seed_s = tm.generate + copy_s + tm.commit
    print(f"Rows loaded:                     {total_rows:,} ({sum(tm.nbytes.values()) / 2**20:,.0f} MiB of COPY text)")
    print(f"Generation (Python):             {tm.generate:8.1f} s  {_fmt_rate(total_rows, tm.generate):>10} rows/s")
    print(f"COPY into the real tables:       {copy_s + tm.commit:8.1f} s  {_fmt_rate(total_rows, copy_s + tm.commit):>10} rows/s")
    print(f"Seed (generation + COPY):        {seed_s:8.1f} s  {_fmt_rate(total_rows, seed_s):>10} rows/s")
    if baseline:
        print(f"Baseline: raw COPY, same rows:   {raw_s:8.1f} s  {_fmt_rate(total_rows, raw_s):>10} rows/s", end="")
        print("  (UNLOGGED, no index, no constraint)")
        print(f"Seed / baseline:                 {seed_s / raw_s:8.1f} x the time of the raw COPY")
    print(
        f"Other steps: migrate {migrate_s:.1f} s, truncate {truncate_s:.1f} s, users {users_s:.1f} s, "
        f"VACUUM ANALYZE {vacuum_s:.1f} s; wall clock {wall:.1f} s."
    )
    print(f"Bench users: {care_manager_email(0)} (care manager of {args.patients_per_care_manager:,} patients on average),")
    print(f"             {front_desk.email} (front desk, sees every patient).")


if __name__ == "__main__":
    sys.exit(main())
