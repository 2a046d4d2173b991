"""What the bench scripts share: Django set-up against the bench database, a bare psycopg connection, percentiles."""

import contextlib
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/salus_bench"
FRONT_DESK_EMAIL = "bench-front-desk@bench.salus.test"


def care_manager_email(number: int) -> str:
    return f"bench-care-manager-{number:04d}@bench.salus.test"


def setup_django() -> None:
    """Configure Django for the bench database (overridable through the environment) and set it up."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    # DEBUG would record every query in memory and add its own cost to each one.
    os.environ.setdefault("DJANGO_DEBUG", "false")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit(f"The bench needs PostgreSQL; DATABASE_URL points to {connection.vendor}.")


def database_name() -> str:
    from django.db import connection

    return connection.settings_dict["NAME"]


def require_bench_database(allow_any: bool) -> None:
    """The seed empties every patient table: refuse a database that is not named as a bench database."""
    name = database_name()
    if "bench" not in name and not allow_any:
        raise SystemExit(
            f"Refusing to empty the patient tables of database {name!r}: its name does not contain 'bench'. "
            "Point DATABASE_URL at a bench database (default: salus_bench) or pass --allow-any-database."
        )


def ensure_database_exists() -> None:
    """Create the bench database if the server does not have it yet (connecting through the 'postgres' database)."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    name = params.pop("dbname")
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"Created database {name}.")


def psycopg_connect(**kwargs):
    """A bare psycopg connection to the same database as Django's default connection."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    # Same connection parameters as Django's, including prepare_threshold=None: Django never uses
    # server-side prepared statements, so the bare replay must not get them either.
    for key in ("cursor_factory", "context"):
        params.pop(key, None)
    return psycopg.connect(**{**params, **kwargs})


def server_description() -> dict[str, str]:
    """Machine and PostgreSQL facts printed beside the figures."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
        cur.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
            "('shared_buffers', 'work_mem', 'max_wal_size', 'synchronous_commit', 'max_parallel_workers_per_gather', 'jit')"
        )
        settings = dict(cur.fetchall())
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next(
            (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in line),
            "",
        )
    return {
        "code": code_revision(),
        "cpus": str(os.cpu_count()),
        "cpu model": cpu or "unknown",
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB" if mem_kb else "unknown",
        "python": sys.version.split()[0],
        "postgresql": version,
        "postgresql settings": ", ".join(f"{k}={v}" for k, v in sorted(settings.items())),
    }


def code_revision() -> str:
    """The commit the figures were measured on, and whether the working tree differed from it."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    dirty = " with uncommitted changes" if status.stdout.strip() else ""
    return f"{commit.stdout.strip()}{dirty}"


def load_average() -> str:
    """The 1, 5 and 15-minute load averages: other work on the machine shows here."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]
