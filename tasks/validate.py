"""Validate one submission file: its own task (failure boundary), cached on its bytes and the rules."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from annex.intake.ledger import LedgerEntry
from annex.model.issues import Submission
from annex.validation.validate import Reference
from annex.workspace import collect
from annex.workspace.layout import Workspace


class Shared:
    """A large read-only value handed to tasks as it is: Prefect does not walk into it (the
    reference holds the whole annex) and it pickles once per task for a Dask worker."""

    def __init__(self, value: Reference):
        self.value = value


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
