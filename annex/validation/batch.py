"""A batch of workbooks → Submissions: each read in the memory-limited worker pool, then all
checked together (annex.validation.validate). A worker that times out, runs out of memory or dies
makes its file unreadable, never the batch."""

from __future__ import annotations

from pathlib import Path

from annex.intake.reader import RawWorkbook, read_workbook
from annex.io.workers import Outcome, WorkerPool
from annex.model.issues import Submission
from annex.validation.validate import Reference, rejected_unreadable, validate_batch


def _read_outcome(outcome: Outcome, name: str, sha: str) -> RawWorkbook | Submission:
    if outcome.ok:
        return outcome.value
    if outcome.status == "timeout":
        return rejected_unreadable(name, sha, "F-TOO-LARGE", f"読み取りが制限時間（{outcome.detail}）を超えました")
    if "MemoryError" in outcome.detail:
        return rejected_unreadable(name, sha, "F-TOO-LARGE", "読み取りに必要なメモリが上限を超えました")
    if outcome.status == "crashed":
        return rejected_unreadable(name, sha, "F-UNREADABLE", "読み取り中に処理が異常終了しました")
    return rejected_unreadable(name, sha, "F-UNREADABLE", "読み取り中にエラーが起きました")


def read_and_validate(items: list[tuple[Path, str, str]], ref: Reference, pool: WorkerPool) -> list[Submission]:
    """(path to read, name to show, sha256) → Submissions, in the same order."""
    outcomes = pool.map(read_workbook, [(str(path), name) for path, name, _ in items])
    readable: list[tuple[RawWorkbook, str]] = []
    slots: list[Submission | int] = []
    for (_path, name, sha), outcome in zip(items, outcomes):
        result = _read_outcome(outcome, name, sha)
        if isinstance(result, Submission):
            slots.append(result)
        else:
            slots.append(len(readable))
            readable.append((result, sha))
    validated = validate_batch(readable, ref)
    return [s if isinstance(s, Submission) else validated[s] for s in slots]
