"""Step 1 of rendering, pure: master → context, every layout decision as plain JSON-able data
(saved as output/<Y>/annex-context.json): which sub-heading sits in which cell, how status and
policy bullets line up in the published sub-rows beside the merged measure cell, where a 「－」
goes, where each footnote mark stands, how tables are cut, how footnotes are numbered."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator

from annex.model.annex import COLUMN_LABELS, COLUMNS, MEASURE_LABEL, Annex, Bullet, Row, heading_path, number_subrows
from annex.render.ooxml import LABELS, footnote_key

CONTEXT_SCHEMA = "annex-context/1"
ABBREVIATION_LEAD = "※【 】中において用いられる府省の略称は以下のとおり。"  # the lead, as published
ABBREVIATION_HEADERS = ("略称", "府省名")
# Keep tables short: LibreOffice lays out one long table in ~n³ time (performance_baselines §7).
# Tables are cut between two 取組 once they reach this many sub-rows.
MAX_SUBROWS_PER_TABLE = 120

# Characters XML 1.0 cannot hold (python-docx raises on them; research/reliability_security §0.7).
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


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


# What json.dumps (ensure_ascii=False) makes of a character _ILLEGAL_XML matches, UTF-8 encoded:
# \u00XX or \b / \f for a control character, the character itself for U+FFFE and U+FFFF; a lone
# surrogate cannot be encoded at all.
_ILLEGAL_IN_JSON = (b"\\u00", b"\\b", b"\\f", "\ufffe".encode(), "\uffff".encode())


def _scrub_all(value, warnings: list[str], where: str):
    """_scrub, skipped when one look at the value's JSON (C speed) finds nothing it would remove,
    the usual case: walking the whole context was half the time of building it. A find, or a
    backslash typed before b, f or u00, walks the value as before."""
    try:
        data = json.dumps(value, ensure_ascii=False).encode()
    except (TypeError, ValueError):  # not JSON-able, or a lone surrogate (UnicodeEncodeError)
        return _scrub(value, warnings, where)
    return _scrub(value, warnings, where) if any(mark in data for mark in _ILLEGAL_IN_JSON) else value


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
        uncited = sorted((k for k in self.texts if not k.isdigit() or int(k) not in self.order), key=footnote_key)
        for key in uncited:
            self.warnings.append(f"脚注 {key} はどこからも参照されていないため出力しません")
        return {"mode": mode, "start": start}, notes


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

    numbered = row
    if any(x.subrow is None for x in (*row.status, *row.policy, *(row.empty_cell_markers or []))):
        numbered = row.model_copy(deep=True)  # a master written before sub-rows were numbered: never changed in place
        number_subrows(numbered)
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
        subrows.append(
            {c: [{"kind": "heading", "level": _heading_level(t), "text": t} for t in leftovers.get(c, [])] for c in COLUMNS}
        )
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


def build_context(annex: Annex, *, title: str | None = None, created: str | None = None) -> dict:
    """Everything the Word file shows, as plain JSON-able data, in document order. Pure.

    ``title`` is the document's title (File > Properties, the PDF's title): this year's, from
    config; ``created`` the run's time (ISO 8601), for the document's dates. Without them, the
    master's own source name and no date (a context that depends on nothing but the master)."""
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
                blocks.append(
                    {
                        "type": "prose",
                        "part": "vision",
                        "text": text,
                        "footnotes": footnotes.cite(pre.vision_footnote_marks(i), where),
                    }
                )
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
        group = None  # the published annex prints a group line once, before the first section of the group
        for section in chapter.sections:
            if section.group and section.group != group:
                blocks.append({"type": "group", "text": section.group})
            blocks.append(
                {
                    "type": "section",
                    "no": section.no,
                    "title": section.title,
                    "heading_style": section.heading_style,
                    "text": f"{section.no}　{section.title}",
                    "group": section.group,
                    "ends_group": group is not None and section.group is None,  # no line says so: a hidden mark
                }
            )
            group = section.group
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
    blocks, notes, abbreviation_rows = (_scrub_all(part, warnings, "別添") for part in (blocks, notes, abbreviation_rows))
    warnings[:] = dict.fromkeys(warnings)  # a title printed twice (heading and 「３．title」) is one finding
    return {
        "schema": CONTEXT_SCHEMA,
        "source": _scrub(annex.source, warnings, "別添"),
        "title": _scrub(title or annex.source, warnings, "別添"),
        "created": created,
        "year": annex.year,
        "column_labels": [MEASURE_LABEL, COLUMN_LABELS["status"], COLUMN_LABELS["policy"]],
        "footnote_numbering": numbering,
        "footnotes": notes,
        "blocks": blocks,
        "abbreviations": {
            "title": ABBREVIATION_LEAD,
            "headers": list(ABBREVIATION_HEADERS),
            "rows": abbreviation_rows,
        },
        "counts": annex.counts(),
        "warnings": warnings,
    }


def context_json(context: dict) -> str:
    return json.dumps(context, ensure_ascii=False, indent=1) + "\n"


def expected_min_pages(context: dict) -> int:
    """Each chapter and the abbreviation table start a page (template styles), so at least this many."""
    chapters = sum(1 for b in context["blocks"] if b["type"] == "chapter")
    return max(1, chapters + (1 if context["abbreviations"]["rows"] else 0))


# -- the review copy (annex-review.docx): what the secretariat checks before publishing ----------
REVIEW_LABELS = {"not_updated": "未更新（前年度の記載のまま）", "modified": "今年度の修正", "added": "今年度の新規"}


def _bullet_items(context: dict) -> Iterator[dict]:
    for block in context["blocks"]:
        if block["type"] != "table":
            continue
        for row in block["rows"]:
            for subrow in row["subrows"]:
                for items in subrow.values():
                    yield from (item for item in items if item["kind"] == "bullet")


def review_context(context: dict, marks: dict[str, str]) -> tuple[dict, dict[str, int]]:
    """The context with each bullet of marks (item id → not_updated / modified / added) marked for
    the review copy, and a legend first; and the counts per mark. The published context is left as it is."""
    review = copy.deepcopy(context)
    counts = dict.fromkeys(REVIEW_LABELS, 0)
    for item in _bullet_items(review):
        kind = marks.get(item["id"] or "")
        if kind:
            item["review"] = kind
            counts[kind] += 1
    parts = [{"text": "【確認用】公表用は annex.docx です。色の意味: "}]
    for kind, label in REVIEW_LABELS.items():
        parts += [{"text": f"{label} {counts[kind]}件", "review": kind}, {"text": "　"}]
    review["blocks"].insert(0, {"type": "review", "parts": parts})
    review["title"] = f"{context['title']}（確認用）"
    return review, counts


def review_marks(annex: Annex, previous: Annex | None) -> dict[str, str]:
    """item id → not_updated (carried over, no owner submitted), added (not in previous) or
    modified (its text, tags, 再掲 or footnotes differ from previous); previous None: 未更新 only."""
    before = previous.bullet_index() if previous is not None else None
    marks: dict[str, str] = {}
    for _, _, bullet in annex.bullets():
        if not bullet.id:
            continue
        if bullet.not_updated:
            marks[bullet.id] = "not_updated"
        elif before is not None:
            old = before.get(bullet.id)
            if old is None:
                marks[bullet.id] = "added"
            elif _printed(old[2]) != _printed(bullet):
                marks[bullet.id] = "modified"
    return marks


def _printed(bullet: Bullet) -> tuple:
    return bullet.text, tuple(bullet.tags), bullet.relisted, tuple(bullet.footnote_marks())
