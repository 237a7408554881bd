"""A read workbook → a Submission with every issue located (file, sheet, cell, 項目ID, rule).

Stages, in order; a stage that finds the file unusable stops the ones after it:
1. file level   preflight and reader issues (annex.intake.reader), the metadata sheet (foreign,
                outdated, wrong year, unknown ministry, tampered), formulas;
2. structure    记入シート present, the header row where the contract puts it, every label;
3. lines        the pandera schema (annex.validation.schemas) over every line of every submission of the
                batch at once, plus the comparisons with the template that was distributed
                (locked cells, ids, ownership), which are per cell by nature.

Line checks on content apply to what the ministry wrote — new lines and changed cells — never to
text it received unchanged from last year's annex (that text was published; its spelling is
the secretariat's matter, and reporting it would make every clean submission a warning).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from rapidfuzz import fuzz, process

from annex.distribute.template import checksum_lines, plan_templates
from annex.intake.preflight import column_index, column_letter
from annex.intake.reader import Grid, RawWorkbook, live_cells
from annex.io.collector import cycles_collected_after
from annex.lint import dictionary as notation_dictionary
from annex.lint.text import context, lint_text
from annex.model.annex import Annex
from annex.model.config import Config
from annex.model.contract import (
    ACTION_DELETE,
    ACTION_EDIT,
    ACTION_NEW,
    ACTION_UNCHANGED,
    ACTIONS,
    COLUMN_BY_KEY,
    COLUMNS,
    HEADER_ROW,
    HEADER_SEARCH_ROWS,
    LIVE_LABEL,
    LOCKED_KEYS,
    QUOTED_FIELDS,
    RELISTED_VALUE,
    SHEET_ENTRY,
    SHEET_META,
    TABLE_FIELDS,
    TEMPLATE_VERSION,
    locked_checksum,
    preamble_items,
    preamble_row_id,
    quoted_items,
    read_marks,
    split_tags,
    typed_markup,
)
from annex.model.issues import Issue, Location, RowCells, RowValues, Severity, Submission, SubmissionLine
from annex.model.ownership import bullet_owners
from annex.model.rules import BLOCKING, HEADING_LIMIT, TEXT_LIMIT, rule
from annex.model.tags import comparison_key
from annex.validation.schemas import CONTROL_RE, HALFWIDTH_KANA_RE, LOOKALIKE_RE, SubmissionLines, validate_lines

EDITABLE_KEYS = tuple(c.key for c in COLUMNS if c.editable)
CODE_KEYS = ("item_id", "row_id", "field", "relisted", "relisted_of", "action")  # compared stripped
REQUIRED_KEYS = ("item_id", "row_id", "field", "text", "tags", "action")
LABEL_TO_KEY = {c.label: c.key for c in COLUMNS}


# -- what a submission is compared with ------------------------------------------------------
@dataclass
class Reference:
    """master(Y-1) and the templates planned from it: what each ministry was sent."""

    config: Config
    year: int
    annex: Annex | None = None
    plans: dict = field(default_factory=dict)  # ministry abbr → annex.distribute.template.TemplatePlan
    bullets: dict = field(default_factory=dict)  # item id → (row, column, bullet) in master(Y-1): Annex.bullet_index()
    known_ids: set[str] = field(default_factory=set)
    row_ids: set[str] = field(default_factory=set)
    severities: dict[str, str] = field(default_factory=dict)  # rule code → "error"/"warning": config's override hook
    source_digest: str = ""  # SHA-256 of the file master(Y-1) was read from ("" without one)
    dictionary: list = field(default_factory=list)  # annex.lint.dictionary entries (config/notation.yaml)

    @classmethod
    def for_annex(cls, config: Config, year: int, annex: Annex | None) -> "Reference":
        ref = cls(config, year, annex, severities=dict(config.settings.rule_severities))
        ref.dictionary = notation_dictionary.parse(config.notation, config.sources.get("notation.yaml", "notation.yaml"))
        if annex is not None:
            ref.plans = {plan.ministry: plan for plan in plan_templates(annex, config, year)}
            ref.bullets = annex.bullet_index()
            ref.known_ids = set(ref.bullets) | set(preamble_items(annex)) | set(quoted_items(annex))
            ref.row_ids = {row.id for _, _, row in annex.rows()} | {preamble_row_id(c) for c in annex.chapters}
        return ref

    def fingerprint(self) -> str:
        """A digest of everything a verdict depends on besides the file: master(Y-1) and the config."""
        digest = hashlib.sha256(f"{self.year}|{self.source_digest}|".encode())
        digest.update(self.config.model_dump_json(exclude={"sources"}).encode())
        return digest.hexdigest()[:16]


# -- helpers --------------------------------------------------------------------------------
def _severity(code: str, severities: Mapping[str, str], *, stops: bool = False) -> Severity | None:
    """The config's severity for a rule (rule_severities), None for the catalogue's.

    An issue that stops the submission — a BLOCKING rule (config refuses to downgrade those), or
    one that ``stops`` here, like a missing required column — stays an error whatever the
    severities say: downgrading it would accept a submission with no lines, its edits dropped."""
    wanted = severities.get(code)
    return None if (stops or code in BLOCKING) and wanted != "error" else wanted  # type: ignore[return-value]


def _issue(
    severities: Mapping[str, str],
    code: str,
    file: str,
    cell: str | None = None,
    item_id: str | None = None,
    *,
    at: str | None = SHEET_ENTRY,
    stops: bool = False,
    **fields: object,
) -> Issue:
    """An issue located at file / sheet ``at`` ! cell / 項目ID, at the severity the config gives the
    rule (see _severity); fields fill the catalogue's templates."""
    return rule(code).issue(Location(file, at, cell, item_id or None), _severity(code, severities, stops=stops), **fields)


def _reader_issue(issue: Issue, severities: Mapping[str, str]) -> Issue:
    """An issue the reader (annex.intake.reader, in the worker) made, at the config's severity; a reader
    error means the workbook was not read, so it stops the submission."""
    severity = _severity(issue.rule, severities, stops=issue.severity == "error")
    return dataclasses.replace(issue, severity=severity) if severity else issue


def _parse_year(value: str | None) -> tuple[str, int | None]:
    """The metadata's year as written (stripped, "2026.0" → "2026") and as a number, if it is one."""
    text = (value or "").strip().removesuffix(".0")
    return text, int(text) if text.isdigit() else None


def _text(value: str | None) -> str:
    return "" if value is None else value


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _chars(text: str, pattern: str) -> str:
    found = list(dict.fromkeys(re.findall(pattern, text)))
    return "、".join(f"U+{ord(c):04X}" if not c.isprintable() or unicodedata.category(c) == "Cf" else c for c in found[:5])


# -- stage 1: the file ----------------------------------------------------------------------
def _file_level(raw: RawWorkbook, ref: Reference) -> tuple[list[Issue], dict[str, str], int | None]:
    """(issues, the metadata, the year it states)."""
    file, sev = raw.file, ref.severities
    issues: list[Issue] = [_reader_issue(i, sev) for i in raw.issues]
    meta = raw.meta or {}
    year_text, year = _parse_year(meta.get("year"))
    if not raw.readable:
        return issues, meta, year
    if raw.meta is None:  # no ministry to attribute the lines to
        issues.append(_issue(sev, "F-FOREIGN", file, at=None))
        return issues, meta, year
    missing = [k for k in ("ministry", "year", "template_version", "checksum") if not meta.get(k)]
    if missing:
        issues.append(_issue(sev, "F-TAMPERED", file, at=SHEET_META, detail=f"管理情報「{'・'.join(missing)}」がありません"))
        return issues, meta, year
    version = meta["template_version"].strip()
    if version != TEMPLATE_VERSION:
        issues.append(_issue(sev, "F-OUTDATED", file, at=None, found=version, expected=TEMPLATE_VERSION))
    if year_text != str(ref.year):
        issues.append(_issue(sev, "F-WRONG-YEAR", file, at=None, found=year_text, expected=ref.year))
    ministry = meta["ministry"].strip()
    known = ref.config.ministry_by_abbr.get(ministry)
    if known is None:  # no ministry to attribute the lines to
        issues.append(_issue(sev, "F-UNKNOWN-MINISTRY", file, at=None, found=ministry))
    elif meta.get("ministry_slug") and meta["ministry_slug"].strip() != known.slug:
        issues.append(_issue(sev, "F-TAMPERED", file, at=SHEET_META, detail="府省の管理情報が一致しません"))
    issues.extend(_cell_notes(raw, sev, live_cells(raw.entry)))
    return issues, meta, year


def _cell_notes(raw: RawWorkbook, sev: Mapping[str, str], live) -> list[Issue]:
    """Formula and typed cells: the text they show is what is read, and the officer is told so;
    a cell whose text cannot be known (no cached value, a locale-dependent format) is an error.
    The template's own live checks (``live``) are not the ministry's input and are never noted."""
    issues: list[Issue] = []
    noted = {n.address for n in raw.notes}
    for note in raw.notes:
        if live(note.address):
            continue
        where = f"{SHEET_ENTRY}!{note.address}"
        row = int(note.address.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        item = ((raw.entry.value(row, 1) if raw.entry else None) or "").strip() or None  # 項目ID stands in column A
        if note.shown is None and note.kind is None:  # a formula whose result was never calculated
            issues.append(_issue(sev, "F-FORMULA-NOT-CALCULATED", raw.file, note.address, item, address=where))
            continue
        if note.shown is None:
            issues.append(
                _issue(sev, "F-VALUE-UNSHOWN", raw.file, note.address, item, address=where, kind=note.kind, format=note.format)
            )
            continue
        if note.formula:  # its shown value is said here, whatever its type
            issues.append(_issue(sev, "F-FORMULA", raw.file, note.address, item, address=where, shown=_short(note.shown)))
        elif note.kind is not None:
            issues.append(
                _issue(
                    sev, "F-TYPED-VALUE", raw.file, note.address, item, address=where, kind=note.kind, shown=_short(note.shown)
                )
            )
    for address in raw.formulas:  # a formula the reader could not look at (it always can: belt and braces)
        if address not in noted and not live(address):
            where = f"{SHEET_ENTRY}!{address}"
            issues.append(_issue(sev, "F-FORMULA-NOT-CALCULATED", raw.file, address, address=where))
    return issues


def _sheet_copies(raw: RawWorkbook, sev: Mapping[str, str]) -> list[Issue]:
    """A copy of 記入シート whose content differs (edited there, the original perhaps hidden) is an
    error at the copy's first differing cell: only 記入シート is read, so those edits would be lost.
    A hidden 記入シート is a warning (its content is what is read)."""
    issues: list[Issue] = []
    grid = raw.entry
    if grid is None:
        return issues
    if raw.entry_state != "visible":
        issues.append(_issue(sev, "S-SHEET-HIDDEN", raw.file, at=SHEET_ENTRY, entry=SHEET_ENTRY))
    for name, other in raw.others.items():
        if not _looks_like_entry(other):
            continue
        differs = _first_difference(grid, other)
        if differs is not None:
            issues.append(
                _issue(
                    sev, "S-SHEET-COPIED", raw.file, differs, at=name, sheet=name, entry=SHEET_ENTRY, address=f"{name}!{differs}"
                )
            )
    return issues


def _looks_like_entry(grid: Grid) -> bool:
    """Most of 記入シート's column labels in one of the first rows."""
    for cells in grid.rows[:HEADER_SEARCH_ROWS]:
        if sum(1 for v in cells if v is not None and v.strip() in LABEL_TO_KEY) >= len(COLUMNS) // 2:
            return True
    return False


def _first_difference(a: Grid, b: Grid) -> str | None:
    """The first cell (row by row) whose text differs between two sheets; None when they agree."""
    last_col = max(a.first_col + max((len(r) for r in a.rows), default=0), b.first_col + max((len(r) for r in b.rows), default=0))
    first_col = min(a.first_col, b.first_col)
    for r in range(1, max(len(a.rows), len(b.rows)) + 1):
        for c in range(first_col, last_col):
            if (a.value(r, c) or "") != (b.value(r, c) or ""):
                return f"{column_letter(c)}{r}"
    return None


# -- stage 2: structure ---------------------------------------------------------------------
@dataclass
class _Layout:
    header_row: int
    columns: dict[str, int]  # key → 1-based column


def _structure(raw: RawWorkbook, sev: Mapping[str, str]) -> tuple[list[Issue], _Layout | None]:
    """A missing sheet, or a missing column the lines cannot be read without (REQUIRED_KEYS),
    stops the submission; other missing columns and a moved header row do not."""
    file = raw.file
    grid = raw.entry
    if grid is None:
        return [_issue(sev, "S-SHEET-MISSING", file, at=None, sheet=SHEET_ENTRY)], None
    best_row, best = HEADER_ROW, -1
    for r in range(1, min(HEADER_SEARCH_ROWS, len(grid.rows)) + 1):
        hits = sum(1 for v in grid.rows[r - 1] if v is not None and v.strip() in LABEL_TO_KEY)
        if hits > best:
            best_row, best = r, hits
    issues: list[Issue] = []
    if best <= 0:
        for i, spec in enumerate(COLUMNS, start=1):
            cell = f"{column_letter(i)}{HEADER_ROW}"
            issues.append(
                _issue(
                    sev,
                    "S-COLUMN-MISSING",
                    file,
                    cell,
                    stops=spec.key in REQUIRED_KEYS,
                    label=spec.label,
                    suggestion=f"{cell} に列見出し「{spec.label}」を戻してください。",
                )
            )
        return issues, None
    if best_row != HEADER_ROW:
        issues.append(_issue(sev, "S-HEADER-MOVED", file, f"A{best_row}", found=best_row, expected=HEADER_ROW))
    columns: dict[str, int] = {}
    strays: dict[str, int] = {}
    for j, value in enumerate(grid.rows[best_row - 1]):
        col = grid.first_col + j
        if value is None or not value.strip():
            continue
        key = LABEL_TO_KEY.get(value.strip())
        if key and key not in columns:
            columns[key] = col
        elif not key and value.strip() != LIVE_LABEL:  # チェック is the template's own, never a renamed label
            strays[value.strip()] = col
    for i, spec in enumerate(COLUMNS, start=1):
        if spec.key in columns:
            continue
        match = process.extractOne(spec.label, list(strays), scorer=fuzz.ratio, score_cutoff=40) if strays else None
        if match:
            cell = f"{column_letter(strays[match[0]])}{best_row}"
            hint = f"列見出し「{match[0]}」を「{spec.label}」に戻してください。"
        else:
            cell = f"{column_letter(i)}{best_row}"
            hint = f"削除した列「{spec.label}」を元の位置に戻してください。"
        issues.append(
            _issue(sev, "S-COLUMN-MISSING", file, cell, stops=spec.key in REQUIRED_KEYS, label=spec.label, suggestion=hint)
        )
    if any(k not in columns for k in REQUIRED_KEYS):
        return issues, None
    return issues, _Layout(best_row, columns)


# -- stage 3: lines -------------------------------------------------------------------------
def _stray_cells(grid: Grid, layout: _Layout, lines: list[SubmissionLine], sev: Mapping[str, str], file: str) -> list[Issue]:
    """Text in a row that is no line (no 項目ID, nothing in a column to fill in) is not read: said
    once per file, at its first cell, with the count — never dropped without a word."""
    used = {line.excel_row for line in lines}
    context = {layout.columns.get(k) for k in ("row_id", "chapter", "section", "measure")}  # pre-filled on spare lines
    found: list[str] = []
    for r in range(layout.header_row + 1, len(grid.rows) + 1):
        if r in used:
            continue
        for j, value in enumerate(grid.rows[r - 1]):
            if value is not None and value.strip() and grid.first_col + j not in context:
                found.append(f"{column_letter(grid.first_col + j)}{r}")
                break
    if not found:
        return []
    more = f"（ほか {len(found) - 1} 行）" if len(found) > 1 else ""
    return [_issue(sev, "L-STRAY-CONTENT", file, found[0], address=f"{SHEET_ENTRY}!{found[0]}", more=more)]


def _lines(grid: Grid, layout: _Layout) -> list[SubmissionLine]:
    lines: list[SubmissionLine] = []
    # per column, once: its index into a grid row, its letter, whether it holds a code (stripped)
    columns = [(key, col - grid.first_col, column_letter(col), key in CODE_KEYS) for key, col in layout.columns.items()]
    letters = {key: letter for key, _, letter, _ in columns}  # every line's RowCells reads these
    positions = {key: i for i, (key, _, _, _) in enumerate(columns)}  # and its RowValues
    # one string for the texts every line of a row repeats (its 章, 節, 取組, 欄, 対応): each cell read
    # is a string of its own, and the lines are kept until the merge
    same: dict[str, str] = {}
    for r in range(layout.header_row + 1, len(grid.rows) + 1):
        cells = grid.rows[r - 1]
        width = len(cells)
        row: list[str] = []
        for _, j, _, code in columns:
            value = (cells[j] or "") if 0 <= j < width else ""
            value = value.strip() if code else value
            row.append(same.setdefault(value, value))
        values = RowValues(positions, tuple(row))
        if not values.get("item_id") and not any(values.get(k) for k in EDITABLE_KEYS):
            continue  # a spare line left empty, or a blank row (a row with text only elsewhere: _stray_cells)
        line = SubmissionLine(
            excel_row=r,
            item_id=values.get("item_id") or None,
            row_id=values.get("row_id") or None,
            field=values.get("field", ""),
            heading=values.get("heading") or None,
            text=values.get("text") or None,
            tags=split_tags(values.get("tags")),
            relisted=values.get("relisted") == RELISTED_VALUE,
            relisted_of=values.get("relisted_of") or None,
            action=values.get("action", ""),
            previous_text=values.get("previous_text") or None,
            cells=RowCells(letters, r),
            raw=values,
        )
        lines.append(line)
    return lines


@dataclass
class _Pending:
    """A readable submission waiting for the batch-wide line checks."""

    submission: Submission
    rows: list[dict] = field(default_factory=list)  # frame rows, aligned with submission.lines
    _by_value: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    def lines_with(self, column: str, value: str) -> list[SubmissionLine]:
        """The lines whose frame row holds value in column (grouped once per column, on first use)."""
        if column not in self._by_value:
            groups: dict[str, list[int]] = defaultdict(list)
            for i, row in enumerate(self.rows):
                groups[row[column]].append(i)
            self._by_value[column] = groups
        return [self.submission.lines[i] for i in self._by_value[column].get(value, [])]


def _compare_with_template(
    sub: Submission, plan, ref: Reference, meta: dict[str, str]
) -> tuple[list[Issue], dict[int, bool], dict[int, bool]]:
    """Locked cells, ids and ownership against the template that was distributed."""
    file, issues, sev = sub.file, [], ref.severities
    own_text: dict[int, bool] = {}
    own_tags: dict[int, bool] = {}
    if plan is None:  # nothing to compare with: the checksum still tells a tampered workbook
        checksum = locked_checksum(checksum_lines(ln.raw for ln in sub.lines))  # as TemplatePlan.checksum
        if meta.get("checksum") and checksum != meta["checksum"].strip():
            issues.append(_issue(sev, "F-TAMPERED", file, at=None, detail="変更不可の内容が配布時と一致しません"))
        for i, line in enumerate(sub.lines):
            own_text[i] = own_tags[i] = line.action in (ACTION_EDIT, ACTION_NEW) or not line.item_id
        return issues, own_text, own_tags
    if meta.get("checksum", "").strip() != plan.checksum:
        issues.append(_issue(sev, "F-TAMPERED", file, at=SHEET_META, detail="管理情報（チェックサム）が配布時と一致しません"))
    expected = plan.sent_lines
    index = ref.bullets
    config = ref.config
    seen: set[str] = set()
    for i, line in enumerate(sub.lines):
        values = line.raw
        sent = expected.get(line.item_id or "")
        if sent is None:
            own_text[i] = own_tags[i] = True
            continue
        seen.add(line.item_id)
        for key in LOCKED_KEYS:
            if key == "item_id" or key not in line.cells:
                continue
            if values.get(key, "").strip() != (sent.values.get(key) or "").strip():
                issues.append(
                    _issue(
                        sev,
                        "L-LOCKED-CHANGED",
                        file,
                        line.cells[key],
                        line.item_id,
                        label=COLUMN_BY_KEY[key].label,
                        expected=_short(sent.values.get(key) or "（空欄）"),
                    )
                )
        changed = [
            k
            for k in EDITABLE_KEYS
            if k in line.cells
            and k != "action"
            and (values.get(k, "").strip() if k in CODE_KEYS else values.get(k, "")) != (sent.values.get(k) or "")
        ]
        spelled = config.tags.spelled
        if "tags" in changed and spelled(split_tags(values.get("tags"))) == spelled(split_tags(sent.values.get("tags"))):
            changed.remove("tags")  # the same tags, with another separator or a configured alias
        own_text[i] = "text" in changed or "heading" in changed
        own_tags[i] = "tags" in changed
        if sent.kind == "context":
            if changed or line.action in (ACTION_EDIT, ACTION_DELETE):
                where = line.cells.get(changed[0] if changed else "action")
                owners = (
                    "、".join(bullet_owners(*index[line.item_id], config.tags, config.secretariat.abbr))
                    if line.item_id in index
                    else "他府省"
                )
                issues.append(_issue(sev, "L-NOT-OWNER", file, where, line.item_id, owners=owners))
            own_text[i] = own_tags[i] = False
        elif changed and line.action == ACTION_UNCHANGED:
            issues.append(_issue(sev, "L-UNCHANGED-BUT-EDITED", file, line.cells.get("action"), line.item_id))
            line.action = ACTION_EDIT  # accepted as an edit, as the message says
        elif not changed and line.action == ACTION_EDIT:
            issues.append(_issue(sev, "L-EDIT-UNCHANGED", file, line.cells.get("action"), line.item_id))
    gone = [item for item in expected if item not in seen]
    if gone:
        shown = "、".join(gone[:5]) + (f" ほか{len(gone) - 5}件" if len(gone) > 5 else "")
        issues.append(
            _issue(sev, "F-TAMPERED", file, at=SHEET_ENTRY, detail=f"配布した記載の行が削除されています（項目ID {shown}）")
        )
    return issues, own_text, own_tags


def _frame_row(
    sub_index: int,
    i: int,
    line: SubmissionLine,
    sub: Submission,
    ref: Reference,
    plan_ids: set[str] | None,
    own_text: bool,
    own_tags: bool,
    ids_in_sub: set[str],
) -> dict:
    values = line.raw
    tags = ref.config.tags
    unknown = ""
    for tag in line.tags:
        if tags.resolve(tag).kind == "unknown":
            unknown = tag
            break
    ministry = sub.ministry or ""
    deleted = line.action == ACTION_DELETE
    text = values.get("text", "")
    return {
        "sub": sub_index,
        "line": i,
        "item_id": values.get("item_id", ""),
        "row_id": values.get("row_id", ""),
        "field": values.get("field", ""),
        "heading": values.get("heading", ""),
        "text": text,
        "tags": values.get("tags", ""),
        "relisted": values.get("relisted", ""),
        "relisted_of": values.get("relisted_of", ""),
        "action": values.get("action", ""),
        "own_text": own_text,
        "own_tags": own_tags,
        "secretariat": ministry == ref.config.secretariat.abbr,
        "id_known": plan_ids is None or not line.item_id or line.item_id in plan_ids,
        "row_known": ref.annex is None or (line.row_id or "") in ref.row_ids,
        "relisted_of_known": ref.annex is None
        or (line.relisted_of or "") in ref.known_ids
        or (line.relisted_of or "") in ids_in_sub,
        "tags_self": ministry in tags.ministries_of(line.tags),
        "tag_unknown": unknown,
        "text_key": "" if deleted or not text.strip() else comparison_key(text),
    }


def _line_issue(code: str, column: str, item: _Pending, i: int, ref: Reference) -> Issue:
    """The issue for a schema failure on the i-th line of a pending submission, worded from its
    line and its frame row (what _frame_row already worked out is not worked out again)."""
    sub, line, row = item.submission, item.submission.lines[i], item.rows[i]
    values, sev = line.raw, ref.severities
    file, it = sub.file, line.item_id
    key = column or {
        "L-TEXT-EMPTY": "text",
        "L-TAGS-EMPTY": "tags",
        "L-TAG-MISSING-SELF": "tags",
        "X-DUPLICATE-ID": "item_id",
        "X-DUPLICATE-TEXT": "text",
    }.get(code, "text")
    cell = line.cells.get(key)
    value = values.get(key, "")
    ministry = sub.ministry or ""
    if code == "L-TEXT-TOO-LONG":
        return _issue(sev, code, file, cell, it, length=len(value), limit=TEXT_LIMIT)
    if code == "L-HEADING-TOO-LONG":
        return _issue(sev, code, file, cell, it, length=len(value), limit=HEADING_LIMIT)
    if code == "L-CONTROL-CHAR":
        return _issue(sev, code, file, cell, it, chars=_chars(value, CONTROL_RE))
    if code == "L-HALFWIDTH-KANA":
        runs = re.findall(HALFWIDTH_KANA_RE + "+", value)
        return _issue(
            sev,
            code,
            file,
            cell,
            it,
            chars="、".join(dict.fromkeys(runs)),
            fixed="、".join(dict.fromkeys(unicodedata.normalize("NFKC", r) for r in runs)),
        )
    if code == "L-LOOKALIKE":
        pairs = re.findall(LOOKALIKE_RE, value)
        return _issue(
            sev,
            code,
            file,
            cell,
            it,
            chars="、".join(dict.fromkeys(p[1] for p in pairs)),
            fixed="長音には「ー」を使ってください（例: " + "、".join(dict.fromkeys(p[0] + "ー" for p in pairs)) + "）。",
        )
    if code.startswith("L-TYPED-"):
        typed = typed_markup(value)
        found = {
            "L-TYPED-BULLET": typed.bullet,
            "L-TYPED-TAGS": "、".join(typed.tags),
            "L-TYPED-RELISTED": "（再掲）",
            "L-TYPED-NOTE-NUMBER": "、".join(typed.notes),
        }[code]
        return _issue(sev, code, file, cell, it, found=found, fixed=typed.text)
    if code == "L-TAG-UNKNOWN":
        tag = row["tag_unknown"] or value
        return _issue(sev, code, file, cell, it, tag=tag, suggestion=ref.config.tags.suggest(tag))
    if code == "L-TAG-MISSING-SELF":
        return _issue(sev, code, file, cell, it, tags="、".join(line.tags), ministry=ministry)
    if code == "L-TAGS-EMPTY":
        return _issue(sev, code, file, cell, it, ministry=ministry)
    if code == "L-FIELD-INVALID":
        return _issue(sev, code, file, cell, it, value=value or "（空欄）")
    if code == "L-ACTION-INVALID":
        match = process.extractOne(value, list(ACTIONS), scorer=fuzz.ratio) if value else None
        hint = f"「{match[0]}」ではありませんか" if match and match[1] >= 50 else "・".join(ACTIONS)
        return _issue(sev, code, file, cell, it, value=value or "（空欄）", suggestion=hint)
    if code in ("L-RELISTED-UNKNOWN", "L-NEW-WITH-ID", "L-ID-ALTERED", "L-ROW-UNKNOWN"):
        return _issue(sev, code, file, cell, it, value=value)
    if code == "X-DUPLICATE-ID":
        cells = [ln.cells.get("item_id", "") for ln in item.lines_with("item_id", row["item_id"])]
        return _issue(sev, code, file, cell, it, value=value, count=len(cells), cells="、".join(cells))
    if code == "X-DUPLICATE-TEXT":  # text_key is "" for deleted lines, so they are never among the others
        others = [ln.cells.get("text", "") for ln in item.lines_with("text_key", row["text_key"]) if ln is not line]
        return _issue(sev, code, file, cell, it, cells="、".join(others))
    return _issue(sev, code, file, cell, it)


def _hit_keys(hit, text: str) -> set[tuple[str, str, str]]:
    """A hit as recognised in another version of the text: its rule with the few characters on
    either side (either is enough: an edit next to it changes only one), numbers blurred (the edit
    that turns 240 件 into 260 件 did not write the space)."""
    left = text[max(0, hit.start - 4) : hit.end].translate(_BLUR_DIGITS)
    right = text[hit.start : hit.end + 4].translate(_BLUR_DIGITS)
    return {(hit.code, "<", left), (hit.code, ">", right)}


_BLUR_DIGITS = str.maketrans("0123456789０１２３４５６７８９", "0000000000００００００００００")


def _notation(item: _Pending, ref: Reference) -> list[Issue]:
    """Notation hits (annex.lint) in the text the ministry wrote, each at its cell and character:
    warnings with the corrected span; nothing is rewritten. Quoted lines are never own_text."""
    sub, sev, issues = item.submission, ref.severities, []
    for line, row in zip(sub.lines, item.rows):
        if not row["own_text"] or line.action == ACTION_DELETE or not row["text"].strip():
            continue
        sentence = line.field.strip() in TABLE_FIELDS
        text, before = row["text"], line.raw.get("previous_text", "")
        # a spelling carried over from the published text is the secretariat's matter (annex lint), not this edit's
        if text == before:
            continue  # the heading was edited, not the text: its spelling is as published
        published = {k for h in lint_text(before, sentence=sentence, dictionary=ref.dictionary) for k in _hit_keys(h, before)}
        for hit in lint_text(text, sentence=sentence, dictionary=ref.dictionary):
            if sev.get(hit.code) == "off" or _hit_keys(hit, text) & published:
                continue
            where = Location(sub.file, SHEET_ENTRY, line.cells.get("text"), line.item_id, hit.start)
            issues.append(
                rule(hit.code).issue(
                    where,
                    _severity(hit.code, sev),
                    found=hit.found,
                    fixed=hit.fixed,
                    detail=hit.detail,
                    context=context(text, hit),
                )
            )
    return issues


def _footnote_marks(sub: Submission, plan, ref: Reference) -> list[Issue]:
    """Read the ［注N］ marks out of each line's 記載内容 (line.text becomes the text without them,
    line.footnotes / footnote_offsets where they stood); a mark typed in another form, a mark
    citing no footnote and a removed mark are located issues."""
    sent = plan.sent_lines if plan is not None else {}
    known = set(ref.annex.footnotes) if ref.annex is not None else set()
    issues = []
    for line in sub.lines:
        if not line.text:
            continue
        marks = read_marks(line.text)
        cell = line.cells.get("text")
        for found, expected in marks.mangled:
            issues.append(_issue(ref.severities, "L-NOTE-MANGLED", sub.file, cell, line.item_id, found=found, expected=expected))
        before = sent.get(line.item_id or "")
        previous = read_marks(before.values.get("previous_text") or "").numbers if before is not None else []
        for number in dict.fromkeys(marks.numbers):
            if str(number) not in known and number not in previous:
                issues.append(_issue(ref.severities, "L-NOTE-UNKNOWN", sub.file, cell, line.item_id, number=number))
        if line.action != ACTION_DELETE:
            for number in previous:
                if number not in marks.numbers:
                    issues.append(_issue(ref.severities, "L-NOTE-REMOVED", sub.file, cell, line.item_id, number=number))
        line.text = marks.text or None
        line.footnotes, line.footnote_offsets = marks.numbers, marks.offsets
    return issues


def _tag_spellings(sub: Submission, ref: Reference, own_tags: dict[int, bool]) -> list[Issue]:
    """A configured alias typed as a tag (NISC for ＮＩＳＣ) is the tag it stands for, as on import:
    a warning names the table's spelling, and the line carries that spelling from here on."""
    tags, issues = ref.config.tags, []
    for i, line in enumerate(sub.lines):
        spelled = tags.spelled(line.tags)
        if spelled == line.tags:
            continue
        if own_tags.get(i):
            for typed, canonical in zip(line.tags, spelled):
                if typed != canonical:
                    cell = line.cells.get("tags")
                    issues.append(
                        _issue(ref.severities, "L-TAG-ALIAS", sub.file, cell, line.item_id, tag=typed, canonical=canonical)
                    )
        line.tags = spelled
    return issues


QUOTED_LABELS = frozenset(QUOTED_FIELDS.values())
QUOTED_FIXED = ("field", "heading", "tags", "relisted", "relisted_of")  # locked in a quoted line


def _quoted_lines(sub: Submission, plan, ref: Reference, own_text: dict[int, bool], own_tags: dict[int, bool]) -> list[Issue]:
    """The secretariat's quoted lines (あるべき姿, 基本計画における具体的な取組): the Basic Plan's words
    stay as sent, only their marks move (_footnote_marks has read them out already). Their text is
    not the secretariat's writing, so the content checks leave it alone."""
    sent = plan.sent_lines if plan is not None else {}
    issues = []
    for i, line in enumerate(sub.lines):
        before = sent.get(line.item_id or "")
        quoted = before is not None and before.kind == "quoted"
        if not quoted and line.field.strip() not in QUOTED_LABELS:
            continue
        field_label = before.values["field"] if quoted else line.field.strip()

        found: list[tuple[str, str, str | None]] = []  # (cell key, what is wrong, the words as sent)
        if not quoted or line.action in (ACTION_NEW, ACTION_DELETE):
            found.append(("action", "行の追加・削除はできません。", None))
        else:
            own_text[i] = own_tags[i] = False
            original = read_marks(before.values.get("previous_text") or "").text
            if (line.text or "") != original:
                found.append(("text", "文言は変更できません。", _short(before.values.get("previous_text") or "", 80)))
            for key in QUOTED_FIXED:
                if key in line.cells and (line.raw.get(key) or "").strip() != (before.values.get(key) or "").strip():
                    found.append((key, f"「{COLUMN_BY_KEY[key].label}」は記入できません。", None))
        for key, what, expected in found:
            issues.append(
                _issue(
                    ref.severities,
                    "L-QUOTED-CHANGED",
                    sub.file,
                    line.cells.get(key),
                    line.item_id,
                    field=field_label,
                    what=what,
                    expected=expected,
                )
            )
    return issues


def validate_batch(raws: list[tuple[RawWorkbook, str]], ref: Reference) -> list[Submission]:
    """Read workbooks (with their SHA-256) → Submissions, the line checks run once for the batch.

    Each file is its own failure boundary: an unexpected error while checking one file makes
    that file 保留 (F-CHECK-FAILED, for the secretariat), never the batch.

    The cyclic collector is held off meanwhile: the Submissions are millions of small objects at
    scale, none in a cycle (M, 400 files in one batch: 11.0 → 7.7 s)."""
    with cycles_collected_after():
        return _validate_batch(raws, ref)


def _validate_batch(raws: list[tuple[RawWorkbook, str]], ref: Reference) -> list[Submission]:
    submissions: list[Submission] = []
    pending: list[_Pending] = []
    for raw, sha in raws:
        try:
            sub, item = _prepare(raw, sha, ref, len(pending))
        except Exception as exc:
            sub, item = check_failed(raw.file, sha, exc), None
        submissions.append(sub)
        if item is not None:
            pending.append(item)
    if pending:
        try:
            _check_lines(pending, ref)
        except Exception:  # find the file that broke the batch's checks: each alone, again
            for item in pending:
                try:
                    _check_lines([_renumbered(item, 0)], ref)
                except Exception as exc:
                    sub = item.submission
                    submissions[submissions.index(sub)] = check_failed(sub.file, sub.sha256, exc, sub.ministry)
    for sub in submissions:
        sub.issues = _dedupe(sub.issues)
        sub.issues.sort(key=_issue_order)
    return submissions


UNREAD_CELL = frozenset({"F-FORMULA-NOT-CALCULATED", "F-VALUE-UNSHOWN"})  # the cell's text is not known


def _dedupe(issues: list[Issue]) -> list[Issue]:
    """Each issue once; a cell whose text could not be read is that one issue, not also what its
    missing text makes the line checks say (記載内容が空欄です)."""
    unread = {i.location.cell for i in issues if i.rule in UNREAD_CELL}
    seen, out = set(), []
    for issue in issues:
        key = (issue.rule, issue.location)
        if key in seen or (issue.location.cell in unread and issue.rule not in UNREAD_CELL):
            continue
        seen.add(key)
        out.append(issue)
    return out


def _prepare(raw: RawWorkbook, sha: str, ref: Reference, sub_index: int) -> tuple[Submission, "_Pending | None"]:
    """Stages 1 and 2 and the per-cell comparisons of one file; the pending lines for the batch's checks."""
    file_issues, meta, year = _file_level(raw, ref)
    ministry = (meta.get("ministry") or "").strip() or None
    sub = Submission(
        file=raw.file,
        sha256=sha,
        ministry=ministry,
        year=year,
        template_version=(meta.get("template_version") or "").strip() or None,
        issues=file_issues,
    )
    # severities are the config's by now: a downgraded F-OUTDATED / F-WRONG-YEAR lets the lines be read
    if (
        any(
            i.severity == "error" and i.rule in ("F-FOREIGN", "F-UNKNOWN-MINISTRY", "F-WRONG-YEAR", "F-OUTDATED")
            for i in file_issues
        )
        or not raw.readable
    ):
        return sub, None  # not this year's template from a known ministry: line checks would only add noise
    structure, layout = _structure(raw, ref.severities)
    sub.issues.extend(structure)
    sub.issues.extend(_sheet_copies(raw, ref.severities))
    if layout is None or raw.entry is None:
        return sub, None
    sub.lines = _lines(raw.entry, layout)
    sub.issues.extend(_stray_cells(raw.entry, layout, sub.lines, ref.severities, sub.file))
    if not sub.lines:
        sub.issues.append(_issue(ref.severities, "F-EMPTY", sub.file, at=SHEET_ENTRY))
        return sub, None
    plan = ref.plans.get(ministry) if ministry else None
    compared, own_text, own_tags = _compare_with_template(sub, plan, ref, meta)
    sub.issues.extend(compared)
    sub.issues.extend(_footnote_marks(sub, plan, ref))
    sub.issues.extend(_quoted_lines(sub, plan, ref, own_text, own_tags))
    sub.issues.extend(_tag_spellings(sub, ref, own_tags))
    ids_in_sub = {ln.item_id for ln in sub.lines if ln.item_id}
    item = _Pending(sub)
    plan_ids = set(plan.item_ids) if plan is not None else None
    for i, line in enumerate(sub.lines):
        item.rows.append(_frame_row(sub_index, i, line, sub, ref, plan_ids, own_text[i], own_tags[i], ids_in_sub))
    return sub, item


def _renumbered(item: "_Pending", sub_index: int) -> "_Pending":
    for row in item.rows:
        row["sub"] = sub_index
    return item


def _check_lines(pending: list["_Pending"], ref: Reference) -> None:
    """The pandera schema over every pending line at once, then the notation warnings."""
    frame = pl.DataFrame([row for item in pending for row in item.rows], schema=_SCHEMA)
    offsets = [(item, i) for item in pending for i in range(len(item.rows))]
    found: list[tuple[Submission, Issue]] = []
    for index, code, column in validate_lines(frame):
        item, i = offsets[index]
        found.append((item.submission, _line_issue(code, column, item, i, ref)))
    for item in pending:
        found.extend((item.submission, issue) for issue in _notation(item, ref))
    for sub, issue in found:  # added only once every check of the batch went through
        sub.issues.append(issue)


def check_failed(file: str, sha256: str, exc: BaseException, ministry: str | None = None) -> Submission:
    """A file whose checks raised: held (保留) with the error named, for the secretariat."""
    detail = f"{type(exc).__name__}: {exc}"[:200]
    issue = _issue({}, "F-CHECK-FAILED", file, at=None, detail=detail)
    return Submission(file=file, sha256=sha256, ministry=ministry, year=None, template_version=None, issues=[issue])


def held(file: str, sha256: str, detail: str) -> Submission:
    """A file the machine failed to read (worker timed out, died, ran out of memory): 保留, read again next run."""
    issue = _issue({}, "F-READ-INTERRUPTED", file, at=None, detail=detail)
    return Submission(file=file, sha256=sha256, ministry=None, year=None, template_version=None, issues=[issue])


# the frame's columns and types, as the pandera model declares them
_SCHEMA = {name: column.dtype.type for name, column in SubmissionLines.to_schema().columns.items()}


def _cell_sort(cell: str | None) -> tuple[int, int]:
    if not cell:
        return (0, 0)
    m = re.match(r"([A-Z]+)(\d+)", cell)
    if not m:
        return (0, 0)
    return (int(m.group(2)), column_index(m.group(1)))


def _issue_order(issue: Issue) -> tuple:
    level = 0 if issue.rule.startswith("F-") else 1 if issue.rule.startswith("S-") else 2
    return (level, _cell_sort(issue.location.cell), issue.location.offset or 0, issue.rule)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()
