"""Validate one submission file: its own task (failure boundary), cached on its bytes and the rules."""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext

from annex.intake.ledger import LedgerEntry
from annex.io.collector import cycles_collected_after, leave_out_of_collections
from annex.model.issues import Submission
from annex.validation.validate import Reference
from annex.workspace import collect
from annex.workspace.layout import Workspace


class Shared:
    """A large read-only value handed to tasks as it is: Prefect does not walk into it (the
    reference holds the whole annex). On threads it is never copied; on Dask, shared_reference
    ships it to each worker once rather than with every task."""

    # how often this process pickled one / unpickled one (a Dask driver: once a run; a worker: a
    # copy a run): what tests/flows/test_dask_reference.py and bench/survey_flow.py count
    dumps = 0
    loads = 0

    def __init__(self, value: Reference):
        self.value = value

    def __reduce__(self):
        Shared.dumps += 1
        # as bytes: _unpickled loads them with the cyclic collector held off (4× faster at M)
        return _unpickled, (pickle.dumps(self.value, protocol=pickle.HIGHEST_PROTOCOL),)


def _unpickled(payload: bytes) -> Shared:
    Shared.loads += 1
    with cycles_collected_after():
        value = pickle.loads(payload)
    leave_out_of_collections(len(value.bullets))  # the worker's copy, read by each of its validations
    return Shared(value)


class SharingFailed(Exception):
    """The Dask cluster could not take the reference (raised from the cluster's error)."""


@contextmanager
def shared_reference(ref: Reference, fingerprint: str) -> Iterator[object]:
    """The reference as validate_file's ``ref`` argument, for the tasks submitted inside the block.

    On threads: Shared(ref), the object itself. On a Dask task runner: a future of Shared(ref)
    scattered to every worker once (pickled once here; Dask resolves the future to each worker's
    copy, so a task carries only its key). Broadcast, not left on one worker: the scheduler places
    a task near its dependencies, so with one copy it would favour that worker. The key is the
    reference's fingerprint, so no worker of a long-lived cluster (--dask-address) is handed
    another master's reference; the workers drop it when the block ends. Scattered rather than
    written to a file: a remote cluster shares no file system with the driver, and a restarted
    worker gets a replica from another one."""
    client = _dask_client()
    if client is None:
        yield Shared(ref)
        return
    key = f"annex-reference-{fingerprint}"
    try:
        future = client.scatter({key: Shared(ref)}, broadcast=True, hash=False)[key]
    except Exception as exc:
        raise SharingFailed(str(exc) or type(exc).__name__) from exc
    try:
        yield future
    finally:
        future.release()


def _dask_client():
    """The running flow's Dask client, if its task runner is prefect-dask's (not imported: it is not)."""
    context = FlowRunContext.get()
    dask_runners = sys.modules.get("prefect_dask.task_runners")
    if context is None or dask_runners is None or not isinstance(context.task_runner, dask_runners.DaskTaskRunner):
        return None
    return context.task_runner.client


def _cache_key(context, parameters) -> str:
    item = parameters["item"]
    return collect.validation_key(item.sha256, parameters["fingerprint"]) + f"-{item.name}"


class Held(Exception):
    """A verdict about the machine (annex.model.issues.SYSTEM_RULES): raised, so that Prefect
    retries the task and never caches it; the flow then holds the file (保留)."""

    def __init__(self, submission: Submission):
        super().__init__(submission.issues[0].message if submission.issues else "")
        self.submission = submission


@task(
    name="validate",
    task_run_name="validate-{item.name}",
    cache_key_fn=_cache_key,
    persist_result=True,
    retries=1,
    retry_delay_seconds=1,
)
def validate_file(item: collect.Received, ref: Shared, fingerprint: str) -> Submission:
    submission = collect.validate_received(item, ref.value)
    if submission.held:
        raise Held(submission)
    return submission


def validate_or_hold(item: collect.Received, ref: Shared, fingerprint: str) -> Submission:
    """validate_file called in the flow (not submitted): a held file comes back held, not raised."""
    try:
        return validate_file(item, ref, fingerprint)
    except Held as held:
        return held.submission


@task(name="record-validations", cache_policy=NO_CACHE)
def record_validations(ws: Workspace, pairs: list[tuple[collect.Received, Submission]]) -> list[LedgerEntry]:
    return collect.record_validations(ws, pairs)
