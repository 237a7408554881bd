"""On Dask the reference (master(Y-1) and every ministry's plan) goes to each worker once, not with
every validation task (issue 13: pickled per task, the Dask driver ran out of memory at 200k
bullets). A reference the cluster cannot take holds the files (保留), as a failed validation task
does: the run goes on. That a real Dask run ships it once per worker and validates every file as
threads do is checked on the benchmark's survey smoke run, which runs bench/survey_flow.py on both
runners anyway (tests/test_bench.py)."""

from __future__ import annotations

import pytest

from annex.workspace import collect as collect_steps
from annex.workspace.layout import Workspace
from annex.workspace.master import load_reference

YEAR = 2026


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
