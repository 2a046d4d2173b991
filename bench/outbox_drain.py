#!/usr/bin/env python
"""How fast a real Celery worker drains due outbox rows: the embedded default beside production.

For each pair of database and broker — SQLite with the file-system broker (what `make demo`
runs) and PostgreSQL with Redis — the script migrates a database of its own, starts a real
`celery -A config worker` process (prefork pool, two processes), commits `--rows` emails to the
outbox in one transaction, as a campaign or the demo seed would, and measures the time from that
commit until every row is `done`. The commit publishes one batch task; each full batch publishes
the next (no task per row). Email goes to Django's in-memory backend in the worker (the message is
built and handed to a backend; no mail server's time is counted).

The baseline, measured in the same run on the same database: the same number of rows delivered by
`outbox_deliver_batch` called in a loop in one process, with no broker and no worker — the
service's own cost, what the worker path adds its broker round trips and process hand-offs to.

    .venv/bin/python bench/outbox_drain.py --rows 1000 --markdown /tmp/outbox.md

PostgreSQL database `salus_bench_outbox` (created and migrated if missing; its outbox table is
emptied at the start) and Redis database 13 by default; `--database-url` and `--redis-url`
override them. The SQLite file and the broker folders live in a temporary directory.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, code_revision, load_average

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/salus_bench_outbox"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"


def _measure(rows: int, timeout: float) -> dict:
    """Run in a child whose environment names the database and broker: Django reads them at start."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    if connection.vendor == "postgresql":
        from _common import ensure_database_exists

        ensure_database_exists()
    call_command("migrate", verbosity=0)

    from core.actors import SystemActor
    from notifications.models import OutboxItem, OutboxStatus
    from notifications.services import outbox_deliver_batch, outbox_message_enqueue

    OutboxItem.objects.all().delete()

    def enqueue(tag: str) -> list[int]:
        with transaction.atomic():
            return [
                outbox_message_enqueue(
                    channel="email",
                    topic="bench.drain",
                    to_address=f"{tag}{n}@bench.salus.test",
                    subject="Your appointment",
                    text="See you on Monday at 09:30.",
                ).pk
                for n in range(rows)
            ]

    # The baseline first, with no worker running: publishes go to a broker nothing reads yet, and
    # are dropped before the worker starts.
    from config.celery import app

    with app.connection_for_write() as conn:
        ids = enqueue("baseline")
        started = time.perf_counter()
        actor = SystemActor("outbox delivery")
        while outbox_deliver_batch(actor=actor):
            pass
        baseline = time.perf_counter() - started
        assert OutboxItem.objects.filter(pk__in=ids, status=OutboxStatus.DONE).count() == rows
        app.control.purge(connection=conn)

    log_path = Path(os.environ["SALUS_VAR_DIR"]) / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("celery")), "-A", "config", "worker", "--concurrency=2", "--loglevel=INFO",
             "--without-mingle", "--without-gossip", f"--hostname=bench-drain-{os.getpid()}@%h"],
            cwd=ROOT, env=os.environ, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while " ready." not in log_path.read_text(errors="replace"):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"The worker did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        ids = enqueue("worker")  # committed here: one batch task published
        started = time.perf_counter()
        left = OutboxItem.objects.filter(pk__in=ids).exclude(status=OutboxStatus.DONE)
        while left.exists():
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"{left.count()} rows still not done after {timeout} s")
            time.sleep(0.05)
        drained = time.perf_counter() - started
        tasks = log_path.read_text(errors="replace").count("notifications.tasks.outbox_deliver_batch[")
        attempts = set(OutboxItem.objects.filter(pk__in=ids).values_list("attempts", flat=True))
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, 9)
    return {
        "database": connection.vendor,
        "broker": app.conf.broker_url.split("://")[0],
        "rows": rows,
        "worker_seconds": drained,
        "baseline_seconds": baseline,
        "task_log_lines": tasks,
        "attempts": sorted(attempts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_OUTBOX_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_OUTBOX_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--only", choices=["embedded", "production"], help="one pair only")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(_measure(args.rows, args.timeout)), flush=True)
        return

    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    base.update({"DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "false", "EMAIL_URL": "memorymail://"})
    results = []
    with tempfile.TemporaryDirectory(prefix="salus-bench-outbox-") as tmp:
        pairs = {
            "embedded": {"SALUS_VAR_DIR": str(Path(tmp) / "embedded"), "DATABASE_URL": f"sqlite:///{tmp}/embedded.sqlite3"},
            "production": {"SALUS_VAR_DIR": str(Path(tmp) / "production"), "DATABASE_URL": args.database_url,
                           "REDIS_URL": args.redis_url},
        }  # fmt: skip
        for name, extra in pairs.items():
            if args.only and name != args.only:
                continue
            Path(extra["SALUS_VAR_DIR"]).mkdir(parents=True)
            done = subprocess.run(
                [sys.executable, __file__, "--child", "--rows", str(args.rows), "--timeout", str(args.timeout)],
                cwd=ROOT, env={**base, **extra}, capture_output=True, text=True, check=False,
            )  # fmt: skip
            lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
            if done.returncode != 0 or not lines:
                raise SystemExit(f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
            results.append({"pair": name, **json.loads(lines[-1][len("RESULT ") :])})

    table = [
        f"Revision {code_revision()}, load average {load_average()}, {args.rows} emails committed in one transaction.",
        "",
        "| database + broker | rows | worker drain | rows/s | batch tasks run | baseline: service loop, no broker | rows/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        table.append(
            f"| {r['database']} + {r['broker']} | {r['rows']:,} | {r['worker_seconds']:.2f} s | "
            f"{r['rows'] / r['worker_seconds']:,.0f} | {r['task_log_lines'] // 2} | {r['baseline_seconds']:.2f} s | "
            f"{r['rows'] / r['baseline_seconds']:,.0f} |"
        )
    text = "\n".join(table)
    print(text)
    for r in results:
        if r["attempts"] != [1]:
            raise SystemExit(f"{r['pair']}: a row was claimed more than once (attempts {r['attempts']})")
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")


if __name__ == "__main__":
    main()
