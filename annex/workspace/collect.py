"""Collect and validate: submissions/<Y>/ → archive + ledger → Submissions → feedback workbooks.

Order matters and is the promise: a file is hashed, copied into the content-addressed archive
(annex.intake.archive) and recorded in the ledger *before* anything parses it, so a file that
crashes a reader is still kept and logged. Parsing happens only in the worker pool
(annex.validation.batch). The same bytes received again are recognised by their SHA-256 and not
processed again. `annex validate`, `annex merge` and the annual flow all use these functions; the
flow calls the steps one by one (a task per file), the CLI calls collect_and_validate.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import tempfile
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from annex.feedback.workbook import ministry_names, write_feedback_workbooks
from annex.intake.archive import Skipped, archive_file, display_name, readable_name, submission_files
from annex.intake.ledger import VERDICT_STATUS, Ledger, LedgerEntry
from annex.intake.reader import read_workbook
from annex.intake.versions import receipt_order
from annex.io.files import WriteError
from annex.io.workers import DEFAULT_WORKERS, WorkerPool, lent_worker
from annex.model.config import Config
from annex.model.contract import TEMPLATE_VERSION
from annex.model.errors import AnnexError, os_reason
from annex.model.issues import Submission
from annex.model.rules import CATALOGUE_VERSION, rule
from annex.validation.batch import read_and_validate
from annex.validation.validate import Reference, check_failed, sha256_of
from annex.workspace.layout import Workspace
from annex.workspace.master import load_reference


@dataclass
class CollectResult:
    year: int
    new: list[LedgerEntry] = field(default_factory=list)  # entries recorded by this run
    seen: list[tuple[str, LedgerEntry]] = field(default_factory=list)  # (path, entry) already in the ledger
    received: list[Received] = field(default_factory=list)  # every file of the inbox, new or seen
    ignored: list[Skipped] = field(default_factory=list)  # lock files, OS metadata, symlinks, FIFOs — with why
    submissions: list[Submission] = field(default_factory=list)  # for the new entries, same order
    feedback: dict[str, Path] = field(default_factory=dict)  # sha256 → feedback workbook


@contextlib.contextmanager
def _ledger(workspace: Workspace, ledger: Ledger | None) -> Iterator[Ledger]:
    """The ledger given, or the workspace's, opened and closed here."""
    if ledger is not None:
        yield ledger
    else:
        with workspace.open_ledger() as own:
            yield own


@contextlib.contextmanager
def _pool(pool: WorkerPool | None, jobs: int) -> Iterator[WorkerPool]:
    """The pool given, or one sized to the work (no idle workers for one file), closed here."""
    if pool is not None:
        yield pool
    else:
        with WorkerPool(workers=max(1, min(DEFAULT_WORKERS, jobs))) as own:
            yield own


@dataclass(frozen=True)
class Received:
    """A file of submissions/<Y>/, archived and in the ledger."""

    entry: LedgerEntry
    stored: Path  # the archived bytes (content-addressed, read-only)
    name: str  # the name the ministry gave it (readable: see annex.intake.archive.readable_name)
    name_note: str | None = None  # why the name shown differs from the one on disk, if it does

    @property
    def sha256(self) -> str:
        return self.entry.sha256

    @property
    def validated(self) -> bool:
        return self.entry.status != "received"


def receive(workspace: Workspace, year: int, ledger: Ledger | None = None) -> tuple[list[Received], list[Skipped]]:
    """Hash, archive and record every file of the inbox before anything parses it; (files, skipped).

    The files of one call are received together: they share one received_at and are recorded in
    the order of the time saved inside them, so that for two versions of one ministry received
    together the one saved last is the newer (annex.intake.versions).
    An archive that cannot be written (disk full, read-only) stops the collection with one
    message: a file is never processed without its archived copy.
    """
    inbox = workspace.submissions(year)
    files, skipped = submission_files(inbox)
    files = receipt_order(files)  # one received time for all: the saved time orders the versions
    received = []
    now = dt.datetime.now(dt.UTC)
    with _ledger(workspace, ledger) as book:
        for path in files:
            relative = "/".join(readable_name(part)[0] for part in path.relative_to(inbox).parts)
            name, note = readable_name(path.name)
            try:
                sha, size, stored = archive_file(path, workspace.archive)
                entry, _ = book.record_received(
                    year=year,
                    path=relative,
                    sha256=sha,
                    size=size,
                    archive_path=stored.relative_to(workspace.archive).as_posix(),
                    received_at=now,
                )
            except (OSError, SQLAlchemyError) as exc:
                raise ArchiveError(relative, workspace.archive, exc) from None
            received.append(Received(entry, stored, name, note))
    return received, skipped


class ArchiveError(AnnexError):
    """A received file could not be stored in archive/ (or the ledger beside it)."""

    exit_code = 1

    def __init__(self, name: str, archive: Path, exc: BaseException):
        why = os_reason(exc)
        super().__init__(
            f"受け取ったファイル「{name}」を {archive} に保存できません（{why}）。収集を中止しました",
            hint="空き容量と書き込み権限を確認してから再実行してください（受け取り済みのファイルはそのまま残ります）",
        )


def inbox_lines(received: Iterable[Received], skipped: Iterable[Skipped]) -> list[str]:
    """What the secretariat must know about the inbox itself: every file skipped, with why, and
    every name shown otherwise than it is on disk."""
    return [
        *(f"対象外: {s.line()}" for s in skipped),
        *(f"ファイル名: {item.name} — {item.name_note}" for item in received if item.name_note),
    ]


def validation_key(sha256: str, reference_fingerprint: str) -> str:
    """What a validation result depends on: the bytes, the rules, the template layout, the reference."""
    return f"validate-{sha256}-{CATALOGUE_VERSION}-{TEMPLATE_VERSION}-{reference_fingerprint}"


def validate_received(item: Received, ref: Reference) -> Submission:
    """Read one archived file in a worker lent from the process's shared set and validate it (the
    flow's task per file: the workers outlive the file, so a file costs a job, not a process)."""
    with lent_worker() as pool:
        return read_and_validate([(item.stored, item.name, item.sha256)], ref, pool)[0]


def validation_failed(item: Received, exc: BaseException, config: Config) -> Submission:
    """A file whose validation task failed outright (a bug of annex met by this file): the same
    answer validate_batch gives a file whose checks raised — 保留 (F-CHECK-FAILED), no verdict,
    nothing sent to the ministry, checked again next run — under the ministry identify_ministry
    finds, so that its ministry is neither 未提出 nor 差戻し."""
    return check_failed(item.name, item.sha256, exc, identify_ministry(item, config)[0])


def identify_ministry(item: Received, config: Config) -> tuple[str | None, str]:
    """(ministry, how it was told) for a file whose validation failed: the workbook's metadata
    (read again in a worker, which fails alone), else a ministry's name in the file name, when
    exactly one matches; (None, "") otherwise."""
    with contextlib.suppress(Exception):
        with WorkerPool(workers=1, timeout_s=30) as pool:
            [outcome] = pool.map(read_workbook, [(str(item.stored), item.name)])
        meta = (outcome.value.meta or {}) if outcome.ok else {}
        if (abbr := (meta.get("ministry") or "").strip()) in config.ministry_by_abbr:
            return abbr, "ブックの管理情報"
    if abbr := ministry_in_name(item.name, config):
        return abbr, "ファイル名"
    return None, ""


def ministry_in_name(name: str, config: Config) -> str | None:
    """The ministry whose name the file name holds, when exactly one does."""
    text = unicodedata.normalize("NFKC", name)
    found = {m.abbr for m in config.ministries if not m.abolished for n in m.names if len(n) >= 2 and n in text}
    return found.pop() if len(found) == 1 else None


def held_ministry(item: Received, sub: Submission, config: Config) -> str | None:
    """The ministry a held file is recorded under: the one its checks found (the workbook's
    metadata, identify_ministry's), else the one its name tells — a worker that timed out read nothing,
    and is not asked to read the file again."""
    if sub.ministry in config.ministry_by_abbr:
        return sub.ministry
    return ministry_in_name(item.name, config)


def verdict_line(sub: Submission, known: Container[str]) -> str:
    """What happens to one file, in a line: 受理, or 差戻し and why; a file no ministry can be
    named for is the secretariat's to look at (no e-mail can go out for it)."""
    errors = sub.errors
    first = f"「{rule(errors[0].rule).title}」{errors[0].message}" if errors else ""
    more = f" ほか {len(errors) - 1} 件" if len(errors) > 1 else ""
    if sub.held:
        who = f"{sub.ministry}: " if sub.ministry else ""
        return f"保留（{who}{first}）— 府省には送りません"
    if sub.ministry is None or sub.ministry not in known:
        return f"府省不明（{first or 'どの府省の記入シートか分かりません'}）— 事務局で確認してください（メールは送りません）"
    if sub.accepted:  # 受理, or 受理（警告あり）
        warned = f"・警告 {len(sub.warnings)} 件" if sub.warnings else ""
        return f"受理（{sub.ministry}{warned}）"
    return f"差戻し（{sub.ministry}: {first}{more}）"


def unattributed(pairs: Iterable[tuple[Received, Submission]], known: Container[str]) -> list[str]:
    """The files no ministry can be named for, one line each: the secretariat's to look at. A held
    file is not one of them (its ministry is often known: see held_files)."""
    return [
        f"{item.name} → {verdict_line(sub, known)}"
        for item, sub in pairs
        if not sub.held and (sub.ministry is None or sub.ministry not in known)
    ]


def held_files(pairs: Iterable[tuple[Received, Submission]], known: Container[str]) -> list[str]:
    """The files held (保留: the machine failed, not the file), one line each."""
    return [f"{item.name} → {verdict_line(sub, known)}" for item, sub in pairs if sub.held]


HELD_HEADING = "保留（機械側の失敗・次回の実行で検証し直します）"
UNATTRIBUTED_HEADING = "府省の分からないファイル"


def files_to_check_lines(held: list[str], unattributed: list[str]) -> list[str]:
    """The headed lists `annex run` and `annex merge` both print: held files apart from those
    without a ministry (a held file's ministry is often known; only the machine failed)."""
    lines = []
    if held:
        lines += [f"{HELD_HEADING} {len(held)} 件:", *(f"  {line}" for line in held)]
    if unattributed:
        lines.append(f"{UNATTRIBUTED_HEADING} {len(unattributed)} 件（事務局で確認してください）:")
        lines += [f"  {line}" for line in unattributed]
    return lines


def issue_counts(submissions: list[Submission]) -> Counter:
    return Counter(issue.rule for sub in submissions for issue in sub.issues)


def record_validations(
    workspace: Workspace, pairs: list[tuple[Received, Submission]], ledger: Ledger | None = None
) -> list[LedgerEntry]:
    """Complete the ledger entries validated for the first time; the others are returned as they are."""
    known = workspace.config.ministry_by_abbr
    out = []
    with _ledger(workspace, ledger) as book:
        for item, sub in pairs:
            if item.validated:
                out.append(item.entry)
                continue
            if sub.held:  # no verdict yet: the entry stays "received" (checked again next run), its ministry noted
                out.append(book.record_held(item.entry.id, ministry=held_ministry(item, sub, workspace.config)))
                continue
            out.append(
                book.record_validation(
                    item.entry.id,
                    ministry=sub.ministry if sub.ministry in known else None,
                    template_version=sub.template_version,
                    status=VERDICT_STATUS[sub.verdict],
                    errors=len(sub.errors),
                    warnings=len(sub.warnings),
                )
            )
    return out


def newest_accepted(workspace: Workspace, year: int, ledger: Ledger | None = None) -> dict[str, LedgerEntry]:
    """Ministry → the ledger entry of its newest accepted version: the one that is merged."""
    with _ledger(workspace, ledger) as book:
        return book.newest_accepted(year)


def version_in_use(newest: dict[str, LedgerEntry], sub: Submission) -> str | None:
    """For a returned file: the name of its ministry's earlier accepted version, which stays in the annex."""
    kept = newest.get(sub.ministry or "")
    return Path(kept.path).name if not sub.accepted and kept is not None and kept.sha256 != sub.sha256 else None


def feedback_folder(workspace, year: int) -> Path:
    return workspace.output(year) / "feedback"


def feedback_name(workspace, submission: Submission) -> str:
    ministry = workspace.config.ministry_by_abbr.get(submission.ministry or "")
    return feedback_file_name(ministry.slug if ministry else "unidentified", submission.sha256)


def feedback_file_name(slug: str, sha256: str) -> str:
    return f"{slug}-{sha256[:12]}.xlsx"


def write_feedback(
    workspace: Workspace,
    year: int,
    pairs: list[tuple[Path, Submission]],
    pool: WorkerPool | None = None,
    *,
    overwrite: bool = True,
) -> dict[str, Path]:
    """Feedback workbooks for (ministry's file, Submission) pairs under output/<Y>/feedback/; sha256 → path.
    ``overwrite=False`` keeps the workbooks already written (a resubmission of the same bytes)."""
    folder = feedback_folder(workspace, year)
    folder.mkdir(parents=True, exist_ok=True)
    pairs = [(src, sub) for src, sub in pairs if not sub.held]  # nothing to tell a ministry before a verdict
    target = {sub.sha256: folder / feedback_name(workspace, sub) for _, sub in pairs}
    jobs = [(src, sub, target[sub.sha256]) for src, sub in pairs if overwrite or not target[sub.sha256].exists()]
    if jobs:
        try:
            with _pool(pool, len(jobs)) as workers:
                write_feedback_workbooks(jobs, workers, ministry_names(workspace.config))
        except OSError as exc:  # disk full or unwritable: no half-written workbook may be sent later
            for _, _, path in jobs:
                if path.exists() and not _complete_xlsx(path):
                    path.unlink()
            raise WriteError(folder, exc) from None
    return target


def _complete_xlsx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (OSError, zipfile.BadZipFile):
        return False


# -- the two entry points -------------------------------------------------------------------
def validate_files(
    workspace: Workspace,
    year: int | None,
    paths: Iterable[Path],
    *,
    pool: WorkerPool | None = None,
    feedback: bool = True,
    reference: Reference | None = None,
) -> list[Submission]:
    """`annex validate`: the same checks on given files, no ledger, no e-mail; feedback to output/<Y>/feedback/."""
    year = workspace.year(year)
    paths = [Path(p) for p in paths]
    ref = reference or load_reference(workspace, year)
    with tempfile.TemporaryDirectory(prefix="annex-validate-") as scratch, _pool(pool, len(paths)) as workers:
        readable = [_utf8_path(p, Path(scratch)) for p in paths]
        jobs = [(r, readable_name(p.name)[0], sha256_of(p)) for p, r in zip(paths, readable)]
        submissions = read_and_validate(jobs, ref, workers)
        if feedback:
            write_feedback(workspace, year, list(zip(readable, submissions)), workers)
    return submissions


def _utf8_path(path: Path, scratch: Path) -> Path:
    """The reader (calamine) takes UTF-8 paths only: a file whose path is not (a Shift_JIS name)
    is read from a copy under a neutral name. Collected files never need this: the archive names
    them by SHA-256."""
    try:
        str(path).encode("utf-8")
        return path
    except UnicodeEncodeError:
        copy = scratch / f"{len(list(scratch.iterdir()))}{path.suffix.encode('ascii', 'ignore').decode() or '.bin'}"
        shutil.copyfile(path, copy)
        return copy


def collect_and_validate(
    workspace: Workspace,
    year: int | None = None,
    *,
    ledger: Ledger | None = None,
    pool: WorkerPool | None = None,
    feedback: bool = True,
    reference: Reference | None = None,
) -> CollectResult:
    """Collect submissions/<Y>/: archive and record new files, validate them, write feedback.

    Files whose bytes were already validated are listed in ``seen`` and not processed again; a
    file recorded but never validated (a run stopped half-way) is validated now.
    """
    year = workspace.year(year)
    result = CollectResult(year)
    with _ledger(workspace, ledger) as book:
        received, result.ignored = receive(workspace, year, book)
        result.received = received
        result.seen = [(item.entry.path, item.entry) for item in received if item.validated]
        todo = [item for item in received if not item.validated]
        if not todo:
            return result
        ref = reference or load_reference(workspace, year)
        with _pool(pool, len(todo)) as workers:
            result.submissions = read_and_validate([(i.stored, i.name, i.sha256) for i in todo], ref, workers)
            pairs = list(zip(todo, result.submissions))
            if feedback:  # before the ledger: a file whose feedback could not be written is validated again
                result.feedback = write_feedback(workspace, year, [(i.stored, sub) for i, sub in pairs], workers)
            result.new = record_validations(workspace, pairs, book)
    return result


Revalidate = Callable[[list[Received]], list[Submission]]


def accepted_submissions(
    workspace: Workspace,
    year: int | None = None,
    *,
    ledger: Ledger | None = None,
    known: dict[str, Submission] | None = None,
    reference: Reference | None = None,
    revalidate: Revalidate | None = None,
) -> dict[str, tuple[LedgerEntry, Submission]]:
    """Ministry → (ledger entry, Submission) of its newest accepted version: what is merged.

    Versions validated in this run are taken from ``known`` (sha256 → Submission); the others
    (accepted in an earlier run) are read again from the archive by ``revalidate`` — by default
    in a worker pool here; the annual flow passes its cached validation task.
    """
    year = workspace.year(year)
    entries = [e for e in newest_accepted(workspace, year, ledger).values() if e.ministry]
    found = dict(known or {})
    again = [
        Received(e, workspace.archive / e.archive_path, display_name(Path(e.path).name)) for e in entries if e.sha256 not in found
    ]
    if again:
        if revalidate is None:
            ref = reference or load_reference(workspace, year)
            with _pool(None, len(again)) as workers:
                subs = read_and_validate([(i.stored, i.name, i.sha256) for i in again], ref, workers)
        else:
            subs = revalidate(again)
        found.update((item.sha256, sub) for item, sub in zip(again, subs))
    if interrupted := [found[e.sha256] for e in entries if found[e.sha256].held]:
        # an accepted version that cannot be read now must not leave its ministry 未更新 in a published master
        names = "、".join(f"{s.file}（{s.issues[0].message}）" for s in interrupted)
        raise AnnexError(f"受理済みの版を読み直せませんでした: {names}", hint="処理側の問題です。もう一度実行してください。")
    return {e.ministry: (e, found[e.sha256]) for e in entries}
