#!/usr/bin/env python
"""Latency of the patient list and search API through the real Django stack, beside the same SQL run bare.

Each request goes through the whole stack in process: DRF's APIClient (no HTTP server, no socket),
URL routing, every middleware, token authentication, the role and permission checks, the selector
(guardian object permissions for care managers), django-filter, pagination (COUNT, then the page) and
JSON rendering.

The SQL statements each request issued are captured once (CaptureQueriesContext), exactly as sent,
then replayed through a bare psycopg cursor on a connection with the same parameters (no prepared
statements, autocommit, every row fetched). Django and the bare replay alternate request by request,
so both see the same cache and the same background load. The difference is the time spent in Python:
Django, DRF, guardian, django-filter, serialization.

EXPLAIN (ANALYZE, BUFFERS) is printed for the patient statements of the slowest request of each case,
with a warning for every sequential scan of a large table and every scan that discards many rows.

    .venv/bin/python bench/api.py --requests 200 --markdown /tmp/api.md
"""

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from _common import (
    FRONT_DESK_EMAIL,
    care_manager_email,
    code_revision,
    load_average,
    percentile,
    psycopg_connect,
    server_description,
    setup_django,
)

LIST_URL = "/api/v1/patients/"
LARGE_TABLE_ROWS = 100_000
# A scan that discards this many rows in a filter, or reads this many rows, is flagged like a sequential scan.
FILTERED_ROWS = 10_000
READ_ROWS = 100_000


@dataclass
class Case:
    name: str
    user: object
    urls: list[str]
    django_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    bare_ms: list[float] = field(default_factory=list)
    count_ms: list[float] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)
    matched: list[int] = field(default_factory=list)
    capped: int = 0
    statements: dict[str, list[str]] = field(default_factory=dict)


def _kind(sql: str) -> str:
    """Which part of the request a statement is: the patient COUNT, the patient page, or the rest.

    The COUNT is an exact `SELECT COUNT(*) AS "__count" FROM "patients_patient" ...` or a capped
    `SELECT COUNT(*) FROM (SELECT ... LIMIT n) subquery`; a search page may be a UNION ALL of SELECTs."""
    if sql.startswith("SELECT COUNT(*)") and '"patients_patient"' in sql:
        return "count"
    if sql.lstrip("(").startswith('SELECT "patients_patient"."id"') and " LIMIT " in sql:
        return "page"
    return "other"


def _client(user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    token, _ = Token.objects.get_or_create(user=user)
    return APIClient(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_HOST="localhost")


def _sample(cur, sql: str, params, k: int, rng: random.Random) -> list:
    rows = [r[0] for r in cur.execute(sql, params).fetchall()]
    if not rows:
        raise SystemExit(f"No data for: {sql}")
    return [rows[int(rng.random() * len(rows))] for _ in range(k)]


def _cases(n: int, rng: random.Random, bare) -> list[Case]:
    from accounts.models import User

    front_desk = User.objects.get(email=FRONT_DESK_EMAIL)
    care_manager = User.objects.get(email=care_manager_email(0))
    cur = bare.cursor()
    max_id = cur.execute("SELECT MAX(id) FROM patients_patient").fetchone()[0]
    ids = [1 + int(rng.random() * max_id) for _ in range(n * 3)]
    people = cur.execute(
        "SELECT family_name, mrn, birth_date, given_name FROM patients_patient WHERE id = ANY(%s) ORDER BY id", [ids]
    ).fetchall()
    rng.shuffle(people)
    # A front-desk agent types the first letters of the family name, in lower case.
    prefixes = [f[:4].lower() for f, _m, _b, _g in people if " " not in f[:4]][:n]
    # ... or of the family name, then of the given name ("dubo mar").
    both = [f"{f[:4]} {g[:3]}".lower() for f, _m, _b, g in people if " " not in f[:4] + g[:3]][:n]
    mrns = [m for _f, m, _b, _g in people][:n]
    births = [b.isoformat() for _f, _m, b, _g in people][:n]
    mine = _sample(
        cur,
        "SELECT p.family_name FROM patients_patient p JOIN patients_careteammember c ON c.patient_id = p.id "
        "WHERE c.user_id = %s AND c.period_end IS NULL ORDER BY p.id",
        [care_manager.pk],
        n,
        rng,
    )
    cm_prefixes = [f[:3].lower() for f in mine]

    def q(term):
        return f"{LIST_URL}?{urlencode({'q': term})}"

    return [
        Case("front desk: list, page 1", front_desk, [LIST_URL] * n),
        Case("front desk: family-name prefix (4 letters)", front_desk, [q(p) for p in prefixes]),
        Case("front desk: family and given prefixes (4 + 3 letters)", front_desk, [q(b) for b in both]),
        Case("front desk: list, page 30 (rows 1,451-1,500)", front_desk, [f"{LIST_URL}?page=30"] * n),
        Case("front desk: MRN", front_desk, [q(m) for m in mrns]),
        Case("front desk: birth date", front_desk, [q(b) for b in births]),
        Case("care manager: list, page 1", care_manager, [LIST_URL] * n),
        Case("care manager: family-name prefix (3 letters)", care_manager, [q(p) for p in cm_prefixes]),
    ]


def _capture(client, url: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
    return [q["sql"] for q in ctx.captured_queries]


def _run(case: Case, cur, warmup: int) -> None:
    client = _client(case.user)
    for url in dict.fromkeys(case.urls):
        case.statements[url] = _capture(client, url)
    for url in case.urls[:warmup]:
        client.get(url)
        for sql in case.statements[url]:
            cur.execute(sql)
            cur.fetchall()
    for url in case.urls:
        cpu, start = time.process_time(), time.perf_counter()
        response = client.get(url)
        case.django_ms.append((time.perf_counter() - start) * 1000)
        case.cpu_ms.append((time.process_time() - cpu) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        body = json.loads(response.content)
        case.matched.append(body["count"])
        case.capped += body.get("count_is_exact", True) is False
        total = 0.0
        for sql in case.statements[url]:
            start = time.perf_counter()
            cur.execute(sql)
            cur.fetchall()
            elapsed = (time.perf_counter() - start) * 1000
            total += elapsed
            kind = _kind(sql)
            if kind == "count":
                case.count_ms.append(elapsed)
            elif kind == "page":
                case.page_ms.append(elapsed)
        case.bare_ms.append(total)


def _large_tables(cur) -> set[str]:
    rows = cur.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace AND reltuples >= %s",
        [LARGE_TABLE_ROWS],
    ).fetchall()
    return {r[0] for r in rows}


def _full_scans(plan: dict, large: set[str]) -> list[str]:
    """Sequential scans of large tables, and any scan that reads most of a table or throws many rows away."""
    found = []
    node, relation = plan.get("Node Type", ""), plan.get("Relation Name")
    loops = plan.get("Actual Loops", 1) or 1
    read = (plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)) * loops
    removed = plan.get("Rows Removed by Filter", 0) * loops
    parallel = "Parallel " if plan.get("Parallel Aware") else ""
    index = f" using {plan['Index Name']}" if plan.get("Index Name") else ""
    if relation in large and (node == "Seq Scan" or removed >= FILTERED_ROWS or read >= READ_ROWS):
        found.append(f"{parallel}{node} on {relation}{index}: {read:,} rows read, {removed:,} removed by a filter")
    for child in plan.get("Plans", []):
        found += _full_scans(child, large)
    return found


def _slowest(case: Case) -> str:
    return case.urls[max(range(len(case.urls)), key=lambda i: case.bare_ms[i])]


def _explain(case: Case, cur, large: set[str]) -> list[tuple[str, str, list[str]]]:
    """The plans of the request whose bare SQL was slowest: the worst case is the one to explain."""
    url = _slowest(case)
    out = []
    for sql in case.statements[url]:
        if _kind(sql) == "other":
            continue
        text = "\n".join(r[0] for r in cur.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").fetchall())
        plan = cur.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}").fetchone()[0][0]["Plan"]
        out.append((sql, text, _full_scans(plan, large)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="Timed requests per case (default 200).")
    parser.add_argument("--warmup", type=int, default=20, help="Untimed requests per case first (default 20).")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--markdown", help="Also write the results as Markdown to this file.")
    args = parser.parse_args()

    setup_django()
    from django.core.management import call_command

    from patients.models import Patient

    # The bench database follows the code: apply any migration added since the seed.
    call_command("migrate", interactive=False, verbosity=0)

    bare = psycopg_connect(autocommit=True)
    cur = bare.cursor()
    patients = cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'patients_patient'").fetchone()[0]
    if not Patient.objects.exists():
        raise SystemExit("No patients: run bench/seed_large.py first.")
    rng = random.Random(args.seed)
    cases = _cases(args.requests, rng, bare)
    large = _large_tables(cur)

    lines = ["| case | requests | `count` (median) | `count` capped | SQL statements per request | Django p50 | Django p95 "
             "| bare SQL p50 | bare SQL p95 | of which COUNT p50 | of which page p50 | Django − bare SQL, paired (p50) "
             "| Python CPU per request (p50) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    explains = []
    load_at_start, revision = load_average(), code_revision()
    print(f"About {patients:,} patients. {args.requests} timed requests per case after {args.warmup} warm-up requests.")
    for case in cases:
        _run(case, cur, args.warmup)
        d50, d95 = percentile(case.django_ms, 50), percentile(case.django_ms, 95)
        b50, b95 = percentile(case.bare_ms, 50), percentile(case.bare_ms, 95)
        c50 = percentile(case.count_ms, 50) if case.count_ms else 0.0
        p50 = percentile(case.page_ms, 50) if case.page_ms else 0.0
        n_sql = percentile([len(case.statements[url]) for url in case.urls], 50)
        overhead = percentile([d - b for d, b in zip(case.django_ms, case.bare_ms, strict=True)], 50)
        lines.append(
            f"| {case.name} | {len(case.django_ms)} | {percentile(case.matched, 50):,} "
            f"| {case.capped / len(case.urls):.0%} | {n_sql} | {d50:.2f} ms | {d95:.2f} ms "
            f"| {b50:.2f} ms | {b95:.2f} ms | {c50:.2f} ms | {p50:.2f} ms | {overhead:.2f} ms "
            f"| {percentile(case.cpu_ms, 50):.2f} ms |"
        )
        print(lines[-1])
        explains.append((case, _explain(case, cur, large)))

    method = (
        f"`GET /api/v1/patients/` in process through DRF's APIClient with token authentication (no HTTP server), "
        f"{args.requests} timed requests per case after {args.warmup} warm-up requests; bare SQL = the statements "
        "of the same request replayed through a psycopg cursor. Times in milliseconds."
    )
    report = ["## API latency", "", method, "", *lines, ""]
    warnings = []
    for case, plans in explains:
        report += [f"### EXPLAIN: {case.name}", "", f"Slowest request: `GET {_slowest(case)}`", ""]
        for sql, text, scans in plans:
            report += ["```sql", sql, "```", "", "```", text, "```", ""]
            warnings += [f"- {case.name}: {scan} in `{sql[:160]}...`" for scan in scans]
    report += ["### Sequential scans of large tables, and scans reading or discarding many rows", ""]
    report += warnings or ["None."]
    description = {**server_description(), "code": revision}
    description["load average"] = f"{load_at_start} at the start, {load_average()} at the end"
    report += ["", "### Machine", "", *(f"- {k}: {v}" for k, v in description.items()), ""]
    print()
    print("\n".join(report))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write("\n".join(report))
    bare.close()


if __name__ == "__main__":
    sys.exit(main())
