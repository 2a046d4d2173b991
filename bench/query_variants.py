#!/usr/bin/env python
"""The patient list and search queries as Salus builds them, beside alternatives, run bare.

Each variant is a Django queryset; its COUNT and its first page (LIMIT 50) are compiled to SQL and
run through a bare psycopg cursor, so only the database cost is compared:

- search, page ordered by UPPER(family_name), UPPER(given_name), id. No index provides that order, so
  PostgreSQL sorts the matching rows instead of walking the whole name index in order and filtering,
  which costs as much as the number of patients alphabetically before the prefix.
- search as `patients_search` builds it for the front desk: a UNION ALL of disjoint branches, each
  limited to the 1,001 rows the API counts (the family-name one read in result order from
  `patient_search_name_idx`), and the same UNION without the limits; beside them, the family-name
  branch alone, a lower bound for any plan of the whole search (it must return at least those rows).
- each search's COUNT exact, and capped at 1,001 rows as the patient list's pagination counts.
- care manager: the list read from the user's list entries in their name order (the selector), beside
  the patients behind the object permissions then sorted (before the entries: a primary-key probe of
  every patient the user sees), django-guardian's generic `get_objects_for_user` (it ORs a user and a
  group IN (subquery), which PostgreSQL cannot turn into a semi-join, so every patient row is tested),
  and the entries alone (a lower bound). The search likewise: names checked on the entries, or on
  every patient behind the permissions.
- front-desk list, a COUNT capped at 10,001 rows or the planner's estimate, instead of counting every patient.

    .venv/bin/python bench/query_variants.py --repeat 15
"""

import argparse
import sys
import time

from _common import FRONT_DESK_EMAIL, care_manager_email, code_revision, load_average, percentile, psycopg_connect, setup_django


def _sql(qs) -> str:
    from django.db import connection

    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cur:
        text = cur.mogrify(sql, params)
    return text.decode() if isinstance(text, bytes) else text


def _count_sql(qs) -> str:
    return f"SELECT COUNT(*) FROM ({_sql(qs.order_by().values('pk'))}) AS matches"


def _time(cur, sql: str, repeat: int) -> tuple[float, float]:
    cur.execute(sql)
    cur.fetchall()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        cur.execute(sql)
        cur.fetchall()
        times.append((time.perf_counter() - start) * 1000)
    return percentile(times, 50), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--terms", nargs="*", default=["mart", "dubo", "wils", "zane"], help="Front-desk search terms.")
    parser.add_argument("--cm-terms", nargs="*", default=["mar", "ros", "zan"], help="Care-manager search terms.")
    args = parser.parse_args()
    setup_django()
    load_at_start, revision = load_average(), code_revision()
    from django.db.models.functions import Upper
    from guardian.shortcuts import get_objects_for_user

    from accounts.models import User
    from patients.models import Patient, PatientListEntry, PatientUserObjectPermission
    from patients.selectors import SEARCH_ORDER, _search_order, patient_search_q, patients_for_user, patients_search

    front_desk = User.objects.get(email=FRONT_DESK_EMAIL)
    care_manager = User.objects.get(email=care_manager_email(0))

    def upper_order(qs):
        return qs.order_by(Upper("family_name"), Upper("given_name"), "id")

    def cm_guardian(search=""):
        qs = get_objects_for_user(
            care_manager, "patients.view_patient", klass=Patient, accept_global_perms=False, with_superuser=False
        )
        return qs.filter(patient_search_q(search)) if search else qs

    def family_branch(term):
        everyone = patients_for_user(user=front_desk)
        return everyone.filter(family_name__istartswith=term).annotate(**_search_order()).order_by(*SEARCH_ORDER)

    rows = []
    for term in args.terms:
        one_where = patients_for_user(user=front_desk, search=term)
        everyone = patients_for_user(user=front_desk)
        # rows=1,001: what the API passes (its count cap + 1), so each branch stops in result order.
        union = patients_search(user=front_desk, queryset=everyone, query=term, rows=1001)
        unlimited = patients_search(user=front_desk, queryset=everyone, query=term)
        rows += [
            (f"front desk ?q={term}", "one WHERE, name order (before)", one_where),
            (f"front desk ?q={term}", "one WHERE, UPPER order", upper_order(one_where)),
            (f"front desk ?q={term}", "UNION ALL, no LIMIT per branch", unlimited),
            (f"front desk ?q={term}", "UNION ALL, LIMIT 1,001 per branch (now)", union),
            (f"front desk ?q={term}", "family-name branch alone (lower bound)", family_branch(term)),
        ]

    def cm_grants():
        # Before the list entries: the patients behind the user's `view_patient` grants, sorted.
        return Patient.objects.filter(
            pk__in=PatientUserObjectPermission.objects.filter(
                user=care_manager, permission__codename="view_patient", permission__content_type__app_label="patients"
            ).values("content_object_id")
        )

    rows += [
        ("care manager list", "list entries in their order (now)", patients_for_user(user=care_manager)),
        ("care manager list", "object permissions, then a sort (before)", cm_grants()),
        ("care manager list", "guardian get_objects_for_user", cm_guardian()),
        (
            "care manager list",
            "the user's entries alone (lower bound)",
            PatientListEntry.objects.filter(user=care_manager).order_by("family_name", "given_name", "patient_id"),
        ),
    ]
    for term in args.cm_terms:
        mine = patients_for_user(user=care_manager)
        rows += [
            (
                f"care manager ?q={term}",
                "names on the list entries (now)",
                patients_search(user=care_manager, queryset=mine, query=term),
            ),
            (
                f"care manager ?q={term}",
                "object permissions, one WHERE (before)",
                cm_grants().filter(patient_search_q(term)).annotate(**_search_order()).order_by(*SEARCH_ORDER),
            ),
            (f"care manager ?q={term}", "guardian get_objects_for_user", cm_guardian(term)),
        ]
    conn = psycopg_connect(autocommit=True)
    cur = conn.cursor()
    print("| query | variant | matches | COUNT p50 | COUNT max | COUNT capped at 1,001 p50 | page p50 | page max |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label, variant, qs in rows:
        count_sql, page_sql = _count_sql(qs), _sql(qs[:50])
        capped_sql = f"SELECT COUNT(*) FROM ({_sql(qs.order_by()[:1001])}) AS matches"
        matches = cur.execute(count_sql).fetchone()[0]
        c50, cmax = _time(cur, count_sql, args.repeat)
        k50, _kmax = _time(cur, capped_sql, args.repeat)
        p50, pmax = _time(cur, page_sql, args.repeat)
        print(
            f"| {label} | {variant} | {matches:,} | {c50:.1f} ms | {cmax:.1f} ms | {k50:.1f} ms | {p50:.1f} ms | {pmax:.1f} ms |"
        )
    for label, sql in (
        ("front desk list: exact COUNT", 'SELECT COUNT(*) FROM "patients_patient"'),
        ("front desk list: COUNT capped at 10,001", 'SELECT COUNT(*) FROM (SELECT 1 FROM "patients_patient" LIMIT 10001) AS s'),
        ("front desk list: planner estimate", "SELECT reltuples::bigint FROM pg_class WHERE oid = 'patients_patient'::regclass"),
    ):
        c50, cmax = _time(cur, sql, args.repeat)
        print(f"| {label} | | | {c50:.2f} ms | {cmax:.2f} ms | | | |")
    conn.close()
    print(f"\nCode {revision}; load average {load_at_start} at the start, {load_average()} at the end.")


if __name__ == "__main__":
    sys.exit(main())
