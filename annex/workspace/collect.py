"""Collect and validate: submissions/<Y>/ → archive + ledger → Submissions → feedback workbooks.

Order matters and is the promise: a file is hashed, copied into the content-addressed archive
and recorded in the ledger *before* anything parses it, so a file that crashes a reader is still
kept and logged. Parsing happens only in the worker pool (annex.io.workers); the line checks run
once for the whole batch (annex.validation.validate). The same bytes received again are recognised by their
SHA-256 and not processed again.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from annex.io.workers import DEFAULT_WORKERS, Outcome, WorkerPool
from annex.intake.ledger import VERDICT_STATUS, Ledger, LedgerEntry
from annex.model.issues import Submission
from annex.validation.validate import Reference, rejected_unreadable, sha256_of, validate_batch
from annex.intake.reader import RawWorkbook, read_workbook

IGNORED_PREFIXES = (".", "~$")  # hidden files and Excel's lock files (~$name.xlsx) are not submissions


@dataclass
class CollectResult:
    year: int
    new: list[LedgerEntry] = field(default_factory=list)  # entries recorded by this run
    seen: list[tuple[str, LedgerEntry]] = field(default_factory=list)  # (path, entry) already in the ledger
    ignored: list[str] = field(default_factory=list)  # lock files, hidden files, symlinks
    submissions: list[Submission] = field(default_factory=list)  # for the new entries, same order
    feedback: dict[str, Path] = field(default_factory=dict)  # sha256 → feedback workbook


# -- archive --------------------------------------------------------------------------------
def _extension(name: str) -> str:
    suffix = Path(name).suffix.lower().lstrip(".")
    return suffix if re.fullmatch(r"[a-z0-9]{1,8}", suffix) else "bin"


def archive_file(source: Path, archive_root: Path) -> tuple[str, int, Path]:
    """Copy source into archive/sha256/<ab>/<hex>.<ext> while hashing it; (sha256, size, path).

    The copy is made even when the bytes are already archived: hashing and copying in one pass
    guarantees the archive holds exactly the bytes hashed, even if a ministry overwrites the file
    while it is read (a few MB per run; never worth that risk)."""
    staging = archive_root / "sha256"
    staging.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, temp_name = tempfile.mkstemp(prefix=".incoming.", dir=staging)
    try:
        with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
            for chunk in iter(lambda: src.read(2**20), b""):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        final = staging / sha[:2] / f"{sha}.{_extension(source.name)}"
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            os.unlink(temp_name)
        else:
            os.replace(temp_name, final)
            os.chmod(final, 0o444)
        return sha, size, final
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


def display_name(name: str) -> str:
    """The original name as metadata: NFC, control characters removed."""
    return "".join(c for c in unicodedata.normalize("NFC", name) if c.isprintable()) or "(名前なし)"


def submission_files(folder: Path) -> tuple[list[Path], list[str]]:
    """Every regular file under folder, recursively, in a stable order; and what was skipped."""
    files, ignored = [], []
    if not folder.exists():
        return files, ignored
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            ignored.append(rel)
        elif path.is_file():
            if any(part.startswith(IGNORED_PREFIXES) for part in path.relative_to(folder).parts):
                ignored.append(rel)
            else:
                files.append(path)
    return files, ignored


@dataclass(frozen=True)
class Received:
    """A file of submissions/<Y>/, archived and in the ledger."""

    entry: LedgerEntry
    stored: Path  # the archived bytes (content-addressed, read-only)
    name: str  # the name the ministry gave it

    @property
    def sha256(self) -> str:
        return self.entry.sha256

    @property
    def validated(self) -> bool:
        return self.entry.status != "received"


def receive(workspace, year: int, ledger: Ledger) -> tuple[list[Received], list[str]]:
    """Hash, archive and record every file of the inbox before anything parses it; (files, ignored)."""
    inbox = workspace.submissions(year)
    files, ignored = submission_files(inbox)
    received = []
    for path in files:
        sha, size, stored = archive_file(path, workspace.archive)
        entry, _ = ledger.record_received(year=year, path=path.relative_to(inbox).as_posix(), sha256=sha, size=size,
                                          archive_path=stored.relative_to(workspace.archive).as_posix())
        received.append(Received(entry, stored, display_name(path.name)))
    return received, ignored


def record_validations(workspace, ledger: Ledger, pairs: list[tuple[Received, Submission]]) -> list[LedgerEntry]:
    """Complete the ledger entries validated for the first time; the others are returned as they are."""
    known = workspace.config.ministry_by_abbr
    out = []
    for item, sub in pairs:
        if item.validated:
            out.append(item.entry)
            continue
        out.append(ledger.record_validation(
            item.entry.id, ministry=sub.ministry if sub.ministry in known else None,
            template_version=sub.template_version, status=VERDICT_STATUS[sub.verdict],
            errors=len(sub.errors), warnings=len(sub.warnings),
        ))
    return out


# -- reading in the pool --------------------------------------------------------------------
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
    for (path, name, sha), outcome in zip(items, outcomes):
        result = _read_outcome(outcome, name, sha)
        if isinstance(result, Submission):
            slots.append(result)
        else:
            slots.append(len(readable))
            readable.append((result, sha))
    validated = validate_batch(readable, ref)
    return [s if isinstance(s, Submission) else validated[s] for s in slots]


def feedback_folder(workspace, year: int) -> Path:
    return workspace.output(year) / "feedback"


def feedback_name(workspace, submission: Submission) -> str:
    ministry = workspace.config.ministry_by_abbr.get(submission.ministry or "")
    return f"{ministry.slug if ministry else 'unidentified'}-{submission.sha256[:12]}.xlsx"


def write_feedback(workspace, year: int, pairs: list[tuple[Path, Submission]], pool: WorkerPool) -> dict[str, Path]:
    """Feedback workbooks for (source file, submission) pairs; returns sha256 → path."""
    from annex.feedback.workbook import write_feedback_workbook, write_results_only

    folder = feedback_folder(workspace, year)
    folder.mkdir(parents=True, exist_ok=True)
    targets = [folder / feedback_name(workspace, sub) for _, sub in pairs]
    outcomes = pool.map(write_feedback_workbook, [(str(src), sub, str(target)) for (src, sub), target in zip(pairs, targets)])
    written: dict[str, Path] = {}
    for (src, sub), target, outcome in zip(pairs, targets, outcomes):
        if not outcome.ok:  # the ministry's copy could not be opened: a fresh workbook with 検証結果 only
            write_results_only(sub, target)
        written[sub.sha256] = target
    return written


# -- the two entry points -------------------------------------------------------------------
def validate_files(workspace, year: int | None, paths: Iterable[Path], *, pool: WorkerPool | None = None,
                   feedback: bool = True, reference: Reference | None = None) -> list[Submission]:
    """`annex validate`: the same checks on given files, no ledger, no e-mail; feedback to output/<Y>/feedback/."""
    year = workspace.year(year)
    paths = [Path(p) for p in paths]
    own_pool = pool is None
    pool = pool or WorkerPool()
    try:
        ref = reference or Reference.load(workspace, year)
        items = [(p, display_name(p.name), sha256_of(p)) for p in paths]
        submissions = read_and_validate(items, ref, pool)
        if feedback:
            write_feedback(workspace, year, [(p, s) for p, s in zip(paths, submissions)], pool)
    finally:
        if own_pool:
            pool.close()
    return submissions


def collect_and_validate(workspace, year: int | None = None, *, ledger: Ledger | None = None,
                         pool: WorkerPool | None = None, feedback: bool = True,
                         reference: Reference | None = None) -> CollectResult:
    """Collect submissions/<Y>/: archive and record new files, validate them, write feedback.

    Files whose bytes were already validated are listed in ``seen`` and not processed again; a
    file recorded but never validated (a run stopped half-way) is validated now.
    """
    year = workspace.year(year)
    own_ledger = ledger is None
    ledger = ledger or Ledger.for_workspace(workspace)
    result = CollectResult(year)
    try:
        received, result.ignored = receive(workspace, year, ledger)
        result.seen = [(item.entry.path, item.entry) for item in received if item.validated]
        todo = [item for item in received if not item.validated]
        if not todo:
            return result
        own_pool = pool is None
        pool = pool or WorkerPool()
        try:
            ref = reference or Reference.load(workspace, year)
            result.submissions = read_and_validate([(i.stored, i.name, i.sha256) for i in todo], ref, pool)
            pairs = list(zip(todo, result.submissions))
            result.new = record_validations(workspace, ledger, pairs)
            if feedback:
                result.feedback = write_feedback(workspace, year, [(i.stored, sub) for i, sub in pairs], pool)
        finally:
            if own_pool:
                pool.close()
    finally:
        if own_ledger:
            ledger.close()
    return result


def accepted_submissions(workspace, year: int | None = None, *, ledger: Ledger | None = None,
                         pool: WorkerPool | None = None, reference: Reference | None = None,
                         known: dict[str, Submission] | None = None) -> dict[str, tuple[LedgerEntry, Submission]]:
    """Ministry → (ledger entry, Submission) of its newest accepted version.

    Versions validated in this run are taken from ``known`` (sha256 → Submission); the others
    are re-read from the archive.
    """
    year = workspace.year(year)
    own_ledger = ledger is None
    ledger = ledger or Ledger.for_workspace(workspace)
    try:
        newest = ledger.newest_accepted(year)
    finally:
        if own_ledger:
            ledger.close()
    if not newest:
        return {}
    known = known or {}
    entries = list(newest.values())
    reread = [e for e in entries if e.sha256 not in known]
    found = dict(known)
    if reread:
        ref = reference or Reference.load(workspace, year)
        items = [(workspace.archive / e.archive_path, display_name(Path(e.path).name), e.sha256) for e in reread]
        own_pool = pool is None
        pool = pool or WorkerPool(workers=min(DEFAULT_WORKERS, len(reread)))
        try:
            found.update((e.sha256, sub) for e, sub in zip(reread, read_and_validate(items, ref, pool)))
        finally:
            if own_pool:
                pool.close()
    return {e.ministry: (e, found[e.sha256]) for e in entries if e.ministry}
