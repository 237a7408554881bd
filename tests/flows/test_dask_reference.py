"""On Dask the reference (master(Y-1) and every ministry's plan) goes to each worker once, not with
every validation task (issue 13: pickled per task, the Dask driver ran out of memory at 200k
bullets), and the files validate exactly as on threads. A reference the cluster cannot take holds
the files (保留), as a failed validation task does: the run goes on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from annex.workspace import collect as collect_steps
from annex.workspace.layout import Workspace
from annex.workspace.master import load_reference

ROOT = Path(__file__).resolve().parents[2]
YEAR = 2026


def _survey_flow(workspace: Path, runner: str, api_url: str) -> dict:
    """bench/survey_flow.py: collect → reference → flows.steps.validate_all → merge, on ``runner``
    (Dask: a local cluster of 2 worker processes), in a child process as `annex run` would be."""
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_TASKS_REFRESH_CACHE": "true", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "survey_flow.py"), str(workspace), runner],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return json.loads(next(line for line in reversed(done.stdout.splitlines()) if line.startswith("{")))


@pytest.mark.e2e
def test_a_dask_run_ships_the_reference_once_per_worker_and_validates_as_threads(prefect_server, sample_workspace, tmp_path):
    other = tmp_path / "dask-workspace"
    shutil.copytree(sample_workspace, other)
    threads = _survey_flow(sample_workspace, "thread", prefect_server)
    dask = _survey_flow(other, "dask", prefect_server)

    assert dask["files"] == threads["files"] > 2 * 2  # more tasks than workers: a copy per task would show
    assert threads["reference_pickled"] == 0  # threads share the object itself
    assert dask["reference_pickled"] == 1  # by the driver, once for the run
    assert dask["reference_worker_loads"] == [1, 1]  # one copy in each of the 2 workers
    # every file's lines and issues the same, and so the same verdicts and merge
    assert dask["validated"] == threads["validated"]
    assert dask["verdicts"] == threads["verdicts"] and dask["held"] == threads["held"] == 0
    assert dask["merge_counts"] == threads["merge_counts"]


class _Cluster:
    """A Dask client as shared_reference uses it: scatter (or refuse to), and release."""

    def __init__(self, refuse: Exception | None = None):
        self.refuse, self.scattered, self.released = refuse, [], []

    def scatter(self, data: dict, broadcast: bool, hash: bool) -> dict:
        if self.refuse:
            raise self.refuse
        self.scattered.append((list(data), broadcast))
        return {key: _Future(self, key) for key in data}


class _Future:
    def __init__(self, cluster: _Cluster, key: str):
        self.cluster, self.key = cluster, key

    def release(self) -> None:
        self.cluster.released.append(self.key)


def test_the_reference_is_scattered_to_every_worker_under_its_fingerprint_and_dropped_after(sample_workspace, monkeypatch):
    from tasks import validate

    ref = load_reference(Workspace.at(sample_workspace), YEAR)
    cluster = _Cluster()
    monkeypatch.setattr(validate, "_dask_client", lambda: cluster)
    for fingerprint in (ref.fingerprint(), "another-master"):
        with validate.shared_reference(ref, fingerprint) as shared:
            assert shared.key == f"annex-reference-{fingerprint}" and shared.key not in cluster.released
        assert cluster.released[-1] == shared.key  # the workers drop it once the files are validated
    # each master its own key, on every worker (broadcast): no worker hands out another master's
    assert cluster.scattered == [([f"annex-reference-{ref.fingerprint()}"], True), (["annex-reference-another-master"], True)]
    monkeypatch.setattr(validate, "_dask_client", lambda: None)
    with validate.shared_reference(ref, ref.fingerprint()) as on_threads:
        assert on_threads.value is ref  # threads: the object itself, no copy


@pytest.mark.e2e
def test_a_reference_the_cluster_cannot_take_holds_every_file(prefect_server, sample_workspace, monkeypatch):
    from prefect import flow

    from flows.steps import validate_all
    from tasks import validate

    ws = Workspace.at(sample_workspace)
    monkeypatch.setattr(
        validate, "_dask_client", lambda: _Cluster(refuse=TimeoutError("scatter to tcp://10.0.0.5:8786 timed out"))
    )

    @flow
    def validate_on_a_full_cluster() -> tuple[list, dict]:
        received, _ = collect_steps.receive(ws, YEAR)
        ref = load_reference(ws, YEAR)
        return received, validate_all(received, ref, ref.fingerprint())

    received, done = validate_on_a_full_cluster()
    assert len(received) > 1 and set(done) == {item.sha256 for item in received}
    for submission in done.values():
        assert submission.verdict == "保留" and [i.rule for i in submission.issues] == ["F-CHECK-FAILED"]
        assert "tcp://10.0.0.5:8786 timed out" in submission.issues[0].message
