#!/usr/bin/env python
"""Concurrent booking through `appointment_book` on PostgreSQL, beside bare INSERTs against the same exclusion constraint.

Threads, each with its own database connection, are released together by a barrier and make
`--attempts` booking attempts each on the same `--slots` slots of one practitioner, all threads
walking the slots in the same order: every slot is fought over by every thread at about the same
moment. Each attempt is a different patient. The attempts go through the whole booking service as
the portal, admin and API call it (permission check, slot computation from weekly hours, the insert
guarded by the exclusion constraint, reminder rows, outbox event and both confirmation emails with
their iCalendar invitations, the post-commit publish to the broker).

The baseline runs the same attempts, from the same number of threads, as single bare INSERT
statements through psycopg (autocommit, no Django) on a second practitioner with the same slots:
the database's own cost of deciding the race. Two overlapping inserts in flight can wait for each
other while PostgreSQL checks the exclusion constraint; it then aborts one with a deadlock error
after `deadlock_timeout`. A third run does what `appointment_book` does against that: each INSERT
in a transaction that first takes an advisory lock on the practitioner and one on the patient, so
that the constraint only ever meets committed rows.

Before them, one thread books the free slots of a fourth practitioner one after the other: the
latency of a booking without contention.

Each run books for its own patients and its own practitioner, so that the runs do not meet on the
patient constraint.

Then, in SQL, every pair of holding appointments of one practitioner (or one patient) whose time
ranges overlap is counted with a self-join (`tstzrange(...) && tstzrange(...)`): it must be zero.

The script uses its own database (default `salus_bench_booking`, created and migrated if missing)
and empties its appointment and outbox tables at the start. The broker is a file-system broker in a
temporary folder that nothing reads, so the demo's queue is left alone.

    .venv/bin/python bench/booking.py --threads 20 --attempts 50 --slots 50 --markdown /tmp/booking.md
"""

import argparse
import datetime as dt
import functools
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from _common import ROOT, code_revision, load_average, percentile, psycopg_connect, server_description

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/salus_bench_booking"
FRONT_DESK = "bench-booking-front-desk@bench.salus.test"
PRACTITIONERS = {
    "django": ("bench-booking-paula@bench.salus.test", "Dr Paula Bench"),
    "bare": ("bench-booking-piet@bench.salus.test", "Dr Piet Bench"),
    "locked": ("bench-booking-lena@bench.salus.test", "Dr Lena Bench"),
    "warmup": ("bench-booking-wanda@bench.salus.test", "Dr Wanda Bench"),
}
PHASES = ("django", "bare", "locked")
# Namespaces of the advisory locks of the "locked" variant (key = namespace * 2**40 + id).
LOCK_PRACTITIONER, LOCK_PATIENT = 1, 2
HOLDING = ["booked", "arrived", "fulfilled"]
SLOT_MINUTES = 30


@dataclass
class Phase:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    by_outcome_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)
    wall_s: float = 0.0
    deadlocks: int = 0
    lock = threading.Lock()

    def record(self, outcome: str, elapsed_ms: float, cpu_ms: float, error: str = "") -> None:
        with self.lock:
            self.latencies_ms.append(elapsed_ms)
            self.cpu_ms.append(cpu_ms)
            self.outcomes[outcome] += 1
            self.by_outcome_ms.setdefault(outcome, []).append(elapsed_ms)
            if error:
                self.errors[error] += 1


def _setup(database_url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", database_url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    # Bookings publish their outbox rows after commit: to a private file-system broker nobody reads.
    os.environ.pop("REDIS_URL", None)
    os.environ["SALUS_VAR_DIR"] = tempfile.mkdtemp(prefix="salus-bench-booking-")
    from _common import ensure_database_exists, require_bench_database, setup_django

    setup_django()
    require_bench_database(allow_any=False)
    ensure_database_exists()


def _first_free_week(today: dt.date) -> dt.date:
    """A Monday at least a week ahead: every slot of that week is in the future."""
    return today + dt.timedelta(days=7 + (7 - today.weekday()) % 7)


def _data(slots_wanted: int, attempts: int):
    """Users, a service, practitioners with weekly hours holding `slots_wanted` slots in one week, and one
    patient per attempt of each run (index 0 for the warm-up booking)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from accounts.roles import Role
    from accounts.services import user_create
    from core.actors import SystemActor
    from patients.models import Patient
    from scheduling.availability import slots_free_many
    from scheduling.models import Practitioner, Service, WeeklyHours

    with connection.cursor() as cur:
        cur.execute("SET client_min_messages = warning")
        cur.execute(
            "TRUNCATE scheduling_appointmentreminder, scheduling_historicalappointment, scheduling_appointment, "
            "notifications_notification, notifications_outboxitem RESTART IDENTITY CASCADE"
        )
    per_day = -(-slots_wanted // 5)
    hours_per_day = per_day * SLOT_MINUTES / 60
    if hours_per_day > 15:
        raise SystemExit("Too many slots for one week of weekday hours (at most 150).")
    with transaction.atomic():
        front_desk = User.objects.filter(email=FRONT_DESK).first() or user_create(
            actor=SystemActor("bench seed"),
            email=FRONT_DESK,
            password=None,
            role=Role.FRONT_DESK,
            first_name="Fay",
            last_name="Bench",
        )
        service, _ = Service.objects.update_or_create(
            code="bench-consult",
            defaults={"name_en": "Bench consultation", "duration_minutes": SLOT_MINUTES, "virtual_allowed": True},
        )
        practitioners = {}
        for key, (email, name) in PRACTITIONERS.items():
            user = User.objects.filter(email=email).first() or user_create(
                actor=SystemActor("bench seed"),
                email=email,
                password=None,
                role=Role.PROVIDER,
                first_name=name.split()[1],
                last_name="Bench",
            )
            practitioner, _ = Practitioner.objects.update_or_create(
                user=user, defaults={"display_name": name, "specialty": "General practice", "languages": ["en", "fr"]}
            )
            practitioner.services.set([service])
            practitioner.weekly_hours.all().delete()
            start = dt.datetime.combine(dt.date.today(), dt.time(8))
            for weekday in range(5):
                WeeklyHours.objects.create(
                    practitioner=practitioner,
                    weekday=weekday,
                    start_time=start.time(),
                    end_time=(start + dt.timedelta(minutes=per_day * SLOT_MINUTES)).time(),
                )
            practitioners[key] = practitioner
        existing = Patient.objects.filter(mrn__startswith="BENCH-BOOK-").count()
        Patient.objects.bulk_create(
            [
                Patient(
                    mrn=f"BENCH-BOOK-{n:06d}",
                    given_name="Bench",
                    family_name=f"Patient {n:06d}",
                    birth_date=dt.date(1970, 1, 1) + dt.timedelta(days=n),
                    email=f"bench-patient-{n:06d}@example.org",
                    preferred_language=("en", "fr", "it")[n % 3],
                )
                for n in range(existing, len(PHASES) * attempts + 1)
            ]
        )
    patients = list(Patient.objects.filter(mrn__startswith="BENCH-BOOK-").order_by("mrn").values_list("pk", flat=True))
    monday = _first_free_week(timezone.localdate())
    tz = timezone.get_current_timezone()
    week = (
        dt.datetime.combine(monday, dt.time(0), tzinfo=tz),
        dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), tzinfo=tz),
    )
    free = slots_free_many(
        practitioners=practitioners.values(), service=service, start=week[0], end=week[1], enforce_booking_window=False
    )
    slots = {key: [s for s in free if s.practitioner_id == p.pk][:slots_wanted] for key, p in practitioners.items()}
    starts = {key: [s.start for s in found] for key, found in slots.items()}
    if len(starts["django"]) != slots_wanted or any(starts[key] != starts["django"] for key in PHASES):
        raise SystemExit(f"Expected {slots_wanted} free slots for each practitioner, found {len(slots['django'])}.")
    return front_desk, service, practitioners, slots, patients


def _plan(threads: int, attempts: int, slots: list, run: int) -> list[list[tuple[int, int]]]:
    """(slot index, patient index) per attempt of each thread: thread t tries slot k at its k-th
    attempt; each run has its own patients."""
    first = 1 + run * threads * attempts
    return [[(k % len(slots), first + t * attempts + k) for k in range(attempts)] for t in range(threads)]


def _run_threads(threads: int, body, progress) -> float:
    barrier = threading.Barrier(threads + 1)
    failures: list[BaseException] = []

    def run(t: int) -> None:
        try:
            body(t, barrier)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
            barrier.abort()

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    barrier.wait()
    start = time.perf_counter()
    for w in workers:
        w.join()
    wall = time.perf_counter() - start
    progress.close()
    if failures:
        raise failures[0]
    return wall


def _deadlocks(cur) -> int:
    # Statistics reach the shared counters within a second of a transaction's end.
    time.sleep(1.5)
    cur.execute("SELECT pg_stat_clear_snapshot()")
    return cur.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]


def _django_phase(args, front_desk, service, practitioner, slots, patients, plan, bar) -> Phase:
    from django.db import connection
    from django.utils import translation

    from accounts.models import User
    from patients.models import Patient
    from scheduling.models import Practitioner, Service
    from scheduling.services import BookingConflict, appointment_book

    phase = Phase("appointment_book (Django)")

    def body(t: int, barrier) -> None:
        try:
            with translation.override("en"):
                actor = User.objects.get(pk=front_desk.pk)
                me = Practitioner.objects.get(pk=practitioner.pk)
                svc = Service.objects.get(pk=service.pk)
                mine = {p.pk: p for p in Patient.objects.filter(pk__in=[patients[i] for _s, i in plan[t]])}
                barrier.wait()
                for slot_index, patient_index in plan[t]:
                    patient = mine[patients[patient_index]]
                    cpu, start = time.thread_time(), time.perf_counter()
                    outcome, error = "booked", ""
                    try:
                        appointment_book(
                            actor=actor,
                            patient=patient,
                            practitioner=me,
                            service=svc,
                            start=slots[slot_index].start,
                            virtual=True,
                            channel="admin",
                        )
                    except BookingConflict:
                        outcome = "conflict"
                    except Exception as exc:  # noqa: BLE001 - counted: must stay at zero
                        outcome, error = "error", f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                    phase.record(outcome, (time.perf_counter() - start) * 1000, (time.thread_time() - cpu) * 1000, error)
                    bar.update()
        finally:
            connection.close()

    phase.wall_s = _run_threads(args.threads, body, bar)
    return phase


INSERT = """
INSERT INTO scheduling_appointment (
    patient_id, practitioner_id, service_id, location_id, start, "end", status, virtual, reason,
    booked_by_id, booked_via, booked_at, contact_phone, contact_email, insurance_provider,
    insurance_member_id, payment_reference, intake_answers, video_room, sequence, cancel_reason
) VALUES (%s, %s, %s, NULL, %s, %s, 'booked', true, '', %s, 'admin', now(), '', '', '', '', '', '{}', %s, 0, '')
"""


LOCKS = "SELECT pg_advisory_xact_lock(%s), pg_advisory_xact_lock(%s)"


def _bare_phase(args, front_desk, service, practitioner, slots, patients, plan, bar, *, locked: bool = False) -> Phase:
    import secrets

    import psycopg

    phase = Phase("bare INSERT after advisory locks (psycopg)" if locked else "bare INSERT (psycopg)")

    def body(t: int, barrier) -> None:
        with psycopg_connect(autocommit=True) as conn:
            cur = conn.cursor()
            barrier.wait()
            for slot_index, patient_index in plan[t]:
                slot = slots[slot_index]
                patient_id = patients[patient_index]
                params = [
                    patient_id,
                    practitioner.pk,
                    service.pk,
                    slot.start,
                    slot.end,
                    front_desk.pk,
                    f"salus-{secrets.token_urlsafe(24)}",
                ]
                cpu, start = time.thread_time(), time.perf_counter()
                outcome, error = "booked", ""
                try:
                    if locked:
                        # Practitioner first, then patient: every booking takes them in this order.
                        with conn.transaction():
                            cur.execute(LOCKS, [LOCK_PRACTITIONER * 2**40 + practitioner.pk, LOCK_PATIENT * 2**40 + patient_id])
                            cur.execute(INSERT, params)
                    else:
                        cur.execute(INSERT, params)
                except psycopg.errors.ExclusionViolation:
                    outcome = "conflict"
                except psycopg.errors.DeadlockDetected:
                    outcome, error = "deadlock", "DeadlockDetected"
                except psycopg.Error as exc:
                    outcome, error = "error", f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                phase.record(outcome, (time.perf_counter() - start) * 1000, (time.thread_time() - cpu) * 1000, error)
                bar.update()

    phase.wall_s = _run_threads(args.threads, body, bar)
    return phase


def _overlaps(cur) -> int:
    return cur.execute(
        """
        SELECT count(*) FROM scheduling_appointment a
        JOIN scheduling_appointment b ON a.id < b.id
         AND (a.practitioner_id = b.practitioner_id OR a.patient_id = b.patient_id)
         AND tstzrange(a.start, a."end", '[)') && tstzrange(b.start, b."end", '[)')
        WHERE a.status = ANY(%s) AND b.status = ANY(%s)
        """,
        [HOLDING, HOLDING],
    ).fetchone()[0]


def _per_slot(cur, practitioner_id: int) -> Counter:
    rows = cur.execute(
        "SELECT start, count(*) FROM scheduling_appointment WHERE practitioner_id = %s AND status = ANY(%s) GROUP BY start",
        [practitioner_id, HOLDING],
    ).fetchall()
    return Counter(n for _start, n in rows)


def _statements_per_booking(front_desk, service, practitioner, slot, patient_id) -> int:
    """The SQL statements of one booking (on the warm-up practitioner, outside the measured slots)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from patients.models import Patient
    from scheduling.services import appointment_book

    with CaptureQueriesContext(connection) as ctx:
        appointment_book(
            actor=front_desk,
            patient=Patient.objects.get(pk=patient_id),
            practitioner=practitioner,
            service=service,
            start=slot.start,
            virtual=True,
            channel="admin",
        )
    return len(ctx.captured_queries)


def _serial_phase(front_desk, service, practitioner, slots, patient_id) -> Phase:
    """One thread booking free slots one after the other: a booking's own latency, without contention."""
    from django.utils import translation

    from patients.models import Patient
    from scheduling.services import appointment_book

    phase = Phase("appointment_book, 1 thread, no contention")
    patient = Patient.objects.get(pk=patient_id)
    start_all = time.perf_counter()
    with translation.override("en"):
        for slot in slots:
            cpu, start = time.thread_time(), time.perf_counter()
            appointment_book(
                actor=front_desk,
                patient=patient,
                practitioner=practitioner,
                service=service,
                start=slot.start,
                virtual=True,
                channel="admin",
            )
            phase.record("booked", (time.perf_counter() - start) * 1000, (time.thread_time() - cpu) * 1000)
    phase.wall_s = time.perf_counter() - start_all
    return phase


def _ms(values: list[float], pct: float) -> str:
    return f"{percentile(values, pct):.1f} ms" if values else "—"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--attempts", type=int, default=50, help="Booking attempts per thread (default 50).")
    parser.add_argument("--slots", type=int, default=50, help="Free slots of the practitioner (default 50).")
    parser.add_argument("--markdown", help="Also write the results as Markdown to this file.")
    args = parser.parse_args()
    if args.threads < 1 or args.attempts < 1 or not 1 <= args.slots <= 150:
        raise SystemExit("--threads and --attempts must be positive, --slots between 1 and 150.")

    load_at_start = load_average()
    _setup(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    revision = code_revision()
    from django.core.management import call_command
    from django.db import connection
    from tqdm import tqdm

    t = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"Database {connection.settings_dict['NAME']} migrated in {time.perf_counter() - t:.1f} s.")
    total = args.threads * args.attempts
    front_desk, service, practitioners, slots, patients = _data(args.slots, total)
    bare = psycopg_connect(autocommit=True)
    cur = bare.cursor()
    statements = _statements_per_booking(front_desk, service, practitioners["warmup"], slots["warmup"][0], patients[0])
    print(
        f"{total:,} booking attempts ({args.threads} threads × {args.attempts}) on {args.slots} slots of "
        f"{SLOT_MINUTES} min, one patient per attempt; every thread tries the slots in the same order."
    )
    print(f"One booking through appointment_book runs {statements} SQL statements.")

    serial = _serial_phase(front_desk, service, practitioners["warmup"], slots["warmup"][1:], patients[0])
    print(f"Uncontended: {len(serial.latencies_ms)} bookings one after the other, p50 {_ms(serial.latencies_ms, 50)}.")
    phases = []
    runs = {"django": _django_phase, "bare": _bare_phase, "locked": functools.partial(_bare_phase, locked=True)}
    for number, (key, run) in enumerate(runs.items()):
        plan = _plan(args.threads, args.attempts, slots[key], number)
        before = _deadlocks(cur)
        bar = tqdm(total=total, desc=f"{key:>6}", unit="attempt")
        phase = run(args, front_desk, service, practitioners[key], slots[key], patients, plan, bar)
        phase.deadlocks = _deadlocks(cur) - before
        phases.append((key, phase))

    overlaps = _overlaps(cur)
    deadlock_timeout = cur.execute("SHOW deadlock_timeout").fetchone()[0]
    per_slot = {key: _per_slot(cur, practitioners[key].pk) for key, _ in phases}
    bare.close()

    header = (
        "| path | attempts | booked | conflicts | deadlock errors | other errors | deadlocks detected by PostgreSQL "
        "| p50 | p95 | p99 | max | booked p95 | conflict p95 | Python CPU per attempt (p50) | wall clock | attempts/s |"
    )
    lines = [header, "|---|" + "---:|" * 15]
    for _key, p in [("serial", serial), *phases]:
        other = sum(n for outcome, n in p.outcomes.items() if outcome not in ("booked", "conflict", "deadlock"))
        lines.append(
            f"| {p.name} | {len(p.latencies_ms):,} | {p.outcomes['booked']} | {p.outcomes['conflict']} "
            f"| {p.outcomes['deadlock']} | {other} "
            f"| {p.deadlocks} | {_ms(p.latencies_ms, 50)} | {_ms(p.latencies_ms, 95)} | {_ms(p.latencies_ms, 99)} "
            f"| {max(p.latencies_ms):.1f} ms | {_ms(p.by_outcome_ms.get('booked', []), 95)} "
            f"| {_ms(p.by_outcome_ms.get('conflict', []), 95)} | {_ms(p.cpu_ms, 50)} | {p.wall_s:.1f} s "
            f"| {len(p.latencies_ms) / p.wall_s:,.0f} |"
        )
    checks = []
    django = dict(phases)["django"]
    ok = True
    for key, p in phases:
        slots_once = per_slot[key] == Counter({1: args.slots}) if args.slots <= total else None
        checks.append(
            f"- {p.name}: {p.outcomes['booked']} booked of {args.slots} slots"
            f" ({'each slot booked once' if slots_once else 'NOT each slot once: ' + str(dict(per_slot[key]))})"
        )
        ok &= bool(slots_once) and p.outcomes["booked"] == min(args.slots, total)
    for key, p in phases:
        for error, n in p.errors.most_common():
            checks.append(f"- {key}: error ×{n}: {error}")
    ok &= not django.errors and overlaps == 0
    checks.append(f"- overlapping holding appointments (SQL self-join on tstzrange &&): {overlaps}")
    checks.append(f"- appointment_book errors other than a conflict: {sum(django.errors.values())}")

    description = {**server_description(), "code": revision}
    description["postgresql settings"] += f", deadlock_timeout={deadlock_timeout}"
    description["load average"] = f"{load_at_start} at the start, {load_average()} at the end"
    report = [
        "## Concurrent booking",
        "",
        f"{total:,} attempts from {args.threads} threads (each its own connection, released by a barrier) on "
        f"{args.slots} slots of one practitioner; {statements} SQL statements per booking. Times per attempt.",
        "",
        *lines,
        "",
        *checks,
        "",
        "### Machine",
        "",
        *(f"- {k}: {v}" for k, v in description.items()),
        "",
    ]
    print()
    print("\n".join(report))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write("\n".join(report))
    if not ok:
        raise SystemExit("FAILED: the booking guarantees did not hold (see above).")


if __name__ == "__main__":
    sys.exit(main())
