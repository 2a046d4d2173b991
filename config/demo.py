"""`make demo`: prepare the embedded default, then run web, Celery worker and beat together.

    python -m config.demo --host 127.0.0.1 --port 8000 --patients 200

Migrates, seeds the demo data on a fresh database, prints where to go, then starts the three
processes and watches them. Ctrl-C or SIGTERM stops all three: each is asked to stop (SIGTERM to
its process group), and whatever still runs after a short grace period is killed. When one of
them exits by itself the others are stopped too, so a half-running demo never lingers.

Links in emails and invitations point at the address the demo serves (HOST and PORT), unless
SALUS_SITE_URL says otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "[::1]")
# A Celery worker on the file-system broker lingers for several seconds after a warm shutdown has
# stopped taking work (its consumer loop winds down on polling timeouts); deliveries are claimed
# rows, so one cut short is taken over later (SALUS_OUTBOX_CLAIM_SECONDS) and never sent twice.
GRACE_SECONDS = 3.0


def demo_environment(*, host: str, port: int, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of every demo process: the local settings, links built from HOST and PORT,
    and the host among the allowed ones."""
    env = dict(environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    url_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    env.setdefault("SALUS_SITE_URL", f"http://{url_host}:{port}")
    if "DJANGO_ALLOWED_HOSTS" not in env and url_host not in DEFAULT_HOSTS:
        env["DJANGO_ALLOWED_HOSTS"] = ",".join((*DEFAULT_HOSTS, url_host))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def demo_commands(*, host: str, port: int, python: str = sys.executable) -> list[tuple[str, list[str]]]:
    celery = str(Path(python).with_name("celery"))
    return [
        ("worker", [celery, "-A", "config", "worker", "--loglevel=INFO", "--concurrency=2", "--hostname=salus-worker@%h"]),
        ("beat", [celery, "-A", "config", "beat", "--loglevel=INFO"]),
        # No autoreloader: one process to stop, and a demo does not change its code.
        ("web", [python, "manage.py", "runserver", "--noreload", f"{host}:{port}"]),
    ]


class Supervisor:
    """Start named commands, each in its own process group, and stop them all together."""

    def __init__(
        self,
        commands: Sequence[tuple[str, Sequence[str]]],
        *,
        env: Mapping[str, str],
        cwd: Path = BASE_DIR,
        grace: float = GRACE_SECONDS,
    ):
        self.commands = commands
        self.env = dict(env)
        self.cwd = cwd
        self.grace = grace
        self.procs: dict[str, subprocess.Popen] = {}
        self._stop_requested: int | None = None

    def _request_stop(self, signum, frame) -> None:
        self._stop_requested = signum

    def run(self) -> int:
        """Run until a signal asks to stop or a process exits; return the exit status to use."""
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._request_stop)
        status = 0
        try:
            for name, command in self.commands:
                # A session of its own: Ctrl-C in the terminal reaches this supervisor only, which
                # then stops each child's whole group (worker pool processes included).
                self.procs[name] = subprocess.Popen(  # noqa: S603 - the demo's own commands
                    list(command), cwd=self.cwd, env=self.env, start_new_session=True
                )
            parent = os.getppid()
            while self._stop_requested is None:
                if os.getppid() != parent:
                    # Whoever started us (make) is gone, killed without passing the signal on.
                    print("\nThe parent process has gone; stopping.", file=sys.stderr, flush=True)
                    break
                exited = [(name, p.returncode) for name, p in self.procs.items() if p.poll() is not None]
                if exited:
                    name, code = exited[0]
                    print(f"\n{name} exited with status {code}; stopping the others.", file=sys.stderr, flush=True)
                    status = code or 1
                    break
                time.sleep(0.2)
        finally:
            self.stop()
        return status

    def stop(self) -> None:
        """SIGTERM to each process (a Celery worker then stops its own pool), then SIGKILL to every
        group with anything left in it after the grace period."""
        started = time.monotonic()
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        deadline = started + self.grace
        while time.monotonic() < deadline and any(_group_alive(p) for p in self.procs.values()):
            time.sleep(0.05)
        for name, proc in self.procs.items():
            if _group_alive(proc):
                print(f"{name} did not stop within {self.grace:g} s; killing it.", file=sys.stderr, flush=True)
                _signal_group(proc, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be refused
                proc.wait(timeout=5)
        if self.procs:
            print(f"Stopped web, worker and beat in {time.monotonic() - started:.1f} s.", file=sys.stderr, flush=True)


def _signal_group(proc: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signum)


def _group_alive(proc: subprocess.Popen) -> bool:
    proc.poll()  # reap the leader if it has exited, so that only live members count
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a group we cannot signal is not ours
        return False
    return True


def _banner(site_url: str) -> str:
    return (
        f"\nSalus is starting:  portal {site_url}/portal/   admin {site_url}/admin/\n"
        f"                    API docs {site_url}/api/v1/docs/   schema {site_url}/api/v1/schema/\n"
        f"                    health {site_url}/health/        Ctrl-C stops web, worker and beat.\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--patients", type=int, default=200, help="demo patients on a fresh database")
    parser.add_argument("--grace", type=float, default=GRACE_SECONDS, help="seconds to stop before a kill")
    args = parser.parse_args(argv)
    env = demo_environment(host=args.host, port=args.port, environ=os.environ)
    python = sys.executable
    for step in (
        [python, "manage.py", "migrate", "--no-input"],
        [python, "manage.py", "seed_demo", "--patients", str(args.patients), "--if-empty"],
    ):
        done = subprocess.run(step, cwd=BASE_DIR, env=env, check=False)  # noqa: S603 - the demo's own commands
        if done.returncode != 0:
            return done.returncode
    print(_banner(env["SALUS_SITE_URL"]), flush=True)
    return Supervisor(demo_commands(host=args.host, port=args.port, python=python), env=env, grace=args.grace).run()


if __name__ == "__main__":
    sys.exit(main())
