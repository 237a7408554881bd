"""`annex render`: master(Y) of a workspace → output/<Y>/annex-context.json, annex.docx, annex.pdf,
annex-review.docx: the same annex for the secretariat's check, each 未更新 bullet (its owners
did not submit) highlighted, and this year's new and modified bullets in their own colours, and
annex-redline.docx: the changes against master(Y-1) as Word tracked changes, each by the ministry
that made it, dated with its submission's arrival (from the ledger)."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from annex.io.files import ensure_dir, owner_tag, publishing, sweep_orphans
from annex.master.store import read_master
from annex.model.ownership import bullet_owners
from annex.render.context import build_context, context_json, expected_min_pages, review_context, review_marks
from annex.render.pdf import PdfResult, convert_to_pdf
from annex.render.redline import Author, redline_docx
from annex.render.writer import TEMPLATE_NAME, render_docx
from annex.workspace.layout import Workspace
from annex.workspace.master import master_if_any, require_master


@dataclass
class RenderResult:
    year: int
    written: list[Path] = field(default_factory=list)
    context_path: Path | None = None
    docx_path: Path | None = None
    pdf_path: Path | None = None
    pdf_produced: bool = False
    pdf_reason: str | None = None  # why there is no PDF (Japanese), when there is none
    pages: int | None = None
    tables: int = 0
    footnotes: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    removed_stale_pdf: bool = False
    review_path: Path | None = None
    review_counts: dict[str, int] = field(default_factory=dict)  # not_updated / modified / added
    not_updated: dict[str, int] = field(default_factory=dict)  # ministry → its 未更新 bullets
    redline_path: Path | None = None  # annex-redline.docx; None without master(Y-1)
    redline_revisions: int = 0


def render_year(workspace: Workspace, year: int, *, pdf: bool = True, timeout: float = 300.0) -> RenderResult:
    """Render master(year) of a workspace into output/<year>/ (context, docx, and PDF if possible).

    The three files are published together (atomically); when no PDF could be made, the docx is
    still delivered, the reason is reported, and an older annex.pdf is removed so that the PDF
    on disk never disagrees with the Word file.
    """
    result = RenderResult(year=year)
    clock = time.perf_counter()
    sweep_orphans(workspace.output(year))  # a killed run's temp files and scratch folders (pid dead)
    annex = read_master(require_master(workspace, year))
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    context = build_context(annex, title=workspace.config.title_for(year), created=created)
    previous = _previous(workspace, year)
    marks = review_marks(annex, previous)
    result.not_updated = _not_updated_by_ministry(workspace, annex)
    if result.not_updated:
        context["warnings"].append(
            f"未更新（担当府省から提出がなく前年度の記載のまま）の記載 {sum(result.not_updated.values())} 件: "
            + "・".join(f"{m} {n}件" for m, n in result.not_updated.items())
            + "（確認用の annex-review.docx に黄色で示しています）"
        )
    result.warnings = list(context["warnings"])
    result.seconds["context"] = time.perf_counter() - clock

    folder = ensure_dir(workspace.output(year))
    scratch = Path(tempfile.mkdtemp(prefix=f".annex-render-{owner_tag()}", dir=folder))
    try:
        clock = time.perf_counter()
        docx = scratch / "annex.docx"
        info = render_docx(context, workspace.template(TEMPLATE_NAME), docx)
        result.tables, result.footnotes = info.tables, info.footnotes
        result.seconds["docx"] = time.perf_counter() - clock
        # LibreOffice converts annex.docx in its own process while this one writes the review and
        # redline documents: the PDF (the longest step) no longer waits for them.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="annex-pdf") as background:
            pdf_job = background.submit(_timed_pdf, docx, scratch, timeout, expected_min_pages(context)) if pdf else None
            clock = time.perf_counter()
            review, result.review_counts = review_context(context, marks)
            review_docx = scratch / "annex-review.docx"
            render_docx(review, workspace.template(TEMPLATE_NAME), review_docx)
            redline = None
            if previous is not None:
                redline = scratch / "annex-redline.docx"
                authors, default = redline_authors(workspace, year, annex, previous, created)
                result.redline_revisions = redline_docx(
                    build_context(previous), context, workspace.template(TEMPLATE_NAME), redline, authors, default
                )["revisions"]
            result.seconds["review"] = time.perf_counter() - clock
            pdf_result = None
            if pdf_job is not None:
                pdf_result, result.seconds["pdf"] = pdf_job.result()
                result.pdf_produced = pdf_result.ok
                result.pdf_reason = pdf_result.reason
                result.pages = pdf_result.pages
            else:
                result.pdf_reason = "PDF の作成は指定により省略しました（--no-pdf）"
        with publishing() as outputs:
            result.context_path = outputs.stage_text(folder / "annex-context.json", context_json(context))
            result.docx_path = outputs.stage(folder / "annex.docx", lambda p: shutil.copyfile(docx, p))
            result.review_path = outputs.stage(folder / "annex-review.docx", lambda p: shutil.copyfile(review_docx, p))
            if redline is not None:
                result.redline_path = outputs.stage(folder / "annex-redline.docx", lambda p: shutil.copyfile(redline, p))
            if pdf_result is not None and pdf_result.ok:
                result.pdf_path = outputs.stage(folder / "annex.pdf", lambda p: shutil.copyfile(pdf_result.path, p))
        result.written = [
            p for p in (result.context_path, result.docx_path, result.pdf_path, result.review_path, result.redline_path) if p
        ]
        stale = folder / "annex.pdf"
        if not result.pdf_produced and stale.exists():
            stale.unlink()
            result.removed_stale_pdf = True
        stale_redline = folder / "annex-redline.docx"
        if redline is None and stale_redline.exists():  # from a render that still had master(Y-1): not this annex's
            stale_redline.unlink()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def _timed_pdf(docx: Path, scratch: Path, timeout: float, min_pages: int) -> tuple[PdfResult, float]:
    clock = time.perf_counter()
    converted = convert_to_pdf(docx, scratch, timeout=timeout, expected_min_pages=min_pages)
    return converted, time.perf_counter() - clock


def _previous(workspace: Workspace, year: int):
    """master(Y-1) to tell this year's changes by, when the workspace has it (or it is the baseline)."""
    found = master_if_any(workspace, year - 1)
    return found[0] if found is not None else None


def _not_updated_by_ministry(workspace: Workspace, annex) -> dict[str, int]:
    """ministry → its 未更新 bullets (a bullet counts for each of its owners), in table order."""
    config = workspace.config
    counts: dict[str, int] = {}
    for row, column, bullet in annex.bullets():
        if bullet.not_updated:
            for owner in bullet_owners(row, column, bullet, config.tags, config.secretariat.abbr):
                counts[owner] = counts.get(owner, 0) + 1
    return {m: counts[m] for m in config.tags.table_order(list(counts))}


def author_name(workspace: Workspace, abbr: str) -> str:
    """A ministry as Word shows the author of a change: 「文部科学省（文）」, 「内閣人事局」."""
    ministry = workspace.config.ministry_by_abbr.get(abbr)
    if not ministry or not ministry.names or ministry.names[0] == abbr:
        return abbr
    return f"{ministry.names[0]}（{abbr}）"


def _iso(moment: dt.datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite drops the zone of UTC instants
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def redline_authors(workspace: Workspace, year: int, annex, previous, created: str) -> tuple[dict[str, Author], Author]:
    """item id → the ministry that changed it and its submission's arrival: from the bullet's
    provenance (the file's SHA-256 in this year's ledger); a deleted bullet is its first owner
    (in tag order, as the merge decides) with an accepted submission. Anything else (sub-headings,
    目標・指標) is the secretariat's, dated with its own submission, or the render."""
    config = workspace.config
    with workspace.open_ledger() as ledger:
        entries = ledger.entries(year)
    by_sha = {e.sha256: e for e in entries}
    newest = {e.ministry: e for e in entries if e.accepted and e.ministry}  # in order of receipt: the last wins
    authors: dict[str, Author] = {}
    for _, _, bullet in annex.bullets():
        origin = bullet.provenance
        entry = by_sha.get(origin.sha256 or "") if origin else None
        if bullet.id and entry is not None:
            authors[bullet.id] = Author(author_name(workspace, origin.ministry or entry.ministry), _iso(entry.received_at))
    current = {b.id for _, _, b in annex.bullets() if b.id}
    for row, column, bullet in previous.bullets():
        if bullet.id and bullet.id not in current:
            owners = bullet_owners(row, column, bullet, config.tags, config.secretariat.abbr)
            owner = next((m for m in owners if m in newest), None)
            if owner is not None:
                authors[bullet.id] = Author(author_name(workspace, owner), _iso(newest[owner].received_at))
    secretariat = config.secretariat.abbr
    own = newest.get(secretariat)
    default = Author(author_name(workspace, secretariat), _iso(own.received_at) if own else created)
    return authors, default
