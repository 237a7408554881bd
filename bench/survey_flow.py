"""read + validate + merge as `annex run` does them, on the thread or the Dask task runner (sizes M, L).

    python bench/survey_flow.py WORKSPACE thread|dask

`annex run` at a million lines would also write every feedback workbook, the Word document and
its PDF (issue 13: not at this size); this flow runs only the product's own tasks that the task
runner spreads — collect, the reference, one validation task per file (flows.steps.validate_all),
the ledger, the merge — with the flow's default runner (threads) or a local Dask cluster of 2
workers, set up as flows.annual.run_annual sets it up. Prints one JSON line: the flow body's
wall time, the counts, a digest of every file's validation (the runners must agree), how often
the reference was pickled here and unpickled on each Dask worker, and this process's peak RSS
(the driver alone: the harness samples the whole tree, Dask workers and readers included); the
harness times the whole process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prefect import flow  # noqa: E402
from prefect.context import FlowRunContext  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from prefect.utilities.annotations import opaque  # noqa: E402

from annex.io.workers import DEFAULT_WORKERS  # noqa: E402
from annex.workspace.layout import Workspace  # noqa: E402
from flows.annual import accepted_submissions  # noqa: E402
from flows.steps import dask_task_runner, validate_all  # noqa: E402
from tasks.collect import collect, load_reference  # noqa: E402
from tasks.merge import merge  # noqa: E402
from tasks.validate import Shared, record_validations  # noqa: E402

DASK_WORKERS = 2
YEAR = 2026


@flow(name="bench-read-validate-merge", task_runner=ThreadPoolTaskRunner(max_workers=DEFAULT_WORKERS))
def read_validate_merge(workspace: str, year: int = YEAR) -> dict:
    start = time.perf_counter()
    ws = Workspace.at(workspace)
    received, _ = collect(ws, year)
    ref, fingerprint = load_reference(ws, year)
    submissions = validate_all(received, ref, fingerprint)
    loads = worker_reference_loads()
    record_validations(ws, opaque([(i, submissions[i.sha256]) for i in received]))
    accepted = accepted_submissions(ws, year, submissions, ref, fingerprint)
    merged = merge(ws, year, opaque(accepted), received=len(received))
    return {
        "flow_seconds": round(time.perf_counter() - start, 3),
        "files": len(received),
        "held": sum(1 for s in submissions.values() if s.verdict == "保留"),
        "verdicts": dict(Counter(s.verdict for s in submissions.values())),
        "accepted": len(accepted),
        "merge_counts": merged.counts,
        "validated": digest(submissions),
        "reference_pickled": Shared.dumps,
        "reference_worker_loads": loads,
    }


def digest(submissions: dict) -> str:
    """Every file's lines and issues, as one short digest: equal on both runners."""
    text = json.dumps([dataclasses.asdict(submissions[k]) for k in sorted(submissions)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def worker_reference_loads() -> list[int] | None:
    """On Dask: how many copies of the reference each worker unpickled (tasks.validate.Shared.loads)."""
    runner = FlowRunContext.get().task_runner
    if type(runner).__name__ != "DaskTaskRunner":
        return None
    return sorted(runner.client.run(_reference_loads).values())


def _reference_loads() -> int:
    return Shared.loads


def main(workspace: str, runner: str) -> dict:
    selected = read_validate_merge
    if runner == "dask":  # as run_annual sets it up
        cluster = {"n_workers": DASK_WORKERS, "threads_per_worker": 1}
        selected = read_validate_merge.with_options(task_runner=dask_task_runner(cluster=cluster))
    elif runner != "thread":
        raise SystemExit(f"runner: thread or dask, not {runner}")
    result = selected(workspace)
    result["driver_peak_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # Linux: KiB
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2]), ensure_ascii=False))
