"""A ministry's pre-filled template: planned from master(Y-1) + config, then written with openpyxl.

Planning is pure (master + config → one ``TemplatePlan`` per ministry, with its lines); the
writer turns a plan into the workbook the ministry fills in:

- 記入シート   one line per bullet of every row the ministry owns or appears in
               (DESIGN.md §1), then ``SPARE_LINES_PER_ROW`` spare lines for 新規 bullets under
               each row. Bullets the ministry does not own are shown for context: every cell
               locked, shaded differently, 対応 fixed at 変更なし.
- 記入要領     generated from the rule catalogue (annex.model.rules) and the column specs
               (annex.model.contract), with the deadline and the secretariat's address from config.
- リスト       hidden: the values behind the dropdowns (欄, 対応, 再掲, 担当府省).
- _annex       very hidden and protected: META_KEYS (ministry, year, template version,
               checksum of the pre-filled read-only content, …).

Ids of the secretariat's preamble lines are deterministic from position:
``<chapter no>-goals-NN`` (目標), ``<chapter no>-key-NN`` (主要指標), ``<chapter no>-ref-NN``
(参考指標), NN counting from 01 in document order; their 行ID is ``<chapter no>-preamble``.
The secretariat's quoted lines — ``<chapter no>-vision-NN`` (あるべき姿) and ``<row id>-measure``
(基本計画における具体的な取組) — hold text quoted from the Basic Plan: only 記載内容's ［注N］ marks
and 対応 are unlocked, so that the secretariat places the footnotes of the preamble and the
measures as it does a bullet's.

Sheet, workbook and metadata protection guard against accidents, not against a determined
user: the password is a constant written in this file.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation

from annex.distribute.live import (
    LIST_NAMES,
    SENT_KEYS,
    LiveLayout,
    checks,
    count_expression,
    count_formula,
    id_chunks,
    live_severity,
)
from annex.io.xlsx import (
    TITLE_FONT,
    Look,
    fill_down_formula,
    font,
    merge_new,
    print_setup,
    row_height,
    set_text,
    use_sheet_font,
)
from annex.model.annex import Annex, Bullet, Chapter, Column, Row, Section
from annex.model.config import Config
from annex.model.contract import (
    ACTION_UNCHANGED,
    ACTIONS,
    COLUMN_BY_KEY,
    COLUMNS,
    ENTRY_COLUMNS,
    FIELD_POLICY,
    FIELD_STATUS,
    FIRST_DATA_ROW,
    HALFWIDTH_KANA,
    HEADER_ROW,
    LIVE_AFTER,
    LIVE_HELP,
    LIVE_KEY,
    LIVE_LABEL,
    LIVE_WIDTH,
    LOCKED_KEYS,
    META_KEYS,
    NOTE_MARK,
    PREAMBLE_FIELDS,
    PRINTED_UNTIL,
    QUOTED_FIELDS,
    RELISTED_VALUE,
    SHEET_ENTRY,
    SHEET_GUIDE,
    SHEET_KEYS,
    SHEET_LISTS,
    SHEET_META,
    SUPERSCRIPT_DIGITS,
    TABLE_FIELDS,
    TEMPLATE_VERSION,
    TITLE_ROW,
    Key,
    chapter_label,
    heading_text,
    join_tags,
    locked_checksum,
    marked_text,
    measure_item_id,
    preamble_items,
    preamble_row_id,
    quoted_items,
    section_label,
)
from annex.model.issues import SYSTEM_RULES
from annex.model.labels import format_instant
from annex.model.ownership import Ownership
from annex.model.rules import GROUP_TITLES, TEXT_LIMIT, rules_in_group
from annex.model.tags import TagResolver

SPARE_LINES_PER_ROW = 3
# Up to this many item ids in master(Y-1), every template lists them all for the live check of
# 再掲元項目ID (the bundled annex has ~1,000); a nationwide survey has up to a million, which made
# each template megabytes: above it a template lists only its ministry's (CitedIds).
WHOLE_ID_LIST_LIMIT = 20_000
# Up to this many tags (abbreviations and pseudo-tags), every template lists them all (略称表, the
# 担当府省 drop-down, the live check); the government has ~45. A nationwide survey has thousands of
# bodies, which every return carried three times (1,000s of cells a return: reading grew as bodies ×
# bodies): above it a template lists only the tags its rows name (TagsOfRows).
WHOLE_TAG_LIST_LIMIT = 200
PROTECTION_PASSWORD = "annex"  # a guard against accidents, not security (see module docstring)
PREAMBLE_SECTION = "（前文）"

LineKind = Literal["owned", "context", "spare", "preamble", "quoted"]
QUOTED_EDITABLE = ("text", "action")  # a quoted line's words are the Basic Plan's: only its marks move

# Column letter of every key in sheet order: the contract's columns, and チェック after 対応.
LETTER: dict[str, str] = {key: get_column_letter(i) for i, key in enumerate(SHEET_KEYS, start=1)}
COLUMN_NUMBER: dict[str, int] = {key: i for i, key in enumerate(SHEET_KEYS, start=1)}


# -- planning ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TemplateLine:
    kind: LineKind
    values: dict[str, str]  # column key → cell text ("" for an empty cell)

    @property
    def prefilled(self) -> bool:
        """A line distributed with content (it has an item id); spare lines are not."""
        return bool(self.values.get("item_id"))

    @property
    def editable(self) -> bool:
        return self.kind != "context"

    def unlocked(self, key: str) -> bool:
        """Whether the ministry may type in this line's cell for key."""
        if not (self.editable and COLUMN_BY_KEY[key].editable):  # type: ignore[index]
            return False
        return self.kind != "quoted" or key in QUOTED_EDITABLE


@dataclass
class TemplatePlan:
    ministry: str  # abbreviation (文)
    slug: str
    name: str  # 文部科学省・スポーツ庁・文化庁
    year: int
    source_year: int
    title: str
    deadline: dt.datetime
    secretariat: bool
    contacts: list[str]
    lines: list[TemplateLine] = field(default_factory=list)
    valid_tags: list[str] = field(default_factory=list)
    abbreviations: list[tuple[str, str]] = field(default_factory=list)  # (略称, 府省名)
    footnotes: dict[str, str] = field(default_factory=dict)  # only the secretariat's
    unmapped_tags: list[str] = field(default_factory=list)  # only the secretariat's: tags to correct
    # for the live checks: every tag the validator resolves (table, pseudo-tags, aliases, groups) and
    # the item ids a 再掲元項目ID may name: every one of master(Y-1) (bullets, preamble and quoted
    # items) up to WHOLE_ID_LIST_LIMIT, else only those the ministry can be expected to cite (CitedIds)
    accepted_tags: list[str] = field(default_factory=list)
    known_ids: list[str] = field(default_factory=list)
    partial_lists: frozenset[str] = frozenset()  # the live lists held only in part ("ids", "tag_list" above their limits)
    all_tags: int = 0  # how many tags the whole abbreviation table has (what a partial 略称表 is out of)

    @property
    def fields(self) -> tuple[str, ...]:
        """The 欄 a ministry may choose (the dropdown): quoted lines keep theirs, locked."""
        return TABLE_FIELDS + (tuple(PREAMBLE_FIELDS.values()) if self.secretariat else ())

    @property
    def accepted_fields(self) -> tuple[str, ...]:
        """Every 欄 the validator accepts from this ministry: the dropdown's, and the quoted lines' own."""
        return self.fields + (tuple(QUOTED_FIELDS.values()) if self.secretariat else ())

    @property
    def item_ids(self) -> list[str]:
        return [line.values["item_id"] for line in self.lines if line.prefilled]

    @property
    def owned_ids(self) -> list[str]:
        return [line.values["item_id"] for line in self.lines if line.prefilled and line.kind != "context"]

    @cached_property  # looked up per line by validation, for every submission of the ministry
    def sent_lines(self) -> dict[str, TemplateLine]:
        """The pre-filled lines by item id: what the ministry was sent."""
        return {line.values["item_id"]: line for line in self.lines if line.prefilled}

    @cached_property  # hashed once per plan: the writer's metadata and distribute's report both need it
    def checksum(self) -> str:
        return locked_checksum(checksum_lines(self.lines))

    def count(self, kind: LineKind) -> int:
        return sum(1 for line in self.lines if line.kind == kind)


def checksum_lines(lines: Iterable[TemplateLine | dict[str, str]]) -> list[dict[str, str]]:
    """The lines locked_checksum is computed over: the pre-filled ones (with an item id), in sheet
    order, their LOCKED_KEYS as cell text. The validator reads the same from the workbook."""
    out = []
    for line in lines:
        values = line.values if isinstance(line, TemplateLine) else line
        if values.get("item_id"):
            out.append({k: values.get(k, "") or "" for k in LOCKED_KEYS})
    return out


def _notes_text(numbers: Iterable[int] | None, notes: dict[str, str]) -> str:
    """The 脚注 cell: each note cited, as its mark and its text (the marks stand in 記載内容)."""
    return "\n".join(f"{NOTE_MARK.format(number=n)}{notes.get(str(n), '')}" for n in dict.fromkeys(numbers or []))


def _bullet_line(
    kind: LineKind,
    chapter: Chapter,
    section: Section,
    row: Row,
    column: Column,
    bullet: Bullet,
    notes: dict[str, str],
    tags: TagResolver,
) -> TemplateLine:
    text = marked_text(bullet.text, bullet.footnote_marks())
    return TemplateLine(
        kind,
        {
            "item_id": bullet.id or "",
            "row_id": row.id,
            "chapter": chapter_label(chapter),
            "section": section_label(section),
            "measure": marked_text(row.measure, row.measure_footnote_marks()),
            "field": FIELD_STATUS if column == "status" else FIELD_POLICY,
            "heading": heading_text(bullet.heading, bullet.heading_path),
            "text": text,
            "tags": join_tags(tags.spelled(bullet.tags)),  # the table's spelling, never last year's alias
            "relisted": RELISTED_VALUE if bullet.relisted else "",
            "relisted_of": bullet.relisted_of or "",
            "action": ACTION_UNCHANGED,
            "previous_text": text,
            "footnotes": _notes_text(bullet.footnotes, notes),
        },
    )


def _spare_line(chapter: Chapter, section: Section, row: Row) -> TemplateLine:
    values = {spec.key: "" for spec in COLUMNS}
    values.update(
        row_id=row.id,
        chapter=chapter_label(chapter),
        section=section_label(section),
        measure=marked_text(row.measure, row.measure_footnote_marks()),
    )
    return TemplateLine("spare", values)


def _line(
    kind: LineKind,
    item_id: str,
    row_id: str,
    chapter: Chapter,
    section: str,
    measure: str,
    field_label: str,
    shown: str,
    notes: str,
) -> TemplateLine:
    return TemplateLine(
        kind,
        {
            "item_id": item_id,
            "row_id": row_id,
            "chapter": chapter_label(chapter),
            "section": section,
            "measure": measure,
            "field": field_label,
            "heading": "",
            "text": shown,
            "tags": "",
            "relisted": "",
            "relisted_of": "",
            "action": ACTION_UNCHANGED,
            "previous_text": shown,
            "footnotes": notes,
        },
    )


def _secretariat_lines(annex: Annex) -> list[TemplateLine]:
    """The secretariat's own lines, chapter by chapter as published: the vision paragraphs (quoted),
    目標 and the indicators (editable), then every row's measure (quoted: marks only)."""
    preamble = preamble_items(annex)
    quoted = quoted_items(annex)
    lines = []
    for chapter in annex.chapters:
        in_chapter = [(i, q) for i, q in quoted.items() if q.chapter is chapter]
        for item_id, q in in_chapter:
            if q.kind == "vision":
                shown = marked_text(q.text, q.marks)
                notes = _notes_text([n for n, _ in q.marks], annex.footnotes)
                lines.append(
                    _line("quoted", item_id, q.row_id, chapter, PREAMBLE_SECTION, "", QUOTED_FIELDS["vision"], shown, notes)
                )
        for item_id, (owner, kind, index, text, numbers) in preamble.items():
            if owner is not chapter:
                continue
            entry = getattr(chapter.preamble, kind)[index - 1]
            shown = text if isinstance(entry, str) else marked_text(text, entry.footnote_marks())
            notes = _notes_text(numbers, annex.footnotes)
            lines.append(
                _line(
                    "preamble",
                    item_id,
                    preamble_row_id(chapter),
                    chapter,
                    PREAMBLE_SECTION,
                    "",
                    PREAMBLE_FIELDS[kind],
                    shown,
                    notes,
                )
            )
        for section in chapter.sections:
            for row in section.rows:
                q = quoted[measure_item_id(row)]
                shown = marked_text(q.text, q.marks)
                notes = _notes_text([n for n, _ in q.marks], annex.footnotes)
                lines.append(
                    _line(
                        "quoted",
                        measure_item_id(row),
                        row.id,
                        chapter,
                        section_label(section),
                        shown,
                        QUOTED_FIELDS["measure"],
                        shown,
                        notes,
                    )
                )
    return lines


def unmapped_tags(annex: Annex, config: Config) -> list[str]:
    """Every tag of the master that names nobody even after aliases and groups, where it stands.
    They block nobody: the secretariat's workbook holds those bullets, to correct the tag."""
    tags = config.tags
    found = []
    for _, _, row in annex.rows():
        places = [(row.id, row.measure_tags)] + [(b.id or row.id, b.tags) for c in ("status", "policy") for b in row.bullets(c)]
        for where, tag_list in places:
            for tag in tags.unknown(tag_list):
                suggestion = tags.resolve(tag).suggestion
                hint = f"「{suggestion}」の誤りなら事務局の記入シートで直すか、" if suggestion else "事務局の記入シートで直すか、"
                found.append(
                    f"項目 {where} の担当府省「{tag}」は略称表にありません"
                    f"（{hint}config/tags.yaml の aliases か groups に追加してください）"
                )
    return found


def plan_templates(annex: Annex, config: Config, year: int) -> list[TemplatePlan]:
    """One plan per ministry that owns or appears in a row, plus the secretariat, in table order."""
    unmapped = unmapped_tags(annex, config)
    tags, secretariat = config.tags, config.secretariat.abbr
    ownership = Ownership.of(annex, tags, secretariat)  # once for every plan, not per ministry and line
    rows_of = dict(ownership.rows_of)
    rows_of.setdefault(secretariat, [])
    located = {row.id: (chapter, section, row) for chapter, section, row in annex.rows()}
    valid_tags = list(tags.ministries) + list(tags.pseudo_tags)
    accepted_tags = valid_tags + [t for t in [*tags.aliases, *tags.groups] if t not in valid_tags]
    preamble, quoted = preamble_items(annex), quoted_items(annex)
    known_ids = list(dict.fromkeys([*annex.bullet_index(), *preamble, *quoted]))
    cited = None if len(known_ids) <= WHOLE_ID_LIST_LIMIT else CitedIds(located, preamble, quoted)
    abbreviations = [(m.abbr, "・".join(m.names) + ("【廃止】" if m.abolished else "")) for m in config.ministries]
    named = None if len(valid_tags) <= WHOLE_TAG_LIST_LIMIT else TagsOfRows(located, tags, secretariat)
    configured = accepted_tags[len(valid_tags) :]  # the aliases and groups, listed whole in every template
    title = config.title_for(year)
    source_year = annex.year if annex.year is not None else year - 1
    plans = []
    for abbr in tags.table_order(list(rows_of)):
        ministry = config.ministry_by_abbr[abbr]
        is_secretariat = abbr == secretariat
        plan = TemplatePlan(
            ministry=abbr,
            slug=ministry.slug,
            name="・".join(ministry.names),
            year=year,
            source_year=source_year,
            title=title,
            deadline=config.settings.deadline,
            secretariat=is_secretariat,
            contacts=list(ministry.contacts),
            valid_tags=valid_tags,
            abbreviations=abbreviations,
            footnotes=dict(annex.footnotes) if is_secretariat else {},
            unmapped_tags=unmapped if is_secretariat else [],
            accepted_tags=accepted_tags,
            known_ids=known_ids,
            all_tags=len(valid_tags),
        )
        if is_secretariat:
            plan.lines.extend(_secretariat_lines(annex))
        for row_id in rows_of[abbr]:
            chapter, section, row = located[row_id]
            for column in ("status", "policy"):
                for bullet in row.bullets(column):
                    owned = abbr in ownership.of_bullet(row, column, bullet)
                    plan.lines.append(
                        _bullet_line(
                            "owned" if owned else "context", chapter, section, row, column, bullet, annex.footnotes, tags
                        )
                    )
            plan.lines.extend(_spare_line(chapter, section, row) for _ in range(SPARE_LINES_PER_ROW))
        plan.lines = once_per_row(plan.lines)
        if cited is not None:
            plan.known_ids = cited.of(plan, rows_of[abbr])
            plan.partial_lists |= {"ids"}
        if named is not None:
            plan.valid_tags = named.of(abbr, rows_of[abbr])
            plan.accepted_tags = plan.valid_tags + configured
            plan.partial_lists |= {"tag_list"}
        plans.append(plan)
    return plans


class TagsOfRows:
    """The tags a body can be expected to write when the abbreviation table is too large for every
    template to list it (a survey of thousands of bodies): its own, the secretariat's, every body
    named in the rows its template shows (the co-owners and neighbours of its bullets), and the
    pseudo-tags, in the table's order. Aliases and groups, which the secretariat configures by
    hand, are listed whole. The live check only warns about a tag not listed; the validator,
    which knows the whole table, judges."""

    def __init__(self, located: dict[str, tuple[Chapter, Section, Row]], tags: TagResolver, secretariat: str) -> None:
        self.located, self.tags, self.secretariat = located, tags, secretariat
        self.by_row: dict[str, list[str]] = {}

    def _row(self, row_id: str) -> list[str]:
        found = self.by_row.get(row_id)
        if found is None:
            row = self.located[row_id][2]
            found = self.tags.ministries_of([t for c in ("status", "policy") for b in row.bullets(c) for t in b.tags])
            self.by_row[row_id] = found
        return found

    def of(self, ministry: str, row_ids: Iterable[str]) -> list[str]:
        named = {ministry, self.secretariat, *(abbr for row_id in row_ids for abbr in self._row(row_id))}
        return [abbr for abbr in self.tags.ministries if abbr in named] + list(self.tags.pseudo_tags)


class CitedIds:
    """The item ids a ministry can be expected to name as 再掲元 when the annex is too large for
    every template to list them all. A 再掲 repeats a bullet printed elsewhere, in practice the
    ministry's own or one beside it: so the ids of every row of each section the template shows
    (its owned and context bullets and their neighbours, with those rows' 具体的な取組), every line
    of the template, and each chapter's preamble and あるべき姿 items, which number tens whatever
    the size (every template carries them). Other sections' bullets and measures, which grow with
    the number of ministries, are left out: the live check only warns about them, and the
    validator, which knows every id, judges."""

    def __init__(self, located: dict[str, tuple[Chapter, Section, Row]], preamble: dict, quoted: dict) -> None:
        self.located = located
        self.chapter_level = [*preamble, *(item_id for item_id, q in quoted.items() if q.kind == "vision")]
        self.by_section: dict[int, list[str]] = {}

    def _section(self, section: Section) -> list[str]:
        ids = self.by_section.get(id(section))
        if ids is None:
            ids = []
            for row in section.rows:
                ids += [b.id for column in ("status", "policy") for b in row.bullets(column) if b.id]
                ids.append(measure_item_id(row))
            self.by_section[id(section)] = ids
        return ids

    def of(self, plan: TemplatePlan, row_ids: Iterable[str]) -> list[str]:
        sections = {id(section): section for _, section, _ in (self.located[r] for r in row_ids)}
        ids = [item_id for section in sections.values() for item_id in self._section(section)]
        return list(dict.fromkeys([*ids, *plan.item_ids, *self.chapter_level]))


ROW_CONTEXT = ("chapter", "section", "measure")  # the same on every line of a row


def once_per_row(lines: list[TemplateLine]) -> list[TemplateLine]:
    """章・節・基本計画 on the first line of each row only: repeated on every line, the long
    measure made the sheet unreadable and printed tens of pages. The plan holds what the cells
    hold, so the checksum and the locked-cell comparison see the same."""
    out, previous = [], None
    for line in lines:
        row_id = line.values.get("row_id")
        if row_id and row_id == previous:
            line = replace(line, values={**line.values, **{k: "" for k in ROW_CONTEXT}})
        out.append(line)
        previous = row_id
    return out


# -- writing ----------------------------------------------------------------------------------
THIN = Side(style="thin", color="A6A6A6")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
FILL_HEADER = PatternFill("solid", fgColor="1F4E78")
FILL_LOCKED = PatternFill("solid", fgColor="D9D9D9")  # read-only cells of the ministry's own lines
FILL_CONTEXT = PatternFill("solid", fgColor="EDEDED")  # other ministries' bullets, for context
FILL_SPARE = PatternFill("solid", fgColor="FFF9E5")  # spare lines for 新規
FONT_HEADER = font(bold=True, color="FFFFFF")
FONT_CONTEXT = font(color="7F7F7F")
FONT_BOLD = font(bold=True)
LOCKED = Protection(locked=True)
UNLOCKED = Protection(locked=False)

# リスト sheet: one list per column, header in row 1, values from row 2: the dropdowns' (A–E), the
# live checks' (F–I, O), and what each line was sent, in the entry row's own row number (J–N).
LIST_COLUMNS = {
    "field": "A",
    "action": "B",
    "relisted": "C",
    "tags": "D",
    "names": "E",
    "fields": "F",
    "tag_list": "G",
    "ids": "H",
    "kana": "I",
    "superscripts": "O",
}
LIST_HEADERS = {
    "field": "欄",
    "action": "対応",
    "relisted": "再掲",
    "tags": "担当府省（略称）",
    "names": "府省名",
    "fields": "欄（確認用）",
    "tag_list": "担当府省（確認用）",
    "ids": "項目ID（確認用）",
    "kana": "半角カタカナ（確認用）",
    "superscripts": "上付き数字（確認用）",
}
SENT_COLUMNS = dict(zip(SENT_KEYS, "JKLMN"))


def live_lists(plan: TemplatePlan) -> dict[str, list[str]]:
    """The lists the live checks look values up in (LIST_NAMES), as written on the list sheet."""
    return {
        "actions": list(ACTIONS),
        "fields": list(plan.accepted_fields),
        "tag_list": plan.accepted_tags,
        "ids": id_chunks(plan.known_ids),
        "kana": list(HALFWIDTH_KANA),
        "superscripts": list(SUPERSCRIPT_DIGITS),
    }


def live_layout(plan: TemplatePlan) -> LiveLayout:
    lists = live_lists(plan)
    ranges = {name: list_range("action" if name == "actions" else name, len(lists[name])) for name in LIST_NAMES}
    sent = {key: f"'{SHEET_LISTS}'!${letter}" for key, letter in SENT_COLUMNS.items()}
    return LiveLayout(LETTER, ranges, sent, plan.secretariat, plan.partial_lists)


def list_range(key: str, count: int) -> str:
    letter = LIST_COLUMNS[key]
    return f"'{SHEET_LISTS}'!${letter}$2:${letter}${count + 1}"


def _set(ws: Any, address: str, value: Any) -> Any:
    cell = ws[address]
    set_text(cell, value)
    return cell


def _ranges(rows: list[int]) -> list[tuple[int, int]]:
    """Consecutive sheet rows → [(first, last), …]."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and out[-1][1] == r - 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


def _sqref(letter: str, rows: list[int]) -> str:
    return " ".join(f"{letter}{a}" if a == b else f"{letter}{a}:{letter}{b}" for a, b in _ranges(rows))


def _row_height(values: dict[str, str]) -> float:
    """Rows with wrapped text: an explicit height from every text the row shows (Excel does not
    fit heights on open), so that nothing is cut."""
    return row_height((values.get(spec.key) or "", spec.width) for spec in COLUMNS)


PRINTED_COLUMNS = column_index_from_string(LETTER[PRINTED_UNTIL])
ENTRY_NOTE = (
    "白いセルに記入してください（灰色のセルは変更できません）。新しい記載は各取組の下の黄色い空き行に、"
    "対応「新規」として記入してください。記入方法と確認される内容は「記入要領」シートにあります。"
    "「チェック」の列は記入中に見つかった問題を表示します（提出後の確認は別に行います）。"
    "「前年度の記載」「脚注」の列は画面でだけ表示され、印刷されません。"
)
NOTE_UNTIL = "heading"  # the note spans A to 見出し; the count of open problems stands above 記載内容
FILL_LIVE_ERROR = PatternFill("solid", fgColor="FFC7CE", bgColor="FFC7CE")
FILL_LIVE_WARNING = PatternFill("solid", fgColor="FFEB9C", bgColor="FFEB9C")
FONT_LIVE = {"error": Font(color="9C0006"), "warning": Font(color="9C5700")}
FONT_CHECK = font(color="C00000")


def title_text(plan: TemplatePlan) -> str:
    return f"{plan.year}年度 {plan.title} 記入シート（{plan.ministry}：{plan.name}）　提出締切 {format_instant(plan.deadline)}"


def _entry_look(kind: LineKind, unlocked: bool) -> Look:
    """A cell of 記入シート's lines: others' bullets greyed, read-only cells shaded, spare lines yellow."""
    styles: dict[str, Any] = {"alignment": WRAP_TOP, "border": BORDER, "protection": UNLOCKED if unlocked else LOCKED}
    if kind == "context":
        styles.update(fill=FILL_CONTEXT, font=FONT_CONTEXT)
    elif not unlocked:
        styles.update(fill=FILL_LOCKED)
    elif kind == "spare":
        styles.update(fill=FILL_SPARE)
    return Look(**styles)


def _write_entry(ws: Any, plan: TemplatePlan, severities: dict[str, str], live: bool = True) -> None:
    ws.sheet_properties.tabColor = "1F4E78"
    _set(ws, f"A{TITLE_ROW}", title_text(plan)).font = TITLE_FONT
    ws.row_dimensions[TITLE_ROW].height = 21
    note = _set(ws, f"A{TITLE_ROW + 1}", ENTRY_NOTE)
    note.alignment = WRAP_TOP
    note_columns = column_index_from_string(LETTER[NOTE_UNTIL] if live else LETTER[PRINTED_UNTIL])
    ws.merge_cells(start_row=TITLE_ROW + 1, start_column=1, end_row=TITLE_ROW + 1, end_column=note_columns)
    ws.row_dimensions[TITLE_ROW + 1].height = row_height([(ENTRY_NOTE, sum(c.width for c in COLUMNS[:note_columns]))])
    for key in SHEET_KEYS:
        if key == LIVE_KEY and not live:
            continue
        letter = LETTER[key]
        ws.column_dimensions[letter].width = LIVE_WIDTH if key == LIVE_KEY else COLUMN_BY_KEY[key].width  # type: ignore[index]
        cell = _set(ws, f"{letter}{HEADER_ROW}", LIVE_LABEL if key == LIVE_KEY else COLUMN_BY_KEY[key].label)  # type: ignore[index]
        cell.font, cell.fill, cell.border, cell.protection = FONT_HEADER, FILL_HEADER, BORDER, LOCKED
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    ws.row_dimensions[HEADER_ROW].height = 33

    editable_rows: list[int] = []  # rows whose editable cells are unlocked
    looks: dict[tuple[str, bool], Look] = {}  # (line kind, unlocked) → the cell's look
    for offset, line in enumerate(plan.lines):
        r = FIRST_DATA_ROW + offset
        for spec in COLUMNS:
            cell = ws.cell(row=r, column=COLUMN_NUMBER[spec.key])
            value = line.values.get(spec.key, "")
            if value:
                set_text(cell, value)
            unlocked = line.unlocked(spec.key)
            look = looks.get((line.kind, unlocked))
            if look is None:
                look = looks[line.kind, unlocked] = _entry_look(line.kind, unlocked)
            look.apply(cell)
        ws.row_dimensions[r].height = _row_height(line.values)
        if line.editable:
            editable_rows.append(r)

    last_row = FIRST_DATA_ROW + len(plan.lines) - 1
    _add_validations(ws, plan, editable_rows)
    if live and plan.lines:
        _add_live_checks(ws, plan, last_row, editable_rows, severities)
    ws.freeze_panes = f"A{FIRST_DATA_ROW}"
    ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(ENTRY_COLUMNS if live else len(COLUMNS))}{max(last_row, HEADER_ROW)}"
    print_setup(
        ws,
        title_rows=f"{HEADER_ROW}:{HEADER_ROW}",
        header=f"{plan.ministry} {plan.year}年度",
        last_column=PRINTED_COLUMNS,
        last_row=max(last_row, HEADER_ROW),
    )
    ws.print_options.gridLines = False
    _protect(ws, allow_filter=True)


def _add_validations(ws: Any, plan: TemplatePlan, editable_rows: list[int]) -> None:
    # Header input messages: each column's help, where the ministry looks.
    for spec in COLUMNS:
        dv = DataValidation(
            type=None, allow_blank=True, showInputMessage=True, promptTitle=spec.label[:32], prompt=spec.help[:255]
        )
        dv.add(f"{LETTER[spec.key]}{HEADER_ROW}")
        ws.add_data_validation(dv)
    if not editable_rows:
        return
    lists = {
        "field": (len(plan.fields), True, "欄", "プルダウンから選んでください: " + " / ".join(plan.fields)),
        "action": (len(ACTIONS), True, "対応", "プルダウンから選んでください: " + " / ".join(ACTIONS)),
        "relisted": (1, True, "再掲", "再掲の場合のみ「再掲」を選んでください。"),
        # 担当府省 holds several tags (科技、文): the list is a helper, strictness is the validator's.
        "tags": (len(plan.valid_tags), False, "担当府省", COLUMN_BY_KEY["tags"].help),
    }
    for key, (count, strict, title, prompt) in lists.items():
        dv = DataValidation(
            type="list",
            formula1=list_range(key, count),
            allow_blank=True,
            showDropDown=False,
            showInputMessage=True,
            showErrorMessage=strict,
            promptTitle=title,
            prompt=prompt[:255],
            errorTitle=title,
            error=f"{title}はプルダウンの値から選んでください。",
        )
        dv.sqref = _sqref(LETTER[key], editable_rows)  # type: ignore[assignment]
        ws.add_data_validation(dv)


def _add_live_checks(ws: Any, plan: TemplatePlan, last_row: int, editable_rows: list[int], severities: dict[str, str]) -> None:
    """The catalogue's live checks (annex.distribute.live): the チェック column, each offending cell
    coloured at once, the count of open problems above 記載内容, and a data validation that refuses
    a value where the rule says so. Formulas only: a workbook that loses them is judged the same."""
    layout = live_layout(plan)
    check = LETTER[LIVE_KEY]
    fill_down_formula(ws, check, FIRST_DATA_ROW, last_row, layout.check_column(FIRST_DATA_ROW), 0)
    look = Look(alignment=WRAP_TOP, border=BORDER, protection=LOCKED, font=FONT_CHECK)
    for r in range(FIRST_DATA_ROW, last_row + 1):
        look.apply(ws[f"{check}{r}"])
    dv = DataValidation(type=None, allow_blank=True, showInputMessage=True, promptTitle=LIVE_LABEL, prompt=LIVE_HELP[:255])
    dv.add(f"{check}{HEADER_ROW}")
    ws.add_data_validation(dv)

    text = LETTER["text"]
    count = ws[f"{text}{TITLE_ROW + 1}"]
    count.value = count_formula(check, FIRST_DATA_ROW, last_row)
    count.font = font(bold=True, size=12)
    count.alignment = Alignment(vertical="center", horizontal="left")
    count.protection = LOCKED
    ws.merge_cells(f"{text}{TITLE_ROW + 1}:{LETTER[PRINTED_UNTIL]}{TITLE_ROW + 1}")
    ws.conditional_formatting.add(
        count.coordinate,
        FormulaRule(
            formula=[count_expression(check, FIRST_DATA_ROW, last_row) + ">0"], fill=FILL_LIVE_ERROR, font=FONT_LIVE["error"]
        ),
    )
    for rule, live_check in checks(layout.partial):
        severity = live_severity(rule, live_check, severities)
        if severity == "off":
            continue
        letter = LETTER[live_check.column]
        fill = FILL_LIVE_ERROR if severity == "error" else FILL_LIVE_WARNING
        ws.conditional_formatting.add(
            f"{letter}{FIRST_DATA_ROW}:{letter}{last_row}",
            FormulaRule(formula=[layout.condition(live_check, FIRST_DATA_ROW)], fill=fill, font=FONT_LIVE[severity]),
        )
        if live_check.stop and editable_rows:
            refuse = DataValidation(
                type="custom",
                formula1=f"NOT({live_check.formula.format(**layout.fields(editable_rows[0]))})",
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=rule.title[:32],
                error=guide_text(rule.guide, plan)[:255],
            )
            refuse.sqref = _sqref(letter, editable_rows)  # type: ignore[assignment]
            ws.add_data_validation(refuse)


def _protect(ws: Any, *, allow_filter: bool = False) -> None:
    ws.protection.sheet = True
    ws.protection.password = PROTECTION_PASSWORD
    ws.protection.formatColumns = False  # False = allowed: widths and heights may be changed
    ws.protection.formatRows = False
    if allow_filter:
        ws.protection.autoFilter = False
    ws.protection.insertRows = True
    ws.protection.deleteRows = True


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def guide_text(template: str, plan: TemplatePlan) -> str:
    """A rule's guide with its fields filled where the guide can know them."""
    return string.Formatter().vformat(template, (), _Blank(limit=TEXT_LIMIT, ministry=plan.ministry))


def guide_rows(plan: TemplatePlan, config_secretariat: Any, severities: dict[str, str] | None = None) -> list[tuple[str, ...]]:
    """記入要領 as rows of text (the first cell of a section heading row starts with ■)."""
    s = config_secretariat
    rows: list[tuple[str, ...]] = [
        (f"{plan.year}年度 {plan.title} 記入要領（{plan.ministry}：{plan.name}）",),
        (),
        ("■ 提出",),
        ("提出締切", format_instant(plan.deadline)),
        ("提出先", f"{s.name}　{s.email}" + (f"　電話 {s.phone}" if s.phone else "")),
        (
            "提出方法",
            "このファイルに記入し、Excel ブック（.xlsx）形式のまま提出先へメールで送ってください。ファイル名は変えても構いません（府省はファイル内の管理情報で判別します）。",
        ),
        (),
        ("■ 記入のしかた",),
        (
            "1",
            f"「{SHEET_ENTRY}」の1行が別添の記載（・で始まる1項目）1つです。記載内容と前年度の記載には、前年度に公表した文章が入っています。",
        ),
        (
            "2",
            f"修正する場合は「{COLUMN_BY_KEY['text'].label}」を書き換え、対応を「修正」にしてください。変更がなければ「変更なし」のままにしてください。",
        ),
        ("3", "記載を取りやめる場合は、文章を消さずに対応を「削除」にしてください。"),
        (
            "4",
            f"新しい記載は、追加したい取組の下にある黄色い空き行（{SPARE_LINES_PER_ROW}行）に記入し、欄・担当府省を入力して対応を「新規」にしてください。項目IDは空欄のままにしてください。空き行が足りない場合は事務局にご連絡ください。",
        ),
        (
            "5",
            "他府省が担当する記載は、同じ取組の記載として薄い灰色で参考表示しています。変更はできません。変更が必要な場合は、担当府省に依頼してください。",
        ),
        ("6", "行・列の挿入や削除、並べ替え、シート名の変更はしないでください。列の幅と行の高さは変更できます。"),
        (
            "7",
            "担当府省は略称を「、」で区切って記入します（例: 科技、文、経）。"
            + (
                f"下の略称表には、この様式の取組に記載のある府省等の略称を載せています（全 {plan.all_tags} 件のうち {len(plan.valid_tags)} 件）。ほかの府省等の略称も使えます。"
                if "tag_list" in plan.partial_lists
                else "使える略称は下の略称表のとおりです。"
            )
            + f"自府省（{plan.ministry}）を必ず含めてください。",
        ),
        (
            "8",
            f"「{LIVE_LABEL}」の列と記載内容の上の「未解決の指摘 N件」は、記入しながら自動で確認した結果です（下の表で「記入中も確認」とある項目）。"
            "問題のあるセルは赤（エラー）または黄色（警告）になり、直すと消えます。提出後の確認はこれとは別に行い、結果をお返しします。",
        ),
        (),
        ("■ 列の説明",),
        ("列", "記入", "説明"),
    ]
    for spec in COLUMNS:
        rows.append((spec.label, "記入" if spec.editable else "変更不可", spec.help))
        if spec.key == LIVE_AFTER:
            rows.append((LIVE_LABEL, "変更不可", LIVE_HELP))
    rows.append(())
    rows.append(("■ 提出後に確認される内容（この表と同じ規則で自動的に確認し、結果をお返しします）",))
    rows.append(("確認項目", "区分", "内容", "コード"))
    for group, group_title in GROUP_TITLES.items():
        rows.append((f"［{group_title}］",))
        for rule in rules_in_group(group):
            if rule.code in SYSTEM_RULES:  # about annex's own machine: nothing for an officer to do
                continue
            severity = (severities or {}).get(rule.code, rule.severity)  # the same override the validator applies
            partial = [c.partial.guide for c in rule.live if c.partial and c.partial.name in plan.partial_lists]
            live = "（" + "。".join(["記入中も確認", *partial]) + "）" if rule.live and severity != "off" else ""
            rows.append((rule.title, SEVERITY_GUIDE[severity], guide_text(rule.guide, plan) + live, rule.code))
    rows.append(())
    if "tag_list" in plan.partial_lists:
        rows.append(
            (f"■ 略称表（この様式の取組に記載のある府省等の略称。全 {plan.all_tags} 件のうち {len(plan.valid_tags)} 件）",)
        )
    else:
        rows.append(("■ 略称表（担当府省に使える略称）",))
    rows.append(("略称", "府省名"))
    names = dict(plan.abbreviations)
    for tag in plan.valid_tags:
        rows.append((tag, names.get(tag, "特定の府省を指さない表記")))
    if plan.footnotes:
        rows.append(())
        rows.append(("■ 脚注（主要指標・参考指標が引用する番号）",))
        rows.append(("番号", "内容"))
        for number, text in plan.footnotes.items():
            rows.append((number, text))
    return rows


SEVERITY_GUIDE = {"error": "エラー（差戻し）", "warning": "警告", "off": "確認しない"}
GUIDE_WIDTHS = (26, 17, 80, 21)  # 「エラー（差戻し）」 and every rule code on one line
GUIDE_TABLE_HEADS = {("列", "記入", "説明"), ("確認項目", "区分", "内容", "コード"), ("略称", "府省名"), ("番号", "内容")}


def _write_guide(ws: Any, plan: TemplatePlan, secretariat: Any, severities: dict[str, str]) -> None:
    """記入要領: a row's last value spans the columns left (a heading spans all four, a label's
    text B–D, a column's help C–D), so that no text is squeezed into a narrow column."""
    for i, width in enumerate(GUIDE_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    last = len(GUIDE_WIDTHS)
    wrapped = Look(alignment=WRAP_TOP)
    for r, values in enumerate(guide_rows(plan, secretariat, severities), start=1):
        heading = r == 1 or (len(values) == 1 and values[0].startswith("■"))
        spans = []
        for c, value in enumerate(values, start=1):
            to = last if c == len(values) else c  # the last value takes the rest of the row
            cell = _set(ws, f"{get_column_letter(c)}{r}", value)
            wrapped.apply(cell)
            if to > c:
                merge_new(ws, r, c, to)
            spans.append((value, sum(GUIDE_WIDTHS[c - 1 : to])))
        if r == 1:
            cell.font = TITLE_FONT
            ws.row_dimensions[r].height = 24
            continue
        if heading or tuple(values) in GUIDE_TABLE_HEADS or (values and values[0].startswith("［")):
            for c in range(1, len(values) + 1):
                ws.cell(row=r, column=c).font = FONT_BOLD
            if tuple(values) in GUIDE_TABLE_HEADS:
                for c in range(1, last + 1):
                    ws.cell(row=r, column=c).fill = FILL_LOCKED
        if values:
            ws.row_dimensions[r].height = row_height(spans)
    print_setup(ws, title_rows="1:1", header=f"{plan.ministry} {plan.year}年度")
    _protect(ws)


def _write_lists(ws: Any, plan: TemplatePlan, live: bool = True) -> None:
    names = dict(plan.abbreviations)
    values = {
        "field": list(plan.fields),
        "action": list(ACTIONS),
        "relisted": [RELISTED_VALUE],
        "tags": plan.valid_tags,
        "names": [names.get(t, "（特定の府省を指さない表記）") for t in plan.valid_tags],
    }
    if live:
        lists = live_lists(plan)
        values.update({name: lists[name] for name in LIST_NAMES if name != "actions"})
    for key, letter in LIST_COLUMNS.items():
        if key not in values:
            continue
        _set(ws, f"{letter}1", LIST_HEADERS[key])
        for i, value in enumerate(values[key], start=2):
            _set(ws, f"{letter}{i}", value)
    if live:  # what each line was sent, beside its entry row (annex.distribute.live.SENT_KEYS)
        for key, letter in SENT_COLUMNS.items():
            _set(ws, f"{letter}1", f"配布時の{COLUMN_BY_KEY[key].label}")  # type: ignore[index]
            for offset, line in enumerate(plan.lines):
                if line.prefilled and line.values.get(key):
                    _set(ws, f"{letter}{FIRST_DATA_ROW + offset}", line.values[key])
    ws.sheet_state = "hidden"
    _protect(ws)


def metadata(plan: TemplatePlan, generated_at: dt.datetime, source_master: str) -> dict[str, Any]:
    return {
        "ministry": plan.ministry,
        "ministry_slug": plan.slug,
        "year": plan.year,
        "template_version": TEMPLATE_VERSION,
        "checksum": plan.checksum,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "source_master": source_master,
    }


def _write_meta(ws: Any, meta: dict[str, Any]) -> None:
    assert tuple(meta) == META_KEYS
    _set(ws, "A1", "key")
    _set(ws, "B1", "value")
    for i, key in enumerate(META_KEYS, start=2):
        _set(ws, f"A{i}", key)
        _set(ws, f"B{i}", meta[key])
    ws.sheet_state = "veryHidden"
    _protect(ws)


def write_template(
    path: Path, plan: TemplatePlan, config: Config, *, generated_at: dt.datetime, source_master: str, live: bool = True
) -> None:
    """Write the plan's workbook to path (the caller makes it atomic). ``live=False`` leaves out the
    live checks (what bench/bench_template.py compares with)."""
    wb = Workbook()
    use_sheet_font(wb)
    entry = wb.active
    entry.title = SHEET_ENTRY
    _write_entry(entry, plan, config.settings.rule_severities, live)
    _write_guide(wb.create_sheet(SHEET_GUIDE), plan, config.secretariat, config.settings.rule_severities)
    _write_lists(wb.create_sheet(SHEET_LISTS), plan, live)
    _write_meta(wb.create_sheet(SHEET_META), metadata(plan, generated_at, source_master))
    wb.active = 0
    wb.security = WorkbookProtection(lockStructure=True)
    wb.security.workbookPassword = PROTECTION_PASSWORD
    wb.properties.creator = "annex"
    wb.properties.title = title_text(plan)
    wb.properties.created = generated_at.astimezone(dt.UTC).replace(tzinfo=None)
    wb.save(path)


# -- reading back (shared with tests and the sample generator) --------------------------------
def read_meta(wb: Any) -> dict[str, Any]:
    ws = wb[SHEET_META]
    return {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(2, ws.max_row + 1)}


def read_lines(ws: Any) -> list[dict[str, str]]:
    """記入シート's lines as {key: text}, columns found by their label in the header row."""
    by_label = {spec.label: spec.key for spec in COLUMNS}
    columns = {}
    for cell in ws[HEADER_ROW]:
        if cell.value in by_label:
            columns[by_label[cell.value]] = cell.column
    lines = []
    for r in range(FIRST_DATA_ROW, ws.max_row + 1):
        values = {}
        for key, col in columns.items():
            v = ws.cell(row=r, column=col).value
            values[key] = "" if v is None else str(v)
        lines.append(values)
    return lines


def share_live_formula(ws: Any) -> None:
    """Store 記入シート's チェック formula once again after openpyxl loaded it (openpyxl expands a
    shared formula into one copy per cell, which doubles the file): what Excel does on saving."""
    column = LETTER[LIVE_KEY]
    first = ws[f"{column}{FIRST_DATA_ROW}"].value
    if ws[f"{column}{HEADER_ROW}"].value == LIVE_LABEL and isinstance(first, str) and first.startswith("="):
        fill_down_formula(ws, column, FIRST_DATA_ROW, ws.max_row, first, 0)


def workbook_checksum(wb: Any) -> str:
    """locked_checksum recomputed from a workbook's 記入シート (what the validator does)."""
    return locked_checksum(checksum_lines(read_lines(wb[SHEET_ENTRY])))


def cell_of(key: Key | str, line_index: int) -> str:
    """A1 address of a column key on the plan's line_index-th line (0-based)."""
    return f"{LETTER[key]}{FIRST_DATA_ROW + line_index}"
