"""`make demo` runs web, worker and beat under config/demo.py: links follow HOST and PORT, and
Ctrl-C or SIGTERM leaves no process behind."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from config.demo import demo_commands, demo_environment

ROOT = Path(__file__).resolve().parent.parent

# A child that ignores SIGTERM (as a Celery worker finishing its tasks may) and has a child of its
# own (as the worker's pool processes are); each writes its pid to a file.
STUBBORN = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pool = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
    with open(sys.argv[1], "a") as f:
        f.write(f"{os.getpid()} {pool.pid}\\n")
    time.sleep(600)
    """
)
SUPERVISE = textwrap.dedent(
    """
    import sys
    from config.demo import Supervisor
    pids, n = sys.argv[1], int(sys.argv[2])
    command = [sys.executable, "-c", sys.argv[3], pids]
    sys.exit(Supervisor([(f"child{i}", command) for i in range(n)], env=__import__("os").environ, grace=2).run())
    """
)


def test_links_point_at_the_host_and_port_the_demo_serves():
    env = demo_environment(host="127.0.0.1", port=8123, environ={})
    assert env["SALUS_SITE_URL"] == "http://127.0.0.1:8123"
    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.local"
    assert "DJANGO_ALLOWED_HOSTS" not in env  # the local defaults hold 127.0.0.1


def test_an_explicit_site_url_wins_and_another_host_is_allowed():
    env = demo_environment(host="192.168.1.20", port=9000, environ={"SALUS_SITE_URL": "https://demo.example.org"})
    assert env["SALUS_SITE_URL"] == "https://demo.example.org"
    assert env["DJANGO_ALLOWED_HOSTS"].split(",")[-1] == "192.168.1.20"
    assert demo_environment(host="::1", port=8000, environ={})["SALUS_SITE_URL"] == "http://[::1]:8000"


def test_the_makefile_hands_host_port_and_patients_to_the_runner():
    result = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", "demo", "HOST=0.0.0.0", "PORT=8123", "DEMO_PATIENTS=7"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "-m config.demo --host 0.0.0.0 --port 8123 --patients 7" in result.stdout


def test_the_three_processes_are_the_worker_beat_and_a_server_on_that_port():
    commands = dict(demo_commands(host="127.0.0.1", port=8123, python="/venv/bin/python"))
    assert commands["worker"][:4] == ["/venv/bin/celery", "-A", "config", "worker"]
    assert commands["beat"][:4] == ["/venv/bin/celery", "-A", "config", "beat"]
    assert commands["web"][-2:] == ["--noreload", "127.0.0.1:8123"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is gone too.
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split()[2] != "Z"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_every_process_within_a_few_seconds(tmp_path, signum):
    # Given the supervisor running three children that refuse SIGTERM, each with a child of its own
    pids_file = tmp_path / "pids"
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISE, str(pids_file), "3", STUBBORN],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 30
    while not (pids_file.exists() and len(pids_file.read_text().split()) == 6):
        assert time.monotonic() < deadline, "the children did not start"
        time.sleep(0.1)
    pids = [int(p) for p in pids_file.read_text().split()]
    assert all(_alive(pid) for pid in pids)

    # When it is asked to stop (Ctrl-C, or SIGTERM from a service manager)
    supervisor.send_signal(signum)

    # Then it exits after its grace period, and no child or grandchild is left
    supervisor.wait(timeout=20)
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in pids if _alive(pid)] == []


def test_one_process_exiting_stops_the_others(tmp_path):
    pids_file = tmp_path / "pids"
    script = textwrap.dedent(
        """
        import sys, time
        from config.demo import Supervisor
        sleeper = [sys.executable, "-c", "import os, sys, time; open(sys.argv[1], 'a').write(f'{os.getpid()}\\\\n'); time.sleep(600)", sys.argv[1]]
        failing = [sys.executable, "-c", "import time, sys; time.sleep(1); sys.exit(3)"]
        sys.exit(Supervisor([("web", failing), ("worker", sleeper)], env=__import__("os").environ, grace=2).run())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(pids_file)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=30
    )
    assert result.returncode == 3
    [sleeper] = [int(p) for p in pids_file.read_text().split()]
    assert not _alive(sleeper)


def test_the_processes_stop_when_the_parent_is_killed_without_passing_the_signal_on(tmp_path):
    # Given make (here a stand-in parent) running the supervisor with its children
    pids_file = tmp_path / "pids"
    parent_script = textwrap.dedent(
        """
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2], "2", sys.argv[3]])
        time.sleep(600)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_script, SUPERVISE, str(pids_file), STUBBORN],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 30
    while not (pids_file.exists() and len(pids_file.read_text().split()) == 4):
        assert time.monotonic() < deadline, "the children did not start"
        time.sleep(0.1)
    pids = [int(p) for p in pids_file.read_text().split()]

    # When the parent is killed outright
    parent.kill()
    parent.wait(timeout=10)

    # Then the supervisor notices and stops its children
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in pids if _alive(pid)] == []
