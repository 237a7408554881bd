"""The benchmark harness works end to end (issue 13, point 4): a smoke run, not a timing gate.

bench/run.py --size smoke runs every stage and bound of size S on 8 ministries' returns; the
full S run takes about 4 minutes on 2 cores (two `annex run` with Prefect's temporary server and
one against a server it starts), the smoke run about 1.5. No timing is asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from annex.render.pdf import find_soffice

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ["collect", "read", "validate", "read+validate (pool)", "feedback", "reconcile", "merge", "docx"]
PREFECT = ["annex run (temporary server)", "annex run (running server)"]
BOUNDS = [
    "read: unzip floor",
    "read: lxml iterparse",
    "docx: string floor",
    "prefect: empty flow, temporary server",
    "prefect: empty flow, running server",
]
has_pdf = find_soffice() is not None or os.environ.get("ANNEX_REQUIRE_ALL") == "1"


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, prefect_server) -> dict:
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    # the session's server stands in for one started by the harness (its start-up is a bound of the full S run)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--size", "smoke", "--out", str(out), "--server", prefect_server],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    report["printed"] = proc.stdout
    return report


@pytest.mark.e2e
def test_every_stage_is_measured_with_positive_figures(smoke):
    stages = {s["name"]: s for s in smoke["stages"]}
    expected = DOMAIN + PREFECT + (["pdf"] if has_pdf else [])
    assert sorted(expected) == sorted(set(expected) & set(stages)), sorted(stages)
    for name in expected:
        stage = stages[name]
        assert stage["seconds"] > 0 and stage["units"] > 0 and stage["per_second"] > 0, stage
        assert stage["peak_mib"] > 10, stage  # a Python process holds more than 10 MiB: the sampler ran


@pytest.mark.e2e
def test_every_bound_is_measured_and_compared(smoke):
    bounds = smoke["bounds"]
    expected = BOUNDS + (["pdf: LibreOffice start-up"] if has_pdf else [])
    for name in expected:
        assert bounds.get(name, 0) > 0, (name, bounds)
    # the smoke run uses the session's server: its start-up is said not measured, never made up
    assert "already running" in smoke["not_run"]["prefect server start (not in the runs below)"]
    stages = {s["name"]: s for s in smoke["stages"]}
    assert stages["read"]["bound_seconds"] == bounds["read: unzip floor"]
    assert stages["docx"]["ratio"] > 0
    assert stages["annex run (running server)"]["bound_seconds"] == bounds["prefect: empty flow, running server"]


@pytest.mark.e2e
def test_the_returns_are_accepted_and_merged(smoke):
    """Real work was timed: every generated return passes validation and changes the master."""
    data = smoke["data"]
    # accepted, perhaps with notation warnings on the generated text (warnings never return a file)
    assert data["returns"] == 8 and set(data["verdicts"]) <= {"受理", "受理（警告あり）"}
    assert sum(data["verdicts"].values()) == 8
    assert data["merge_counts"]["modified"] > 0 and data["merge_counts"]["added"] > 0
    assert data["ownership_calls"] > 0


@pytest.mark.e2e
def test_the_table_is_printed_with_targets(smoke):
    assert "| stage |" in smoke["printed"] and "| target |" in smoke["printed"]
    assert {t["target"] for t in smoke["targets"]} >= {"a feedback workbook ≤ 50 ms", "reading ≤ 1.5× the unzip floor"}
    assert all(isinstance(t["met"], bool) for t in smoke["targets"])


def test_a_size_not_generated_yet_says_so_and_measures_nothing(tmp_path):
    """M and L have no generator yet: the harness says "not run" rather than printing numbers."""
    out = tmp_path / "M.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--size", "M", "--out", str(out)],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["stages"] == [] and report["bounds"] == {} and report["targets"] == []
    assert report["data"]["planned"] is True and "all stages" in report["not_run"]
    assert "not run" in proc.stdout
