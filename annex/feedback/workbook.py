"""Feedback to a ministry: its own workbook back with every problem marked, and an e-mail.

The workbook is a copy of the file the ministry sent (so the marks sit where it typed), made in
a worker (annex.io.workers) after preflight passed it: formulas are replaced by their cached
values, macros and external links are not carried, each problem cell is filled (red: error,
yellow: warning) and carries a Japanese comment, and a first sheet 検証結果 states the verdict
and lists every issue with a link to its cell. The copy is made at the package level
(annex.feedback.package, issue 13) when the file holds only parts of known kinds, as
templates do; otherwise openpyxl loads and saves the whole workbook (data_only, no VBA, no
links). Everything annex writes goes through annex.io.xlsx.set_text, so ministry text that
starts with = + - @ stays text. A file that cannot be opened gets a fresh workbook with 検証結果 only.

The e-mail (jinja2, text and HTML with autoescape) goes to the ministry's contacts from config,
one ministry per message, with only that ministry's feedback attached.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path, PurePath
from typing import Any
from zipfile import BadZipFile

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink

from annex.feedback.package import Mark, NotPlain, Package, graft_first_sheet, mark_cells, neutralise_formulas, plain_workbook
from annex.intake.preflight import REJECTING_RULES
from annex.io.files import write_atomically
from annex.io.workers import WorkerPool
from annex.io.xlsx import (
    BODY_FONT,
    FEEDBACK_HEADER_LOOK,
    TITLE_FONT,
    WRAP,
    font,
    print_setup,
    row_height,
    set_text,
    text_width,
    use_sheet_font,
    xml_safe,
)
from annex.model.config import Config
from annex.model.contract import SHEET_RESULT, feedback_attachment_name
from annex.model.issues import Issue, Submission
from annex.model.labels import format_instant
from annex.model.rules import RULES
from annex.notify.mail import compose_message

FILL_ERROR = PatternFill("solid", fgColor="FFC7CE")
FILL_WARNING = PatternFill("solid", fgColor="FFEB9C")
FONT_HEADER, FILL_HEADER = FEEDBACK_HEADER_LOOK
FONT_LINK = font(color="0563C1", underline="single")
FONT_BOLD = font(bold=True)
SEVERITY_JA = {"error": "エラー", "warning": "警告"}
VERDICT_NOTE = {
    "受理": "提出物を受理しました。修正の必要はありません。",
    "受理（警告あり）": "提出物を受理しました。警告の項目をご確認ください（修正は任意です）。",
    "差戻し": "エラーがあるため受理できませんでした。エラーの項目を修正し、再提出してください。",
}
# (label, width): the sheet prints one page wide on A4 landscape; 内容 and 修正のしかた wrap.
ISSUE_COLUMNS = (
    ("No.", 5),
    ("重要度", 8),
    ("シート", 11),
    ("セル", 7),
    ("項目ID", 13),
    ("確認項目", 18),
    ("内容", 44),
    ("修正のしかた", 36),
    ("コード", round(max(text_width(code) for code in RULES) + 1)),  # every rule code on one line
)
ISSUE_HEADERS = tuple(label for label, _ in ISSUE_COLUMNS)
ISSUE_WIDTHS = tuple(width for _, width in ISSUE_COLUMNS)
LABEL_SPAN = 3  # summary labels span No.–シート, their values the rest of the row


def ministry_names(config: Config) -> dict[str, str]:
    """abbreviation → 「環（環境省・原子力規制委員会）」, as 検証結果 names the ministry."""
    return {m.abbr: f"{m.abbr}（{'・'.join(m.names)}）" for m in config.ministries}


def _comment_text(issues: list[Issue]) -> str:
    parts = []
    for issue in issues:
        text = f"【{SEVERITY_JA[issue.severity]} {issue.rule}】{issue.message}"
        if issue.suggestion:
            text += f"\n→ {issue.suggestion}"
        parts.append(text)
    return xml_safe("\n\n".join(parts))[:30000]


def _write_results(ws: Any, sub: Submission, sheets: set[str], ministry_name: str | None = None) -> None:
    """The 検証結果 sheet: verdict, counts, then one row per issue with a link to its cell.

    Only what the officer can act on: the file as they named it (no archive path, no SHA-256)."""
    ws.sheet_properties.tabColor = "C00000" if sub.verdict == "差戻し" else "00B050"
    last = len(ISSUE_COLUMNS)
    for c, width in enumerate(ISSUE_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    set_text(ws["A1"], "検証結果")
    ws["A1"].font = TITLE_FONT
    ws.row_dimensions[1].height = 24
    rows = (
        ("判定", sub.verdict),
        ("", VERDICT_NOTE[sub.verdict]),
        ("ファイル", PurePath(sub.file.replace("\\", "/")).name if sub.file else ""),
        ("府省", ministry_name or sub.ministry or "（特定できません）"),
        ("件数", f"エラー {len(sub.errors)} 件・警告 {len(sub.warnings)} 件"),
    )
    value_width = sum(ISSUE_WIDTHS[LABEL_SPAN:])
    for r, (label, value) in enumerate(rows, start=3):
        set_text(ws.cell(row=r, column=1), label)
        set_text(ws.cell(row=r, column=LABEL_SPAN + 1), value)
        ws.cell(row=r, column=1).font, ws.cell(row=r, column=LABEL_SPAN + 1).font = FONT_BOLD, BODY_FONT
        ws.cell(row=r, column=1).alignment = WRAP
        ws.cell(row=r, column=LABEL_SPAN + 1).alignment = WRAP
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=LABEL_SPAN)
        ws.merge_cells(start_row=r, start_column=LABEL_SPAN + 1, end_row=r, end_column=last)
        ws.row_dimensions[r].height = row_height([(str(value), value_width)])
    verdict = ws.cell(row=3, column=LABEL_SPAN + 1)
    verdict.font = font(bold=True, size=14, color="C00000" if sub.verdict == "差戻し" else "006100")
    ws.row_dimensions[3].height = 22
    head = 3 + len(rows) + 1
    for c, label in enumerate(ISSUE_HEADERS, start=1):
        cell = ws.cell(row=head, column=c)
        set_text(cell, label)
        cell.font, cell.fill, cell.alignment = FONT_HEADER, FILL_HEADER, WRAP
    if not sub.issues:
        set_text(ws.cell(row=head + 1, column=1), "問題は見つかりませんでした。")
        ws.cell(row=head + 1, column=1).font = BODY_FONT
        ws.merge_cells(start_row=head + 1, start_column=1, end_row=head + 1, end_column=last)
    for n, issue in enumerate(sub.issues, start=1):
        r = head + n
        loc = issue.location
        values = (
            n,
            SEVERITY_JA[issue.severity],
            loc.sheet or "",
            loc.cell or "",
            loc.item_id or "",
            RULES[issue.rule].title if issue.rule in RULES else "",
            (f"{loc.offset + 1}文字目: " if loc.offset is not None else "") + issue.message,
            issue.suggestion or "",
            issue.rule,
        )
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c)
            set_text(cell, value)
            cell.alignment, cell.font = WRAP, BODY_FONT  # the ministry's workbook may have another default
        ws.cell(row=r, column=2).fill = FILL_ERROR if issue.severity == "error" else FILL_WARNING
        if loc.sheet in sheets and loc.cell:
            link = ws.cell(row=r, column=4)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{loc.sheet}'!{loc.cell}", display=loc.cell)
            link.font = FONT_LINK
        ws.row_dimensions[r].height = row_height((str(v), w) for v, w in zip(values, ISSUE_WIDTHS))
    ws.freeze_panes = ws.cell(row=head + 1, column=1)
    print_setup(
        ws,
        title_rows=f"{head}:{head}",
        header=SHEET_RESULT,
        last_column=last,
        last_row=head + max(1, len(sub.issues)),
    )


def _marks(sub: Submission, sheet_names: Collection[str]) -> dict[tuple[str, str], Mark]:
    """(sheet, cell) → its fill (red if any error there, else yellow) and the comment naming every issue there."""
    by_cell: dict[tuple[str, str], list[Issue]] = {}
    for issue in sub.issues:
        loc = issue.location
        if loc.sheet in sheet_names and loc.cell:
            by_cell.setdefault((loc.sheet, loc.cell), []).append(issue)
    return {
        place: Mark(FILL_ERROR if any(i.severity == "error" for i in issues) else FILL_WARNING, _comment_text(issues))
        for place, issues in by_cell.items()
    }


def _mark_cells(wb: Any, sub: Submission) -> None:
    for (sheet, address), mark in _marks(sub, wb.sheetnames).items():
        ws = wb[sheet]
        try:
            cell = ws[address]
        except (ValueError, IndexError):
            continue
        cell.fill = mark.fill
        # The officer must be able to do what the message says there (type a deleted column
        # label back, restore a typed-over locked cell); resubmission compares it again anyway.
        cell.protection = Protection(locked=False)
        comment = Comment(mark.comment, "annex")
        comment.width, comment.height = mark.width, mark.height
        cell.comment = comment


def _neutralise_formulas(wb: Any) -> None:
    """No formula leaves annex: a cell that still holds one becomes its text.

    Only the cells the file holds are visited: iter_rows() would create every cell up to the
    farthest one, and one styled empty cell at XFD1048576 makes that 17 billion cells."""
    for ws in wb.worksheets:
        for cell in list(getattr(ws, "_cells", {}).values()):  # openpyxl has no public "stored cells" view
            if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")):
                set_text(cell, cell.value)


def _save(wb: Any, target: Path) -> None:
    write_atomically(target, lambda p: wb.save(p))


def _results_sheet(sub: Submission, sheets: set[str], ministry_name: str | None) -> Workbook:
    """A scratch workbook whose one sheet is 検証結果, selected (grafted into the ministry's copy)."""
    wb = Workbook()
    use_sheet_font(wb)
    ws = wb.active
    ws.title = SHEET_RESULT
    _write_results(ws, sub, sheets, ministry_name)
    ws.sheet_view.tabSelected = True
    return wb


def _marked_package(source: Path, sub: Submission, ministry_name: str | None) -> bytes:
    """The copy made at the package level (annex.feedback.package); raises NotPlain where it cannot be."""
    package = Package.read(source)
    book = plain_workbook(package)
    if SHEET_RESULT in book.sheet_names:  # a feedback workbook sent back: replace the old results
        book.remove_sheet(SHEET_RESULT)
    neutralise_formulas(package, book)
    mark_cells(package, book, _marks(sub, book.sheet_names))
    graft_first_sheet(book, _results_sheet(sub, {*book.sheet_names, SHEET_RESULT}, ministry_name))
    return package.to_bytes()


def write_feedback_workbook(source: str, sub: Submission, target: str, ministry_name: str | None = None) -> str:
    """The ministry's own workbook, marked, with 検証結果 first. Runs in a worker; raises if the copy cannot be made.

    Made at the package level where the file holds only parts of known kinds (every template
    as sent and as Excel saves it); otherwise with openpyxl, which decides what is kept."""
    if not copy_allowed(sub):
        write_results_only(sub, Path(target), ministry_name)
        return target
    try:
        data = _marked_package(Path(source), sub, ministry_name)
    except NotPlain:
        _write_with_openpyxl(source, sub, Path(target), ministry_name)
    else:
        write_atomically(Path(target), lambda p: p.write_bytes(data))
    return target


def _write_with_openpyxl(source: str, sub: Submission, target: Path, ministry_name: str | None) -> None:
    wb = load_workbook(source, data_only=True, keep_vba=False, keep_links=False, rich_text=False)
    if SHEET_RESULT in wb.sheetnames:  # a feedback workbook sent back: replace the old results
        del wb[SHEET_RESULT]
    _neutralise_formulas(wb)
    _mark_cells(wb, sub)
    results = wb.create_sheet(SHEET_RESULT, 0)
    _write_results(results, sub, set(wb.sheetnames), ministry_name)
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = False
    wb.active = 0
    results.sheet_view.tabSelected = True
    _save(wb, target)


def write_results_only(sub: Submission, target: Path, ministry_name: str | None = None) -> Path:
    """A fresh workbook with just 検証結果 (for files that could not be opened)."""
    wb = Workbook()
    use_sheet_font(wb)
    ws = wb.active
    ws.title = SHEET_RESULT
    _write_results(ws, sub, set(), ministry_name)
    _save(wb, Path(target))
    return Path(target)


def copy_allowed(sub: Submission) -> bool:
    """The ministry's file may be opened for marking: no file-level rule refused it as unsafe or unreadable."""
    return not any(i.rule in REJECTING_RULES for i in sub.issues)


# -- e-mail ---------------------------------------------------------------------------------
def feedback_context(config: Config, sub: Submission, attachment: str | None, in_use: str | None = None) -> dict[str, Any]:
    """``in_use``: for a returned file, the earlier accepted version that stays in the annex meanwhile."""
    ministry = config.ministry_by_abbr.get(sub.ministry or "")
    issues = [
        {
            "severity": SEVERITY_JA[i.severity],
            "code": i.rule,
            "title": RULES[i.rule].title if i.rule in RULES else i.rule,
            "where": "!".join(x for x in (i.location.sheet, i.location.cell) if x)
            + (f"（{i.location.offset + 1}文字目）" if i.location.offset is not None else ""),
            "item_id": i.location.item_id or "",
            "message": i.message,
            "suggestion": i.suggestion or "",
        }
        for i in sub.issues
    ]
    return {
        "title": config.settings.title,
        "year": config.year,
        "ministry": sub.ministry,
        "ministry_name": "・".join(ministry.names) if ministry else sub.ministry,
        "verdict": sub.verdict,
        "verdict_note": VERDICT_NOTE[sub.verdict],
        "file": sub.file,
        "errors": len(sub.errors),
        "warnings": len(sub.warnings),
        "issues": issues,
        "attachment": attachment,
        "deadline": format_instant(config.settings.deadline),
        "secretariat": config.secretariat,
        "in_use": in_use if sub.verdict == "差戻し" else None,
    }


def compose_feedback_email(
    config: Config, templates: Any, sub: Submission, feedback_path: Path | None, in_use: str | None = None
) -> EmailMessage:
    """One message to one ministry: its contacts only, its own feedback only. ``templates``: the
    jinja2 environment of the e-mail templates (Workspace.email_templates)."""
    ministry = config.ministry_by_abbr.get(sub.ministry or "")
    if ministry is None or not ministry.contacts:
        raise ValueError(f"{sub.ministry} の連絡先が config/ministries.yaml にありません")
    year = sub.year or config.year
    attachment = feedback_attachment_name(ministry.names[0], year, sub.sha256) if feedback_path else None
    return compose_message(
        templates,
        "feedback",
        feedback_context(config, sub, attachment, in_use),
        subject=f"【{config.settings.title}】提出物の検証結果：{sub.verdict}（{ministry.abbr}）",
        sender=config.settings.smtp.sender,
        to=ministry.contacts,
        attachment=(Path(feedback_path).read_bytes(), attachment) if feedback_path else None,
    )


def write_feedback_workbooks(
    jobs: list[tuple[Path, Submission, Path]], pool: WorkerPool, names: Mapping[str, str] | None = None
) -> list[Path]:
    """(ministry's file, its Submission, where to write) → the feedback workbooks, in order.
    ``names``: ministry_names(config), so that 検証結果 names the ministry in full.

    Each is written in the worker pool (openpyxl opens the ministry's own file there); where the
    copy cannot be made, a fresh workbook with 検証結果 only takes its place."""
    names = names or {}
    # a workbook shows the verdict and the issues: the lines (most of a Submission's objects)
    # would only be pickled to the worker and back
    args = [(str(src), replace(sub, lines=[]), str(target), names.get(sub.ministry or "")) for src, sub, target in jobs]
    outcomes = pool.map(write_feedback_workbook, args)
    for (_, sub, target), outcome in zip(jobs, outcomes):
        if not outcome.ok:
            write_results_only(sub, target, names.get(sub.ministry or ""))
    return [target for _, _, target in jobs]


def read_issue_codes(path: Path) -> list[str]:
    """The rule code of every issue listed on a feedback workbook's 検証結果 sheet (for the status
    page: the ledger keeps counts only). Read-only, that sheet only; [] if it cannot be read."""
    try:
        book = load_workbook(path, read_only=True)
    except (OSError, KeyError, ValueError, BadZipFile):
        return []
    try:
        if SHEET_RESULT not in book.sheetnames:
            return []
        codes: list[str] = []
        column = None
        for row in book[SHEET_RESULT].iter_rows(values_only=True):
            if column is None:
                if row and row[0] == ISSUE_HEADERS[0] and ISSUE_HEADERS[-1] in row:
                    column = row.index(ISSUE_HEADERS[-1])
            elif len(row) > column and row[column]:
                codes.append(str(row[column]))
        return codes
    finally:
        book.close()
