"""One run at a time per workspace and year, and a crashed holder never blocks the next run."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from annex.io.runlock import RunLocked, run_lock

pytestmark = pytest.mark.reliability  # issue 14's fault catalogue

HOLDER = """
import sys, time
from pathlib import Path
from annex.io.runlock import run_lock

with run_lock(Path(sys.argv[1]), "run", 2026):
    print("HELD", flush=True)
    time.sleep(120)
"""


def _start_holder(archive: Path) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(archive)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "HELD"
    return child


def test_a_live_holder_refuses_a_second_run_at_once_naming_its_pid(tmp_path):
    child = _start_holder(tmp_path)
    try:
        started = time.monotonic()
        with pytest.raises(RunLocked) as caught:
            with run_lock(tmp_path, "run", 2026):
                pytest.fail("the lock was granted twice")
        assert time.monotonic() - started < 1
        assert f"pid {child.pid}" in str(caught.value)
        assert "実行中" in str(caught.value)
        assert caught.value.exit_code == 75
    finally:
        child.kill()
        child.wait()


def test_a_sigkilled_holder_releases_the_lock_at_once(tmp_path):
    child = _start_holder(tmp_path)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    started = time.monotonic()
    with run_lock(tmp_path, "run", 2026) as path:
        assert f"pid {os.getpid()}" in path.read_text()
    assert time.monotonic() - started < 1


def test_locks_are_per_job_and_year_and_reusable_in_one_process(tmp_path):
    with run_lock(tmp_path, "run", 2026), run_lock(tmp_path, "run", 2027), run_lock(tmp_path, "reminders", 2026):
        pass
    with run_lock(tmp_path, "run", 2026):
        pass


@pytest.fixture(scope="module")
def held(tmp_path_factory):
    """A workspace whose 2026 lock another process holds (one holder for all the commands)."""
    workspace = tmp_path_factory.mktemp("held") / "ws"
    child = _start_holder(workspace / "archive")
    yield workspace, child
    child.kill()
    child.wait()


WRITERS = [
    ["merge", "--no-feedback"],
    ["render", "--no-pdf"],
    ["distribute"],
    ["run"],
    ["approve"],
    ["lint"],
    ["status"],
    ["validate", "{inbox}/文科省.xlsx"],
    ["import", "bundled:annex_2025.json"],
    ["mail", "--sent", "<annex-2026-feedback-0123@csti.example>"],
]


@pytest.mark.parametrize("command", WRITERS, ids=lambda c: c[0])
def test_every_command_that_writes_a_year_is_refused_while_another_holds_it(held, command, capfd):
    """Every command that writes output/<Y> or the ledger (intake too, in flows/intake.py) takes
    the one lock of the year: the second is refused at once with the holder's pid, and writes
    nothing."""
    from flows.cli import main

    workspace, child = held
    inbox = workspace.parent / "inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "文科省.xlsx").write_bytes(b"PK")
    with pytest.raises(SystemExit) as exit:
        main([*(a.format(inbox=inbox) for a in command), "--workspace", str(workspace), "--year", "2026"])
    assert exit.value.code == 75
    err = capfd.readouterr().err
    assert err.startswith("エラー: 2026年度の run は別の実行") and f"pid {child.pid}" in err and "Traceback" not in err
    assert not (workspace / "output").exists()


@pytest.mark.parametrize("command", [["relisted"], ["audit", "1-（１）-01-P1"], ["mail"], ["remind", "--dry-run"]])
def test_a_command_that_only_reads_is_not_refused_by_the_lock(held, command, capfd):
    """Reading is never refused: whatever these say (the workspace here has no master), it is not the lock."""
    from flows.cli import main

    workspace, _ = held
    with contextlib.suppress(SystemExit):
        main([*command, "--workspace", str(workspace), "--year", "2026"])
    assert "別の実行" not in capfd.readouterr().err
