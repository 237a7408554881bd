"""The benchmark harness works end to end (issue 13, point 4): a smoke run, not a timing gate.

bench/run.py --size smoke runs every stage and bound of size S on 8 ministries' returns; the
full S run takes about 4 minutes on 2 cores (two `annex run` with Prefect's temporary server and
one against a server it starts), the smoke run about 1.5. --size smoke-survey runs the M/L path
(municipalities as submitting bodies; read + validate + merge, in process and as a flow on
threads and on Dask) on 6 bodies. No timing is asserted here.
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


SURVEY = ["collect", "reference", "read", "validate", "merge"]
RUNNERS = ["flow: read+validate+merge (thread)", "flow: read+validate+merge (dask, 2 workers)"]


@pytest.fixture(scope="module")
def survey(tmp_path_factory, prefect_server) -> dict:
    """The M/L code path on 6 bodies: read + validate + merge in process, then as a flow on threads and on Dask."""
    out = tmp_path_factory.mktemp("bench") / "smoke-survey.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--size", "smoke-survey", "--out", str(out), "--server", prefect_server],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    report["printed"] = proc.stdout
    return report


@pytest.mark.e2e
def test_the_survey_sizes_measure_read_validate_merge_and_both_runners(survey):
    stages = {s["name"]: s for s in survey["stages"]}
    assert sorted(stages) == sorted(SURVEY + RUNNERS)
    for stage in stages.values():
        assert stage["seconds"] > 0 and stage["units"] > 0 and stage["cpu_seconds"] > 0, stage
        assert stage["peak_mib"] > 10, stage
    # issue 13: no docx or PDF at a million lines; said, not silently left out
    assert {"feedback", "docx", "pdf"} <= set(survey["not_run"])
    assert stages["read"]["bound_seconds"] == survey["bounds"]["read: unzip floor"] > 0
    assert any(t["target"].startswith("Dask task runner (2 workers) no slower") for t in survey["targets"])


@pytest.mark.e2e
def test_every_body_returns_its_own_lines_and_both_runners_merge_the_same(survey):
    data = survey["data"]
    assert data["bodies"] == data["returns"] == 6 and data["accepted"] == 6
    assert set(data["verdicts"]) <= {"受理", "受理（警告あり）"}
    low, high = data["lines_per_return"]
    assert 400 <= low <= high <= 600  # ~bullets / bodies = 500 lines each
    assert data["merge_counts"]["modified"] > 0 and data["merge_counts"]["added"] == 6  # one 新規 each
    for runner in ("thread", "dask"):
        flow = data[f"flow_{runner}"]
        assert flow["files"] == 6 and flow["held"] == 0 and flow["accepted"] == 6, flow
        assert flow["verdicts"] == data["verdicts"] and flow["merge_counts"] == data["merge_counts"], flow


@pytest.mark.e2e
def test_on_dask_the_reference_goes_to_each_worker_once_and_the_files_validate_as_on_threads(survey):
    """Issue 13: pickled with every validation task, the reference ran the Dask driver out of memory
    at 200k bullets. bench/survey_flow.py reports how often it was pickled and loaded."""
    threads, dask = survey["data"]["flow_thread"], survey["data"]["flow_dask"]
    assert dask["files"] == threads["files"] > 2 * 2  # more tasks than workers: a copy per task would show
    assert threads["reference_pickled"] == 0  # threads share the object itself
    assert dask["reference_pickled"] == 1  # by the driver, once for the run
    assert dask["reference_worker_loads"] == [1, 1]  # one copy in each of the 2 workers
    assert dask["validated"] == threads["validated"]  # every file's lines and issues the same


def test_the_bodies_table_is_a_valid_abbreviation_table(tmp_path):
    """L's 2,000 municipalities: unique abbreviations and slugs, and config loads them with the bundled ministries."""
    from annex.model.config import load_config
    from bench.bodies import body_table, write_config

    table = body_table(2_000)
    assert len({b["abbr"] for b in table}) == len({b["slug"] for b in table}) == 2_000
    write_config(tmp_path, 2_000)
    config = load_config(tmp_path / "config")
    assert all(b["abbr"] in config.ministry_by_abbr for b in table)
    assert config.secretariat.abbr in config.ministry_by_abbr


def test_a_fraction_of_returns_is_only_for_the_survey_sizes(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--size", "S", "--returns", "3", "--out", str(tmp_path / "S.json")],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "--returns" in proc.stderr
    assert not (tmp_path / "S.json").exists()
