"""kill -9 at each stage boundary of `annex merge`, then a re-run: the outputs equal (by content)
those of an uninterrupted run, no temporary file is left, the ledger is consistent. And `annex run`
killed mid-way: nothing of the killed process stays alive — Prefect's temporary server included.

The kill is the real signal: ANNEX_TEST_KILL_AT=<stage> makes the process SIGKILL itself at that
checkpoint (annex/io/faults.py), so no handler, finally block or atexit hook of ours runs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from run_fixtures import descendants_until_dead, survivors

from annex.io.faults import KILL_AT_ENV
from annex.io.files import JOURNAL_SUFFIX, SCRATCH_PREFIX, TEMP_SUFFIX, roll_forward, sweep_orphans
from annex.io.runlock import run_lock
from annex.workspace.layout import Workspace
from annex.workspace.master import previous_master
from annex.workspace.merge import merge_year

pytestmark = pytest.mark.reliability  # issue 14's fault catalogue

ROOT = Path(__file__).resolve().parents[2]
RETURNS = ("法務省_別添記入シート.xlsx",)
OUTPUTS = ("master.json", "master.xlsx", "changes.xlsx", "reconciliation.xlsx")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A workspace with master(2025) imported and a return in its inbox."""
    root = tmp_path_factory.mktemp("kill") / "base"
    ws = Workspace.at(root)
    previous_master(ws, 2026)
    ws.submissions(2026).mkdir(parents=True)
    for name in RETURNS:
        shutil.copyfile(ROOT / "submissions" / "2026" / name, ws.submissions(2026) / name)
    return root


def _killed_merge(workspace: Path, stage: str) -> subprocess.CompletedProcess:
    """`annex merge` as its own process, which SIGKILLs itself at ``stage``."""
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", "merge", "--workspace", str(workspace), "--no-feedback"],
        env={**os.environ, KILL_AT_ENV: stage},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def _content(folder: Path) -> dict[str, object]:
    """The outputs by content: master.json's bytes, every workbook's cell values (an .xlsx also
    holds the time it was written)."""
    out: dict[str, object] = {}
    for name in OUTPUTS:
        path = folder / name
        if name.endswith(".json"):
            out[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            wb = openpyxl.load_workbook(path, read_only=True)
            out[name] = {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
            wb.close()
    return out


def _leftovers(root: Path) -> list[Path]:
    return [
        p
        for p in root.rglob("*")
        if p.name.endswith((TEMP_SUFFIX, JOURNAL_SUFFIX)) or p.name.startswith((SCRATCH_PREFIX, ".incoming."))
    ]


def _ledger_consistent(root: Path) -> None:
    ws = Workspace.at(root)
    with ws.open_ledger() as ledger:
        entries = ledger.entries(2026)
    assert len(entries) == len(RETURNS) and len({e.sha256 for e in entries}) == len(RETURNS)
    assert all(e.status == "accepted" and e.version == 1 and e.ministry for e in entries)
    for e in entries:  # the archive holds exactly the bytes the ledger names
        assert hashlib.sha256((ws.archive / e.archive_path).read_bytes()).hexdigest() == e.sha256


@pytest.fixture(scope="module")
def uninterrupted(base, tmp_path_factory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("kill") / "reference"
    shutil.copytree(base, root)
    merge_year(Workspace.at(root), 2026, feedback=False)
    return _content(Workspace.at(root).output(2026))


@pytest.mark.parametrize(
    "stage",
    [
        "merge:collected",  # archived, validated, in the ledger; nothing published
        "publish:staged@2026/master.json",  # the four outputs written as temp files, none replaced
        "publish:partly@2026/master.json",  # master.json replaced, the three others not yet
    ],
)
def test_merge_killed_at_a_stage_boundary_then_run_again_equals_an_uninterrupted_merge(base, uninterrupted, tmp_path, stage):
    root = tmp_path / "ws"
    shutil.copytree(base, root)
    killed = _killed_merge(root, stage)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    if stage.startswith("publish:"):
        assert _leftovers(root), "the kill came before the temp files were written: the case tests nothing"
    if stage.startswith("publish:partly"):  # half old, half new: the journal lets the next command finish it
        assert roll_forward(Workspace.at(root).output(2026)) == len(OUTPUTS) - 1
        assert _content(Workspace.at(root).output(2026)) == uninterrupted

    merge_year(Workspace.at(root), 2026, feedback=False)  # run again (in this process: what `annex merge` calls)
    assert _content(Workspace.at(root).output(2026)) == uninterrupted
    assert _leftovers(root) == []  # the dead run's temp files went at once (its pid is gone), not after an hour
    _ledger_consistent(root)


@pytest.mark.e2e
def test_annex_run_killed_mid_way_leaves_no_process_and_a_consistent_workspace(base, tmp_path):
    """Killed at run:collected, once Prefect's temporary server (uvicorn) runs the flow: every
    process of the run ends, nothing is published, the files received are archived and in the
    ledger (to be validated by the next run: test_ledger), the lock is free at once and the next
    command's sweep leaves no temporary file. (A full re-run is test_annual_run's; the merge cases
    above prove re-runs equal; here what a kill of `annex run` leaves behind, within budget.)"""
    root = tmp_path / "ws"
    shutil.copytree(base, root)

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}  # the temporary server, as by default
    child = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", "--workspace", str(root)],
        env={**env, KILL_AT_ENV: "run:collected"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    seen = descendants_until_dead(child, timeout=240)
    assert child.wait(timeout=10) == -signal.SIGKILL, child.stderr.read().decode()
    assert any("uvicorn" in cmd for cmd in seen.values()), seen  # Prefect's temporary server was running
    assert not (alive := survivors(seen)), f"processes of the killed run outlived it: {alive}"

    ws = Workspace.at(root)
    assert not ws.master_json(2026).exists()
    with ws.open_ledger() as ledger:
        entries = ledger.entries(2026)
    assert [e.status for e in entries] == ["received"] * len(RETURNS)
    for e in entries:
        assert hashlib.sha256((ws.archive / e.archive_path).read_bytes()).hexdigest() == e.sha256
    with run_lock(ws.archive, "run", 2026):  # released by the kernel at the kill
        pass
    sweep_orphans(root / "output")
    sweep_orphans(ws.archive)
    assert _leftovers(root) == []
