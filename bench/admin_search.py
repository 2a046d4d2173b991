#!/usr/bin/env python
"""The front desk's patient search in the admin changelist at scale, beside the same SQL run bare.

Each term is searched through the real changelist (`GET /admin/patients/patient/?q=...`, Django's
test client, a signed-in front-desk session, the whole middleware stack), `--repeat` times; the
statements of one request are then replayed through a bare psycopg cursor. The changelist counts
its matches exactly (no capped count there) and shows a page of 50 in the search order.

    .venv/bin/python bench/admin_search.py --repeat 5
"""

import argparse
import time

from _common import FRONT_DESK_EMAIL, code_revision, load_average, percentile, psycopg_connect, setup_django

TERMS = ["mart", "dubo", "wils", "robi", "zane", "SAL00000123", "1970-05-04", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--terms", nargs="*", default=TERMS)
    args = parser.parse_args()
    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    load_at_start, revision = load_average(), code_revision()
    client = Client()
    client.force_login(User.objects.get(email=FRONT_DESK_EMAIL))
    cur = psycopg_connect(autocommit=True).cursor()
    print("| search | matches | changelist p50 | changelist max | bare SQL p50 | of which COUNT | of which page |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for term in args.terms:
        url = "/admin/patients/patient/" + (f"?q={term}" if term else "")
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        statements = [q["sql"] for q in ctx.captured_queries]
        counts = [s for s in statements if s.startswith('SELECT COUNT(*) AS "__count" FROM "patients_patient"')]
        matches = cur.execute(counts[0]).fetchone()[0] if counts else 0
        django_ms, bare_ms, count_ms, page_ms = [], [], [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            client.get(url)
            django_ms.append((time.perf_counter() - start) * 1000)
            total = 0.0
            for sql in statements:
                start = time.perf_counter()
                cur.execute(sql)
                cur.fetchall()
                elapsed = (time.perf_counter() - start) * 1000
                total += elapsed
                if sql.startswith('SELECT COUNT(*) AS "__count" FROM "patients_patient"'):
                    count_ms.append(elapsed)
                elif sql.startswith('SELECT "patients_patient"."id"') and sql.endswith(" LIMIT 50"):
                    page_ms.append(elapsed)
            bare_ms.append(total)
        print(
            f"| {term or '(no search)'} | {matches:,} | {percentile(django_ms, 50):.1f} ms | {max(django_ms):.1f} ms "
            f"| {percentile(bare_ms, 50):.1f} ms | {percentile(count_ms, 50) if count_ms else 0:.1f} ms "
            f"| {percentile(page_ms, 50) if page_ms else 0:.1f} ms |"
        )
    print(f"\nCode {revision}; load average {load_at_start} at the start, {load_average()} at the end.")


if __name__ == "__main__":
    main()
