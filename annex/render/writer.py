"""Render a year's master as the published annex: master → context (JSON) → annex.docx → annex.pdf.

Two steps, each testable alone:

* ``build_context(annex)`` is pure. It makes every layout decision (which sub-heading sits in
  which cell, how status and policy bullets line up in sub-rows beside the merged measure cell,
  where a 「－」 goes, how tables are cut, how footnotes are numbered) and returns plain data
  that is saved as ``output/<Y>/annex-context.json``.
* ``render_docx(context, template, out)`` only translates that data into WordprocessingML,
  inside a copy of ``templates/annex.docx``. It sets no fonts, sizes or borders of its own: every
  paragraph, character and table style is looked up *by name* in the template, so the
  secretariat restyles the annex in Word (fonts, margins, heading styles, table style) without
  touching code. (Japanese Word rewrites style ids — 「見出し 1」 is saved as id "1" — so ids are
  never hard-coded.)

Why a direct-XML builder and not docxtpl: the layout needs vertically merged measure cells over
a variable number of sub-rows, real footnotes with their published numbers, nested sub-headings
and hidden id bookmarks. docxtpl's nested-loop vertical merge is a known open bug (docxtpl#618),
it has no footnote support, and building the XML directly is also the fastest measured route
(research/performance_baselines.md §6). The template still owns the look; the code owns only
the structure.

The reverse, ``annex.render.reader.read_annex_docx``, reads the same structure back, so a
secretariat can bootstrap a year from last year's Word file.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable
from xml.sax.saxutils import escape

from lxml import etree

from annex.model.errors import AnnexError, InputError
from annex.model.annex import (
    COLUMN_LABELS,
    COLUMNS,
    MEASURE_LABEL,
    RELISTED_MARK,
    Annex,
    Bullet,
    Row,
    heading_path,
    number_subrows,
)

CONTEXT_SCHEMA = "annex-context/1"
TEMPLATE_NAME = "annex.docx"

# The paragraph in the template that the annex body replaces (everything else is kept).
BODY_MARKER = "［ここに別添の本文が入ります］"

# Labels of a chapter's opening parts, as the published annex prints them.
LABELS = {
    "vision": "【あるべき姿とその実現に向けた方向性】",
    "goals": "【目標】",
    "key_indicators": "【科学技術・イノベーション政策において目指す主要な数値目標】（主要指標）",  # the Basic Plan's wording
    "reference_indicators": "【現状データ】（参考指標）",
}
ITEM_BULLET = "・ "  # 目標・数値目標・現状データ bullets: 「・ 」 (house style, notation_lint.md)
TABLE_BULLET = "・"  # 実施状況・今後の取組方針 bullets
ABBREVIATION_TITLE = "府省庁名の略称"
ABBREVIATION_HEADERS = ("略称", "府省名")
ABOLISHED_MARK = "【廃止】"
EMPTY_MARKERS = ("－", "―")

# Column widths of the 取組 table, as shares of the text width (measure | status | policy).
TABLE_SHARES = (0.30, 0.35, 0.35)
ABBREVIATION_SHARES = (0.25, 0.75)
# Keep tables short: LibreOffice lays out one long table in ~n³ time (performance_baselines §7).
# Tables are cut between two 取組 once they reach this many sub-rows.
MAX_SUBROWS_PER_TABLE = 120

# Every style the renderer uses: key → (style id in the shipped template, style name).
# The renderer and the importer resolve them by *name* in the template actually used.
PARAGRAPH_STYLES = {
    "chapter": ("Heading1", "heading 1"),
    "section": ("Heading2", "heading 2"),
    "group": ("AnnexGroup", "別添 節の区分"),
    "label": ("AnnexLabel", "別添 ラベル"),
    "prose": ("AnnexProse", "別添 本文"),
    "item": ("AnnexItem", "別添 目標・指標"),
    "table_header": ("AnnexTableHeader", "別添 表の見出し行"),
    "measure": ("AnnexMeasure", "別添 取組"),
    "narrative": ("AnnexNarrative", "別添 取組（説明文）"),
    "bullet": ("AnnexBullet", "別添 項目"),
    "sub1": ("AnnexSub1", "別添 小見出し1"),
    "sub2": ("AnnexSub2", "別添 小見出し2"),
    "sub3": ("AnnexSub3", "別添 小見出し3"),
    "empty": ("AnnexEmpty", "別添 空欄"),
    "abbr_title": ("AnnexAbbrTitle", "別添 略称表の題"),
    "abbr": ("AnnexAbbr", "別添 略称"),
    "abbr_member": ("AnnexAbbrMember", "別添 略称（内閣官房・内閣府）"),
    "abbr_group": ("AnnexAbbrGroup", "別添 略称の区分"),
    "abbr_name": ("AnnexAbbrName", "別添 府省名"),
    "footnote_text": ("FootnoteText", "footnote text"),
}
CHARACTER_STYLES = {
    "footnote_ref": ("FootnoteReference", "footnote reference"),
    "mark": ("AnnexMark", "別添 取組記号"),
    "relisted": ("AnnexRelisted", "別添 再掲"),
    "tags": ("AnnexTags", "別添 タグ"),
    "abolished": ("AnnexAbolished", "別添 廃止"),
}
TABLE_STYLES = {
    "table": ("AnnexTable", "別添 取組表"),
    "abbr_table": ("AnnexAbbrTable", "別添 略称表"),
}
SUBHEADING_KEYS = ("sub1", "sub2", "sub3")

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
FOOTNOTES_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"
FOOTNOTES_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
W = f"{{{W_NS}}}"

# Characters XML 1.0 cannot hold (python-docx raises on them; research/reliability_security §0.7).
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class TemplateError(InputError):
    """The Word template cannot be used (missing, not a .docx, a needed style deleted)."""


# ----------------------------------------------------------------------------------------------
# Hidden ids: bookmarks named after the row / bullet id (Word hides names starting with "_").
# ----------------------------------------------------------------------------------------------
_BOOKMARK_KEEP = set("ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz0123456789")
BOOKMARK_MAX = 40  # Word's limit on bookmark names


def encode_bookmark(kind: str, value: str) -> str | None:
    """A Word-legal bookmark name carrying an id: "_r3_x2460_01" for row 3-①-01. None if too long."""
    out = [f"_{kind}"]
    for ch in value:
        if ch in _BOOKMARK_KEEP:
            out.append(ch)
        elif ch == "-":
            out.append("_")
        elif ord(ch) <= 0xFFFF:
            out.append(f"x{ord(ch):04x}")
        else:
            out.append(f"X{ord(ch):06x}")
    name = "".join(out)
    return name if len(name) <= BOOKMARK_MAX else None


def decode_bookmark(name: str) -> tuple[str, str] | None:
    """(kind, id) from a name made by encode_bookmark, or None for any other bookmark."""
    if len(name) < 3 or name[0] != "_" or name[1] not in "rb":
        return None
    kind, body, out, i = name[1], name[2:], [], 0
    try:
        while i < len(body):
            ch = body[i]
            if ch == "x":
                out.append(chr(int(body[i + 1 : i + 5], 16)))
                i += 5
            elif ch == "X":
                out.append(chr(int(body[i + 1 : i + 7], 16)))
                i += 7
            elif ch == "_":
                out.append("-")
                i += 1
            else:
                out.append(ch)
                i += 1
    except ValueError:
        return None
    return kind, "".join(out)


# ----------------------------------------------------------------------------------------------
# Step 1: the context (pure, JSON-able)
# ----------------------------------------------------------------------------------------------
def _clean(text: str, warnings: list[str], where: str) -> str:
    cleaned = _ILLEGAL_XML.sub("", text)
    if cleaned != text:
        warnings.append(f"{where}: Word に書けない制御文字 {len(text) - len(cleaned)} 字を除きました")
    return cleaned


def _scrub(value, warnings: list[str], where: str):
    """Every text of the context, whatever its field, without characters XML cannot hold; each
    removal is reported at the nearest item id (or chapter / section number)."""
    if isinstance(value, str):
        return _clean(value, warnings, where)
    if isinstance(value, list):
        return [_scrub(v, warnings, where) for v in value]
    if isinstance(value, dict):
        if "number" in value:
            here = f"脚注 {value['number']}"
        elif "abbr" in value:
            here = f"略称 {value['abbr']}"
        else:
            here = value.get("id") or value.get("no_raw") or value.get("no") or where
        return {k: _scrub(v, warnings, str(here)) for k, v in value.items()}
    return value


class _Footnotes:
    """Citations in document order: the first citation of a number is the real footnote."""

    def __init__(self, texts: dict[str, str], warnings: list[str]):
        self.texts = texts
        self.warnings = warnings
        self.order: list[int] = []

    def cite(self, marks: Iterable[tuple[int, int]], where: str) -> list[dict]:
        """marks: (number, offset in the text) → [{number, offset, first}] in text order."""
        out = []
        for number, offset in marks:
            first = number not in self.order
            if first:
                if str(number) not in self.texts:
                    self.warnings.append(f"{where}: 脚注 {number} の本文がマスターにありません（番号だけを出力します）")
                self.order.append(number)
            out.append({"number": number, "offset": offset, "first": first})
        return out

    def finish(self) -> tuple[dict, list[dict]]:
        start = self.order[0] if self.order else 1
        consecutive = self.order == list(range(start, start + len(self.order)))
        mode = "auto" if consecutive else "custom"
        notes = [{"number": n, "text": self.texts.get(str(n), "")} for n in self.order]
        uncited = sorted((k for k in self.texts if not k.isdigit() or int(k) not in self.order), key=_footnote_key)
        for key in uncited:
            self.warnings.append(f"脚注 {key} はどこからも参照されていないため出力しません")
        return {"mode": mode, "start": start}, notes


def _footnote_key(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (10**9, key)


def _heading_level(text: str, default: int = 1) -> int:
    return 2 if text.startswith("≪") else default


def _split_marks(paragraphs: list[str], cites: list[dict]) -> list[list[dict]]:
    """Cites of a text joined by "\n", given per paragraph with offsets local to it."""
    out: list[list[dict]] = [[] for _ in paragraphs]
    starts, position = [], 0
    for text in paragraphs:
        starts.append(position)
        position += len(text) + 1
    for cite in cites:
        k = max(i for i, st in enumerate(starts) if st <= cite["offset"]) if paragraphs else 0
        out[k].append(cite | {"offset": min(cite["offset"] - starts[k], len(paragraphs[k]))})
    return out


def _subrows(row: Row, cite, warnings: list[str]) -> list[dict]:
    """The sub-rows of one 取組 as published: the status and policy bullets of the same sub-row
    side by side (bullet.subrow), a 「－」 where a side is empty, and a sub-heading row wherever a
    column's sub-heading changes (a change inside a sub-row is printed inside its cell)."""
    pending = {c: [s.text for s in (row.subheadings or []) if s.column == c] for c in COLUMNS}
    previous: dict[str, tuple[str, ...]] = {c: () for c in COLUMNS}

    def printed_headings(column: str, path: tuple[str, ...]) -> list[dict]:
        old = previous[column]
        common = 0
        while common < min(len(old), len(path)) and old[common] == path[common]:
            common += 1
        previous[column] = path
        out = []
        for level in range(common + 1, len(path) + 1):
            text = path[level - 1]
            if text in pending[column]:
                # a listed sub-heading with no bullet of its own comes first, where it stood
                while pending[column][0] != text:
                    lone = pending[column].pop(0)
                    out.append({"kind": "heading", "level": _heading_level(lone), "text": lone})
                pending[column].pop(0)
                out.append({"kind": "heading", "level": min(level, 3), "text": text})
        return out

    def bullet_item(bullet: Bullet) -> dict:
        return {
            "kind": "bullet",
            "id": bullet.id,
            "text": bullet.text,
            "tags": list(bullet.tags),
            "relisted": bullet.relisted,
            "footnotes": cite(bullet.footnote_marks(), bullet.id or row.id),
        }

    numbered = row.model_copy(deep=True)
    number_subrows(numbered)  # a master written before sub-rows were numbered
    cells: dict[int, dict[str, list]] = {}
    for column in COLUMNS:
        for bullet in numbered.bullets(column):
            cells.setdefault(bullet.subrow, {c: [] for c in COLUMNS})[column].append(bullet)
    markers: dict[tuple[int, str], str] = {}
    for marker in numbered.empty_cell_markers or []:
        cells.setdefault(marker.subrow, {c: [] for c in COLUMNS})
        markers[(marker.subrow, marker.column)] = marker.marker

    subrows: list[dict] = []
    for number in sorted(cells):
        lead = {c: [] for c in COLUMNS}  # sub-headings before the cell's first bullet
        body = {c: [] for c in COLUMNS}
        for column in COLUMNS:
            for i, bullet in enumerate(cells[number][column]):
                heads = printed_headings(column, heading_path(bullet))
                (body[column] if i else lead[column]).extend(heads)
                body[column].append(bullet_item(bullet))
            if (number, column) in markers:
                body[column].append({"kind": "empty", "text": markers[(number, column)]})
        if lead["status"] or lead["policy"]:
            subrows.append(lead)
        subrows.append(body)
    leftovers = {c: pending[c] for c in COLUMNS if pending[c]}
    if leftovers:
        subrows.append({c: [{"kind": "heading", "level": _heading_level(t), "text": t} for t in leftovers.get(c, [])] for c in COLUMNS})
    if not subrows:
        subrows.append({"status": [], "policy": []})
    return subrows


def _row_context(row: Row, cite, warnings: list[str]) -> dict:
    paragraphs = row.measure.split("\n")
    return {
        "id": row.id,
        "kind": row.measure_kind,
        "measure": {
            "marker": row.measure_marker,
            "paragraphs": paragraphs,
            "footnotes": _split_marks(paragraphs, cite(row.measure_footnote_marks(), row.id)),
            "relisted": row.measure_relisted,
            "tags": [t for t in row.measure_tags],
        },
        "subrows": _subrows(row, cite, warnings),
    }


def build_context(annex: Annex) -> dict:
    """Everything the Word file shows, as plain JSON-able data, in document order. Pure."""
    warnings: list[str] = []
    footnotes = _Footnotes(annex.footnotes, warnings)
    blocks: list[dict] = []
    for chapter in annex.chapters:
        blocks.append(
            {
                "type": "chapter",
                "no": chapter.no,
                "no_raw": chapter.no_raw,
                "title": chapter.title,
                "text": f"{chapter.no_raw}．{chapter.title}",
            }
        )
        pre = chapter.preamble
        for text in pre.intro or []:
            blocks.append({"type": "prose", "part": "intro", "text": text, "footnotes": []})
        if pre.vision:
            blocks.append({"type": "label", "part": "vision", "text": LABELS["vision"]})
            for i, text in enumerate(pre.vision):
                where = f"{chapter.no_raw}．{LABELS['vision']}"
                blocks.append({"type": "prose", "part": "vision", "text": text,
                               "footnotes": footnotes.cite(pre.vision_footnote_marks(i), where)})
        if pre.goals:
            blocks.append({"type": "label", "part": "goals", "text": LABELS["goals"]})
            for text in pre.goals:
                blocks.append({"type": "item", "part": "goals", "text": text, "footnotes": []})
        for part in ("key_indicators", "reference_indicators"):
            indicators = getattr(pre, part)
            if indicators:
                blocks.append({"type": "label", "part": part, "text": LABELS[part]})
                for ind in indicators:
                    blocks.append(
                        {
                            "type": "item",
                            "part": part,
                            "text": ind.text,
                            "footnotes": footnotes.cite(ind.footnote_marks(), f"{chapter.no_raw}．{LABELS[part]}"),
                        }
                    )
        for section in chapter.sections:
            if section.group:
                blocks.append({"type": "group", "text": section.group})
            blocks.append(
                {
                    "type": "section",
                    "no": section.no,
                    "title": section.title,
                    "heading_style": section.heading_style,
                    "text": f"{section.no}　{section.title}",
                }
            )
            table: list[dict] = []
            size = 0
            for row in section.rows:
                row_ctx = _row_context(row, footnotes.cite, warnings)
                if table and size + len(row_ctx["subrows"]) > MAX_SUBROWS_PER_TABLE:
                    blocks.append({"type": "table", "rows": table})
                    table, size = [], 0
                table.append(row_ctx)
                size += len(row_ctx["subrows"])
            if table:
                blocks.append({"type": "table", "rows": table})
    numbering, notes = footnotes.finish()

    abbreviation_rows: list[dict] = []
    previous_parent = None
    for abbr in annex.abbreviations:
        if abbr.parent and abbr.parent != previous_parent:
            abbreviation_rows.append({"kind": "group", "text": abbr.parent})
        previous_parent = abbr.parent
        abbreviation_rows.append(
            {
                "kind": "entry",
                "abbr": abbr.abbr,
                "names": list(abbr.names),
                "abolished": abbr.abolished,
                "member": abbr.parent is not None,
            }
        )
    blocks, notes, abbreviation_rows = (_scrub(part, warnings, "別添") for part in (blocks, notes, abbreviation_rows))
    warnings[:] = dict.fromkeys(warnings)  # a title printed twice (heading and 「３．title」) is one finding
    return {
        "schema": CONTEXT_SCHEMA,
        "source": _scrub(annex.source, warnings, "別添"),
        "year": annex.year,
        "column_labels": [MEASURE_LABEL, COLUMN_LABELS["status"], COLUMN_LABELS["policy"]],
        "footnote_numbering": numbering,
        "footnotes": notes,
        "blocks": blocks,
        "abbreviations": {
            "title": ABBREVIATION_TITLE,
            "headers": list(ABBREVIATION_HEADERS),
            "rows": abbreviation_rows,
        },
        "counts": annex.counts(),
        "warnings": warnings,
    }


def context_json(context: dict) -> str:
    return json.dumps(context, ensure_ascii=False, indent=1) + "\n"


# ----------------------------------------------------------------------------------------------
# Step 2: fill the template
# ----------------------------------------------------------------------------------------------
def _t(text: str) -> str:
    """Runs' inner XML for text: tabs and line breaks become w:tab / w:br."""
    parts = []
    for i, line in enumerate(text.split("\n")):
        if i:
            parts.append("<w:br/>")
        for j, chunk in enumerate(line.split("\t")):
            if j:
                parts.append("<w:tab/>")
            if chunk:
                parts.append(f'<w:t xml:space="preserve">{escape(chunk)}</w:t>')
    return "".join(parts)


class _Writer:
    """Builds the body XML as one string (the fastest measured route; ~10 ms per 1,500 rows)."""

    def __init__(self, styles: dict[str, str], text_width: int, numbering: dict, notes: dict[int, str]):
        self.styles = styles  # key → style id in this template
        self.text_width = text_width
        self.numbering = numbering
        self.note_texts = notes
        self.parts: list[str] = []
        self.footnotes: list[tuple[int, int, str]] = []  # (xml id, number, text)
        self.bookmark_id = 0
        self.tables = 0

    # -- pieces ------------------------------------------------------------------------------
    def run(self, text: str, style: str | None = None) -> str:
        rpr = f'<w:rPr><w:rStyle w:val="{self.styles[style]}"/></w:rPr>' if style else ""
        return f"<w:r>{rpr}{_t(text)}</w:r>"

    def marked(self, text: str, cites: list[dict], style: str | None = None) -> str:
        """Runs of text with each footnote reference at its offset (text[:offset] before it)."""
        out, done = [], 0
        for cite in sorted(cites, key=lambda c: c["offset"]):
            offset = min(max(cite["offset"], done), len(text))
            if offset > done:
                out.append(self.run(text[done:offset], style))
            out.append(self.footnote_runs([cite]))
            done = offset
        if done < len(text):
            out.append(self.run(text[done:], style))
        return "".join(out)

    def footnote_runs(self, cites: list[dict]) -> str:
        out = []
        ref = self.styles["footnote_ref"]
        for cite in cites:
            number = cite["number"]
            if cite["first"]:
                xml_id = len(self.footnotes) + 1
                self.footnotes.append((xml_id, number, self.note_texts.get(number, "")))
                if self.numbering["mode"] == "auto":
                    out.append(f'<w:r><w:rPr><w:rStyle w:val="{ref}"/></w:rPr><w:footnoteReference w:id="{xml_id}"/></w:r>')
                else:
                    out.append(
                        f'<w:r><w:rPr><w:rStyle w:val="{ref}"/></w:rPr><w:footnoteReference w:customMarkFollows="1" w:id="{xml_id}"/>'
                        f"<w:t>{number}</w:t></w:r>"
                    )
            else:  # a second citation of the same note: its number, styled as a reference
                out.append(f'<w:r><w:rPr><w:rStyle w:val="{ref}"/></w:rPr><w:t>{number}</w:t></w:r>')
        return "".join(out)

    def bookmark(self, kind: str, value: str | None) -> tuple[str, str]:
        name = encode_bookmark(kind, value) if value else None
        if not name:
            return "", ""
        self.bookmark_id += 1
        i = self.bookmark_id
        return f'<w:bookmarkStart w:id="{i}" w:name="{name}"/>', f'<w:bookmarkEnd w:id="{i}"/>'

    def para(self, style: str, inner: str, extra_ppr: str = "") -> str:
        return f'<w:p><w:pPr><w:pStyle w:val="{self.styles[style]}"/>{extra_ppr}</w:pPr>{inner}</w:p>'

    # -- blocks ------------------------------------------------------------------------------
    def block(self, block: dict) -> None:
        kind = block["type"]
        if kind == "chapter":
            self.parts.append(self.para("chapter", self.run(block["text"])))
        elif kind == "section":
            self.parts.append(self.para("section", self.run(block["text"])))
        elif kind == "group":
            self.parts.append(self.para("group", self.run(block["text"])))
        elif kind == "label":
            self.parts.append(self.para("label", self.run(block["text"])))
        elif kind == "prose":
            self.parts.append(self.para("prose", self.marked(block["text"], block["footnotes"])))
        elif kind == "item":
            self.parts.append(self.para("item", self.run(ITEM_BULLET) + self.marked(block["text"], block["footnotes"])))
        elif kind == "table":
            self.table(block["rows"])
        else:  # pragma: no cover - the context is ours
            raise AnnexError(f"描画できない要素です: {kind}")

    def _tc(self, width: int, inner: str, extra: str = "") -> str:
        return f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{extra}</w:tcPr>{inner}</w:tc>'

    def _widths(self, shares: tuple[float, ...]) -> list[int]:
        widths = [int(self.text_width * s) for s in shares]
        widths[-1] = self.text_width - sum(widths[:-1])
        return widths

    def _table_open(self, style: str, widths: list[int]) -> str:
        grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
        return (
            f'<w:tbl><w:tblPr><w:tblStyle w:val="{self.styles[style]}"/><w:tblW w:w="{sum(widths)}" w:type="dxa"/>'
            '<w:tblLayout w:type="fixed"/>'
            '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" w:noHBand="1" w:noVBand="1"/>'
            f"</w:tblPr><w:tblGrid>{grid}</w:tblGrid>"
        )

    def _header_row(self, labels: list[str], widths: list[int]) -> str:
        cells = "".join(self._tc(w, self.para("table_header", self.run(t))) for w, t in zip(widths, labels))
        return f"<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>{cells}</w:tr>"

    def measure_cell(self, row: dict) -> str:
        m = row["measure"]
        style = "narrative" if row["kind"] == "narrative" else "measure"
        start, end = self.bookmark("r", row["id"])
        paragraphs = m["paragraphs"] or [""]
        out = []
        for i, text in enumerate(paragraphs):
            inner = ""
            if i == 0:
                inner += start
                if m["marker"]:
                    inner += self.run(m["marker"], "mark")
            inner += self.marked(text, m["footnotes"][i] if m.get("footnotes") else [])
            if i == len(paragraphs) - 1:
                if m["relisted"]:
                    inner += self.run(RELISTED_MARK, "relisted")
                if m["tags"]:
                    inner += self.run(f"【{'、'.join(m['tags'])}】", "tags")
                inner += end
            out.append(self.para(style, inner))
        return "".join(out)

    def cell_items(self, items: list[dict]) -> str:
        if not items:
            return self.para("bullet", "")
        out = []
        for item in items:
            if item["kind"] == "heading":
                out.append(self.para(SUBHEADING_KEYS[min(item["level"], 3) - 1], self.run(item["text"])))
            elif item["kind"] == "empty":
                out.append(self.para("empty", self.run(item["text"])))
            else:
                start, end = self.bookmark("b", item["id"])
                inner = start + self.run(TABLE_BULLET) + self.marked(item["text"], item["footnotes"])
                if item["relisted"]:
                    inner += self.run(RELISTED_MARK, "relisted")
                if item["tags"]:
                    inner += self.run(f"【{'、'.join(item['tags'])}】", "tags")
                inner += end
                out.append(self.para("bullet", inner))
        return "".join(out)

    def table(self, rows: list[dict]) -> None:
        widths = self._widths(TABLE_SHARES)
        self.tables += 1
        out = [self._table_open("table", widths), self._header_row(self.column_labels, widths)]
        inner_border = '<w:tcBorders><w:top w:val="dotted" w:sz="4" w:space="0" w:color="auto"/></w:tcBorders>'
        for row in rows:
            for k, sub in enumerate(row["subrows"]):
                if k == 0:
                    measure = self._tc(widths[0], self.measure_cell(row), '<w:vMerge w:val="restart"/>')
                else:
                    measure = self._tc(widths[0], self.para("measure", ""), "<w:vMerge/>")
                extra = inner_border if k else ""
                status = self._tc(widths[1], self.cell_items(sub["status"]), extra)
                policy = self._tc(widths[2], self.cell_items(sub["policy"]), extra)
                out.append(f"<w:tr>{measure}{status}{policy}</w:tr>")
        out.append("</w:tbl>")
        self.parts.append("".join(out))

    def abbreviations(self, abbreviations: dict) -> None:
        if not abbreviations["rows"]:
            return
        widths = self._widths(ABBREVIATION_SHARES)
        self.parts.append(self.para("abbr_title", self.run(abbreviations["title"])))
        out = [self._table_open("abbr_table", widths), self._header_row(abbreviations["headers"], widths)]
        for row in abbreviations["rows"]:
            if row["kind"] == "group":
                cell = self._tc(sum(widths), self.para("abbr_group", self.run(row["text"])), '<w:gridSpan w:val="2"/>')
                out.append(f"<w:tr><w:trPr><w:cantSplit/></w:trPr>{cell}</w:tr>")
                continue
            abbr = self.para("abbr_member" if row["member"] else "abbr", self.run(row["abbr"]))
            names = row["names"] or [""]
            paras = []
            for i, name in enumerate(names):
                inner = self.run(name) if name else ""
                if row["abolished"] and i == len(names) - 1:
                    inner += self.run(ABOLISHED_MARK, "abolished")
                paras.append(self.para("abbr_name", inner))
            out.append(f"<w:tr><w:trPr><w:cantSplit/></w:trPr>{self._tc(widths[0], abbr)}{self._tc(widths[1], ''.join(paras))}</w:tr>")
        out.append("</w:tbl>")
        self.parts.append("".join(out))

    # -- footnotes part ----------------------------------------------------------------------
    def footnote_xml(self) -> list[str]:
        ref, text_style = self.styles["footnote_ref"], self.styles["footnote_text"]
        out = []
        for xml_id, number, text in self.footnotes:
            mark = "<w:footnoteRef/>" if self.numbering["mode"] == "auto" else f"<w:t>{number}</w:t>"
            paragraphs = text.split("\n") or [""]
            paras = []
            for i, para in enumerate(paragraphs):
                lead = f'<w:r><w:rPr><w:rStyle w:val="{ref}"/></w:rPr>{mark}</w:r><w:r><w:t xml:space="preserve"> </w:t></w:r>' if i == 0 else ""
                paras.append(f'<w:p><w:pPr><w:pStyle w:val="{text_style}"/></w:pPr>{lead}{self.run(para) if para else ""}</w:p>')
            out.append(f'<w:footnote w:id="{xml_id}">{"".join(paras)}</w:footnote>')
        return out


def _xml(fragment: str) -> etree._Element:
    return etree.fromstring(f'<w:body xmlns:w="{W_NS}" xmlns:r="{R_NS}">{fragment}</w:body>'.encode())


def style_ids(styles_xml: bytes) -> dict[str, tuple[str, str]]:
    """style name (lower-cased) → (style id, type) in a styles.xml."""
    root = etree.fromstring(styles_xml)
    out = {}
    for style in root.iter(f"{W}style"):
        name = style.find(f"{W}name")
        if name is not None:
            out[name.get(f"{W}val").lower()] = (style.get(f"{W}styleId"), style.get(f"{W}type"))
    return out


def _resolve_styles(styles_xml: bytes, template: Path) -> dict[str, str]:
    by_name = style_ids(styles_xml)
    resolved, missing = {}, []
    for table, kind in ((PARAGRAPH_STYLES, "paragraph"), (CHARACTER_STYLES, "character"), (TABLE_STYLES, "table")):
        for key, (_, name) in table.items():
            found = by_name.get(name.lower())
            if found and found[1] == kind:
                resolved[key] = found[0]
            else:
                missing.append(name)
    if missing:
        raise TemplateError(
            f"テンプレート {template} に必要なスタイルがありません: {'、'.join(missing)}",
            hint="templates/annex.docx のスタイル名は変えずに書式だけを変更してください",
        )
    return resolved


def _text_width(sect_pr: etree._Element | None) -> int:
    """Text width in twips from the template's page size and margins (A4, 20 mm margins if unset)."""
    width, left, right = 11906, 1134, 1134
    if sect_pr is not None:
        pg_sz, pg_mar = sect_pr.find(f"{W}pgSz"), sect_pr.find(f"{W}pgMar")
        if pg_sz is not None and pg_sz.get(f"{W}w"):
            width = int(pg_sz.get(f"{W}w"))
        if pg_mar is not None:
            left = int(pg_mar.get(f"{W}left", left))
            right = int(pg_mar.get(f"{W}right", right))
    return max(width - left - right, 2000)


def _paragraph_text(p: etree._Element) -> str:
    return "".join(t.text or "" for t in p.iter(f"{W}t"))


@dataclass
class DocxInfo:
    path: Path
    tables: int
    footnotes: int
    paragraphs: int


def render_docx(context: dict, template_path: Path, out_path: Path) -> DocxInfo:
    """Fill the Word template with a context from build_context and write out_path (a .docx)."""
    template_path = Path(template_path)
    if not template_path.exists():
        raise TemplateError(f"Word テンプレート {template_path} が見つかりません")
    if context.get("schema") != CONTEXT_SCHEMA:
        raise InputError(f"別添の描画データの形式が違います（{context.get('schema')!r}、必要: {CONTEXT_SCHEMA}）")
    try:
        with zipfile.ZipFile(template_path) as zin:
            parts = {info.filename: zin.read(info.filename) for info in zin.infolist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise TemplateError(f"Word テンプレート {template_path} を開けません（{exc}）") from None
    for needed in ("word/document.xml", "word/styles.xml", "[Content_Types].xml", "word/_rels/document.xml.rels"):
        if needed not in parts:
            raise TemplateError(f"Word テンプレート {template_path} は .docx ではありません（{needed} がありません）")
    styles = _resolve_styles(parts["word/styles.xml"], template_path)

    document = etree.fromstring(parts["word/document.xml"])
    body = document.find(f"{W}body")
    sect_pr = body.find(f"{W}sectPr")
    numbering = context["footnote_numbering"]
    notes = {n["number"]: n["text"] for n in context["footnotes"]}
    writer = _Writer(styles, _text_width(sect_pr), numbering, notes)
    writer.column_labels = context["column_labels"]
    for block in context["blocks"]:
        writer.block(block)
    writer.abbreviations(context["abbreviations"])
    # Word needs a paragraph between two tables (else it merges them) and after a final table
    pieces: list[str] = []
    for part in writer.parts:
        if part.startswith("<w:tbl>") and pieces and pieces[-1].startswith("<w:tbl>"):
            pieces.append("<w:p/>")
        pieces.append(part)
    if pieces and pieces[-1].startswith("<w:tbl>"):
        pieces.append("<w:p/>")
    new_nodes = list(_xml("".join(pieces)))

    marker = next((p for p in body.iter(f"{W}p") if _paragraph_text(p).strip() == BODY_MARKER), None)
    if marker is not None:
        parent, index = marker.getparent(), marker.getparent().index(marker)
        parent.remove(marker)
    else:  # no marker: the body goes at the end, before the final section properties
        parent = body
        index = body.index(sect_pr) if sect_pr is not None else len(body)
    for offset, node in enumerate(new_nodes):
        parent.insert(index + offset, node)

    # footnote numbering: the published numbers (e.g. 165–172) continue the whole annex's count
    if sect_pr is not None:
        old = sect_pr.find(f"{W}footnotePr")
        if old is not None:
            sect_pr.remove(old)
        if writer.footnotes and numbering["mode"] == "auto":
            pr = etree.Element(f"{W}footnotePr")
            etree.SubElement(pr, f"{W}numFmt").set(f"{W}val", "decimal")
            etree.SubElement(pr, f"{W}numStart").set(f"{W}val", str(numbering["start"]))
            # footnotePr must precede the other sectPr children except headers/footers references
            position = 0
            for i, child in enumerate(sect_pr):
                if child.tag in (f"{W}headerReference", f"{W}footerReference"):
                    position = i + 1
            sect_pr.insert(position, pr)
    parts["word/document.xml"] = etree.tostring(document, xml_declaration=True, encoding="UTF-8", standalone=True)
    _write_footnotes(parts, writer.footnote_xml())
    _set_title(parts, context["source"])

    out_path = Path(out_path)
    with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED) as zout:
        order = ["[Content_Types].xml"] + [n for n in parts if n != "[Content_Types].xml"]
        for name in order:
            zout.writestr(name, parts[name])
    return DocxInfo(out_path, writer.tables, len(writer.footnotes), len(new_nodes))


_SEPARATORS = (
    f'<w:footnotes xmlns:w="{W_NS}" xmlns:r="{R_NS}">'
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
    "<w:r><w:separator/></w:r></w:p></w:footnote>"
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
    "<w:r><w:continuationSeparator/></w:r></w:p></w:footnote></w:footnotes>"
)


def _footnotes_part_name(parts: dict[str, bytes]) -> str:
    rels = etree.fromstring(parts["word/_rels/document.xml.rels"])
    for rel in rels:
        if rel.get("Type") == FOOTNOTES_RT:
            return "word/" + rel.get("Target").lstrip("/").removeprefix("word/")
    # the template has no footnotes part (Word drops it from documents without notes): add one
    ids = {rel.get("Id") for rel in rels}
    new_id = next(f"rId{i}" for i in range(100, 10_000) if f"rId{i}" not in ids)
    etree.SubElement(rels, f"{{{PKG_REL_NS}}}Relationship", Id=new_id, Type=FOOTNOTES_RT, Target="footnotes.xml")
    parts["word/_rels/document.xml.rels"] = etree.tostring(rels, xml_declaration=True, encoding="UTF-8", standalone=True)
    types = etree.fromstring(parts["[Content_Types].xml"])
    etree.SubElement(types, f"{{{CT_NS}}}Override", PartName="/word/footnotes.xml", ContentType=FOOTNOTES_CT)
    parts["[Content_Types].xml"] = etree.tostring(types, xml_declaration=True, encoding="UTF-8", standalone=True)
    parts["word/footnotes.xml"] = _SEPARATORS.encode()
    return "word/footnotes.xml"


def _write_footnotes(parts: dict[str, bytes], notes: list[str]) -> None:
    name = _footnotes_part_name(parts)
    root = etree.fromstring(parts.get(name) or _SEPARATORS.encode())
    for note in list(root):
        if note.get(f"{W}type") in (None, "normal"):
            root.remove(note)
    for node in _xml("".join(notes)):
        root.append(node)
    parts[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _set_title(parts: dict[str, bytes], title: str) -> None:
    """The annex's source name goes into the document title (File > Properties), read back on import."""
    name = "docProps/core.xml"
    if name not in parts:
        return
    root = etree.fromstring(parts[name])
    dc = "http://purl.org/dc/elements/1.1/"
    node = root.find(f"{{{dc}}}title")
    if node is None:
        node = etree.SubElement(root, f"{{{dc}}}title")
    node.text = title
    parts[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


# ----------------------------------------------------------------------------------------------
# One year, end to end (no Prefect): master.json → annex-context.json, annex.docx, annex.pdf
# ----------------------------------------------------------------------------------------------
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


def expected_min_pages(context: dict) -> int:
    """Each chapter and the abbreviation table start a page (template styles), so at least this many."""
    chapters = sum(1 for b in context["blocks"] if b["type"] == "chapter")
    return max(1, chapters + (1 if context["abbreviations"]["rows"] else 0))


def render_year(workspace, year: int, *, pdf: bool = True, timeout: float = 300.0) -> RenderResult:
    """Render master(year) of a workspace into output/<year>/ (context, docx, and PDF if possible).

    The three files are published together (atomically); when no PDF could be made, the docx is
    still delivered, the reason is reported, and an older annex.pdf is removed so that the PDF
    on disk never disagrees with the Word file.
    """
    from annex.io.files import ensure_dir, publishing
    from annex.master.store import read_master
    from annex.render.pdf import convert_to_pdf

    result = RenderResult(year=year)
    clock = time.perf_counter()
    annex = read_master(workspace.master_json(year))
    context = build_context(annex)
    result.warnings = list(context["warnings"])
    result.seconds["context"] = time.perf_counter() - clock

    folder = ensure_dir(workspace.output(year))
    scratch = Path(tempfile.mkdtemp(prefix=".annex-render-", dir=folder))
    try:
        clock = time.perf_counter()
        docx = scratch / "annex.docx"
        info = render_docx(context, workspace.template(TEMPLATE_NAME), docx)
        result.tables, result.footnotes = info.tables, info.footnotes
        result.seconds["docx"] = time.perf_counter() - clock
        pdf_result = None
        if pdf:
            clock = time.perf_counter()
            pdf_result = convert_to_pdf(docx, scratch, timeout=timeout, expected_min_pages=expected_min_pages(context))
            result.seconds["pdf"] = time.perf_counter() - clock
            result.pdf_produced = pdf_result.ok
            result.pdf_reason = pdf_result.reason
            result.pages = pdf_result.pages
        else:
            result.pdf_reason = "PDF の作成は指定により省略しました（--no-pdf）"
        with publishing() as outputs:
            result.context_path = outputs.stage_text(folder / "annex-context.json", context_json(context))
            result.docx_path = outputs.stage(folder / "annex.docx", lambda p: shutil.copyfile(docx, p))
            if pdf_result is not None and pdf_result.ok:
                result.pdf_path = outputs.stage(folder / "annex.pdf", lambda p: shutil.copyfile(pdf_result.path, p))
        result.written = [p for p in (result.context_path, result.docx_path, result.pdf_path) if p]
        stale = folder / "annex.pdf"
        if not result.pdf_produced and stale.exists():
            stale.unlink()
            result.removed_stale_pdf = True
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result
