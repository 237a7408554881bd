"""A batch of workbooks → Submissions: each read in the memory-limited worker pool, then all
checked together (annex.validation.validate).

A worker that times out, runs out of memory or dies says something about the machine (a loaded
machine, a short timeout), not about the file: the file is read again, in a fresh worker, up to
READ_ATTEMPTS times. If it still fails, preflight looks at its bytes here (byte-level, bounded):
a file it refuses gets that located verdict; any other file is 保留 (F-READ-INTERRUPTED) —
never judged, never cached, read again on the next run."""

from __future__ import annotations

from pathlib import Path

from annex.intake.preflight import preflight
from annex.intake.reader import RawWorkbook, read_workbook
from annex.io.workers import Outcome, WorkerPool
from annex.model.issues import Submission
from annex.validation.validate import Reference, check_failed, held, validate_batch

READ_ATTEMPTS = 3  # the first read and two more, each in a fresh worker


def machine_detail(outcome: Outcome) -> str:
    """What went wrong on the machine, in Japanese, for the secretariat."""
    if outcome.status == "timeout":
        return f"読み取りが制限時間（{outcome.detail}）を超えました"
    if "MemoryError" in outcome.detail:
        return "読み取り処理がメモリの上限に達しました"
    if outcome.status == "crashed":
        return f"読み取り処理が異常終了しました（{outcome.detail}）"
    return f"読み取り中にエラーが起きました（{outcome.detail[:120]}）"


def _not_read(outcome: Outcome, path: Path, name: str, sha: str) -> Submission:
    """A file whose reading never completed: its bytes' own verdict if preflight refuses it, else held."""
    if outcome.status == "error" and "MemoryError" not in outcome.detail:
        return check_failed(name, sha, RuntimeError(outcome.detail))  # read_workbook raised: annex's own fault
    checked = preflight(path, name)
    if not checked.ok:
        return Submission(file=name, sha256=sha, ministry=None, year=None, template_version=None, issues=checked.issues)
    return held(name, sha, machine_detail(outcome))


def read_all(items: list[tuple[Path, str, str]], pool: WorkerPool) -> list[Outcome]:
    """Read every file in the pool; a read the machine interrupted is tried again in a fresh worker."""
    jobs = [(str(path), name) for path, name, _ in items]
    outcomes = pool.map(read_workbook, jobs)
    for _ in range(READ_ATTEMPTS - 1):
        again = [i for i, o in enumerate(outcomes) if not o.ok]
        if not again:
            break
        for i, outcome in zip(again, pool.map(read_workbook, [jobs[i] for i in again])):
            outcomes[i] = outcome
    return outcomes


def read_and_validate(items: list[tuple[Path, str, str]], ref: Reference, pool: WorkerPool) -> list[Submission]:
    """(path to read, name to show, sha256) → Submissions, in the same order."""
    outcomes = read_all(items, pool)
    readable: list[tuple[RawWorkbook, str]] = []
    slots: list[Submission | int] = []
    for (path, name, sha), outcome in zip(items, outcomes):
        if outcome.ok:
            slots.append(len(readable))
            readable.append((outcome.value, sha))
        else:
            slots.append(_not_read(outcome, Path(path), name, sha))
    validated = validate_batch(readable, ref)
    return [s if isinstance(s, Submission) else validated[s] for s in slots]
