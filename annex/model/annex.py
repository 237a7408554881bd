"""The annex as data: Annex → Chapter → Section → Row → Bullet.

The JSON shape is the corpus shape (see the corpus README) plus stable ids and, after a
merge, provenance. Keys that the corpus leaves out when they do not apply (a narrative row's
marker, a row without sub-headings) are left out here too, so that a master written back is
identical to the master read.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from annex.model.labels import COLUMN_BY_LABEL, COLUMN_LABELS, COLUMNS, MEASURE_LABEL, RELISTED_MARK, Column  # noqa: F401 (re-exported)


class Node(BaseModel):
    """Base: strict keys; optional keys are omitted from JSON while they hold their default."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)
    _omit_when_default: ClassVar[frozenset[str]] = frozenset()

    def deep_copy(self: NodeT) -> NodeT:
        """A copy that shares nothing mutable with this node: what model_copy(deep=True) gives,
        without copy.deepcopy's generic walk (memo, reduce) over every string and number of the
        tree: a whole master is copied several times faster. Strings and numbers are shared."""
        return _copied(self)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        # Each omitted key excluded by its field (exclude_if), so that serialising stays in
        # pydantic's core: a wrap serializer on every node made master.json 2× slower to write.
        super().__pydantic_init_subclass__(**kwargs)
        if cls._omit_when_default:
            for key in cls._omit_when_default:
                field = cls.model_fields[key]
                field.exclude_if = _is_default(field.get_default(call_default_factory=True))
            cls.model_rebuild(force=True)


def _is_default(default: Any):
    return lambda value: value == default


NodeT = TypeVar("NodeT", bound=Node)
_CONTAINERS = (Node, list, dict)


def _copied(value: Any) -> Any:
    if isinstance(value, Node):
        # what BaseModel.__copy__ sets, with each mutable value copied (extra="forbid": no extras)
        copy = _new_object(value.__class__)
        _set_attribute(copy, "__dict__", {k: _copied(v) if isinstance(v, _CONTAINERS) else v for k, v in value.__dict__.items()})
        _set_attribute(copy, "__pydantic_fields_set__", set(value.__pydantic_fields_set__))
        _set_attribute(copy, "__pydantic_extra__", None)
        _set_attribute(copy, "__pydantic_private__", _copied(value.__pydantic_private__))
        return copy
    if isinstance(value, list):
        return [_copied(item) if isinstance(item, _CONTAINERS) else item for item in value]
    if isinstance(value, dict):
        return {key: _copied(item) if isinstance(item, _CONTAINERS) else item for key, item in value.items()}
    return value


_new_object, _set_attribute = object.__new__, object.__setattr__


def _json_pieces(node: Node, depth: int) -> Iterator[str]:
    """node as json.dumps(…, ensure_ascii=False, indent=1) writes it ``depth`` levels deep, in
    pieces: the annex, its chapters and their sections field by field, each list of them item by
    item, and everything below a section (a row, a preamble) whole by pydantic's core, re-indented
    (JSON text holds no raw newline, so indenting every line is exact). Peak memory is one row's
    text, not the master's: 600 MB at a million bullets."""
    if not isinstance(node, _STREAMED):
        yield node.model_dump_json(indent=1).replace("\n", "\n" + " " * depth)
        return
    inner = "\n" + " " * (depth + 1)
    fields = type(node).model_fields
    first = True
    for key, item in node.__dict__.items():
        if (excluded := fields[key].exclude_if) is not None and excluded(item):  # the same rule as pydantic's dump
            continue
        yield ("{" if first else ",") + inner + json.dumps(key, ensure_ascii=False) + ": "
        first = False
        if isinstance(item, list) and item and all(isinstance(child, Node) for child in item):
            for i, child in enumerate(item):
                yield ("[" if i == 0 else ",") + "\n" + " " * (depth + 2)
                yield from _json_pieces(child, depth + 2)
            yield inner + "]"
        elif isinstance(item, Node):
            yield from _json_pieces(item, depth + 1)
        else:
            yield json.dumps(item, ensure_ascii=False, indent=1).replace("\n", inner)
    yield "{}" if first else "\n" + " " * depth + "}"


def check_footnote_offsets(text: str, footnotes: list[int] | None, offsets: list[int] | None) -> None:
    """Offsets, where given, pair one to one with the footnotes and stand inside the text, in order."""
    if offsets is None:
        return
    if len(offsets) != len(footnotes or []):
        raise ValueError(f"脚注 {len(footnotes or [])} 件に対して位置が {len(offsets)} 件あります")
    if any(not 0 <= o <= len(text) for o in offsets):
        raise ValueError(f"脚注の位置 {offsets} が本文（{len(text)} 文字）の外にあります")
    if any(b < a for a, b in zip(offsets, offsets[1:])):
        raise ValueError(f"脚注の位置 {offsets} が本文の順になっていません")


def footnote_marks(text: str, footnotes: list[int] | None, offsets: list[int] | None) -> list[tuple[int, int]]:
    """(footnote number, offset in text) for each reference; without offsets, every mark ends the text."""
    numbers = footnotes or []
    where = offsets if offsets is not None else [len(text)] * len(numbers)
    return list(zip(numbers, where))


class Provenance(Node):
    """Where a bullet's current text came from: a submitted workbook's cell, or an import."""

    file: str
    sheet: str | None = None
    cell: str | None = None
    sha256: str | None = None
    ministry: str | None = None

    _omit_when_default = frozenset({"sheet", "cell", "sha256", "ministry"})


class Bullet(Node):
    id: str | None = None
    text: str = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    relisted: bool = False
    heading: str | None = None
    heading_path: list[str] | None = None
    footnotes: list[int] | None = None
    footnote_offsets: list[int] | None = None  # where each footnote mark stands in text
    subrow: int | None = Field(default=None, ge=1)  # the published table's sub-row within the row
    relisted_of: str | None = None  # id of the original bullet, once reconciled
    submitted_by: str | None = None  # the ministry that wrote a status bullet
    not_updated: bool = False  # 未更新: carried over because its owners did not submit
    provenance: Provenance | None = None

    _omit_when_default = frozenset(
        {
            "id",
            "heading_path",
            "footnotes",
            "footnote_offsets",
            "subrow",
            "relisted_of",
            "submitted_by",
            "not_updated",
            "provenance",
        }
    )

    @model_validator(mode="after")
    def _offsets_fit(self) -> "Bullet":
        check_footnote_offsets(self.text, self.footnotes, self.footnote_offsets)
        return self

    def footnote_marks(self) -> list[tuple[int, int]]:
        return footnote_marks(self.text, self.footnotes, self.footnote_offsets)

    def rendered(self) -> str:
        """The bullet as the annex prints it: ・text（再掲）【科技、文】."""
        relisted = RELISTED_MARK if self.relisted else ""
        tags = f"【{'、'.join(self.tags)}】" if self.tags else ""
        return f"・{self.text}{relisted}{tags}"


class Subheading(Node):
    column: Column
    text: str


class EmptyCellMarker(Node):
    column: Column
    marker: str
    subrow: int | None = Field(default=None, ge=1)

    _omit_when_default = frozenset({"subrow"})


class Row(Node):
    id: str = Field(min_length=1)
    measure: str
    measure_tags: list[str] = Field(default_factory=list)
    measure_kind: Literal["measure", "narrative"] = "measure"
    measure_marker: str | None = None
    measure_relisted: bool = False
    measure_footnotes: list[int] | None = None
    measure_footnote_offsets: list[int] | None = None
    status: list[Bullet] = Field(default_factory=list)
    policy: list[Bullet] = Field(default_factory=list)
    subheadings: list[Subheading] | None = None
    empty_cell_markers: list[EmptyCellMarker] | None = None

    _omit_when_default = frozenset(
        {"measure_marker", "measure_footnotes", "measure_footnote_offsets", "subheadings", "empty_cell_markers"}
    )

    @model_validator(mode="after")
    def _offsets_fit(self) -> "Row":
        check_footnote_offsets(self.measure, self.measure_footnotes, self.measure_footnote_offsets)
        return self

    def measure_footnote_marks(self) -> list[tuple[int, int]]:
        return footnote_marks(self.measure, self.measure_footnotes, self.measure_footnote_offsets)

    def bullets(self, column: Column) -> list[Bullet]:
        return self.status if column == "status" else self.policy


class Section(Node):
    no: str
    title: str
    group: str | None = None
    heading_style: str | None = None
    rows: list[Row] = Field(default_factory=list)


class Indicator(Node):
    text: str = Field(min_length=1)
    footnotes: list[int] = Field(default_factory=list)
    footnote_offsets: list[int] | None = None

    _omit_when_default = frozenset({"footnote_offsets"})

    @model_validator(mode="after")
    def _offsets_fit(self) -> "Indicator":
        check_footnote_offsets(self.text, self.footnotes, self.footnote_offsets)
        return self

    def footnote_marks(self) -> list[tuple[int, int]]:
        return footnote_marks(self.text, self.footnotes, self.footnote_offsets)


class VisionFootnotes(Node):
    """The footnotes cited by one 【あるべき姿…】 paragraph (paragraph = index into vision)."""

    paragraph: int = Field(ge=0)
    footnotes: list[int] = Field(min_length=1)
    offsets: list[int]


class Preamble(Node):
    vision: list[str] = Field(default_factory=list)
    vision_footnotes: list[VisionFootnotes] | None = None
    goals: list[str] = Field(default_factory=list)
    key_indicators: list[Indicator] = Field(default_factory=list)
    reference_indicators: list[Indicator] = Field(default_factory=list)
    intro: list[str] | None = None

    _omit_when_default = frozenset({"vision_footnotes", "intro"})

    @model_validator(mode="after")
    def _vision_footnotes_fit(self) -> "Preamble":
        seen: set[int] = set()
        for entry in self.vision_footnotes or []:
            if entry.paragraph >= len(self.vision) or entry.paragraph in seen:
                raise ValueError(f"vision_footnotes の paragraph {entry.paragraph} に当たる段落がありません（または重複）")
            seen.add(entry.paragraph)
            check_footnote_offsets(self.vision[entry.paragraph], entry.footnotes, entry.offsets)
        return self

    def vision_footnote_marks(self, paragraph: int) -> list[tuple[int, int]]:
        for entry in self.vision_footnotes or []:
            if entry.paragraph == paragraph:
                return footnote_marks(self.vision[paragraph], entry.footnotes, entry.offsets)
        return []


class Chapter(Node):
    no: str
    no_raw: str
    title: str
    preamble: Preamble = Field(default_factory=Preamble)
    sections: list[Section] = Field(default_factory=list)


class Abbreviation(Node):
    abbr: str
    names: list[str]
    parent: Literal["内閣官房", "内閣府"] | None = None
    abolished: bool = False


class Annex(Node):
    source: str
    year: int | None = None
    abbreviations: list[Abbreviation] = Field(default_factory=list)
    chapters: list[Chapter] = Field(default_factory=list)
    footnotes: dict[str, str] = Field(default_factory=dict)
    # Ids of bullets deleted in any merge so far: never handed out again (assign_missing_ids).
    retired_ids: list[str] | None = None

    _omit_when_default = frozenset({"year", "retired_ids"})

    # -- traversal -------------------------------------------------------------------------
    def rows(self) -> Iterator[tuple[Chapter, Section, Row]]:
        for chapter in self.chapters:
            for section in chapter.sections:
                for row in section.rows:
                    yield chapter, section, row

    def bullets(self) -> Iterator[tuple[Row, Column, Bullet]]:
        for _, _, row in self.rows():
            for column in COLUMNS:
                for bullet in row.bullets(column):
                    yield row, column, bullet

    def bullet_index(self) -> dict[str, tuple[Row, Column, Bullet]]:
        return {b.id: (r, c, b) for r, c, b in self.bullets() if b.id}

    def row_index(self) -> dict[str, Row]:
        return {row.id: row for _, _, row in self.rows()}

    def counts(self) -> dict[str, int]:
        status = sum(len(r.status) for _, _, r in self.rows())
        policy = sum(len(r.policy) for _, _, r in self.rows())
        relisted = sum(1 for _, _, b in self.bullets() if b.relisted) + sum(1 for _, _, r in self.rows() if r.measure_relisted)
        return {
            "chapters": len(self.chapters),
            "sections": sum(len(c.sections) for c in self.chapters),
            "rows": sum(1 for _ in self.rows()),
            "status": status,
            "policy": policy,
            "bullets": status + policy,
            "relisted": relisted,
            "footnotes": len(self.footnotes),
            "abbreviations": len(self.abbreviations),
        }

    # -- JSON ------------------------------------------------------------------------------
    def to_json(self) -> str:
        # the bytes json.dumps(model_dump(mode="json"), ensure_ascii=False, indent=1) gives, from pydantic's core
        return self.model_dump_json(indent=1) + "\n"

    def write_json(self, path: Path) -> None:
        """to_json() written to path piece by piece: the same bytes, without the whole text (and
        its UTF-8 copy) in memory at once — 120 MB of JSON at M."""
        with open(path, "w", encoding="utf-8", newline="") as out:
            out.writelines(_json_pieces(self, 0))
            out.write("\n")


_STREAMED = (Annex, Chapter, Section)  # written field by field; below them, each node whole


def bullet_id(row_id: str, column: Column, sequence: int) -> str:
    """Deterministic bullet id: row id, column letter, position at first import (3-①-01-P02)."""
    return f"{row_id}-{'S' if column == 'status' else 'P'}{sequence:02d}"


def assign_missing_ids(annex: Annex, retired: set[str] | frozenset[str] = frozenset()) -> int:
    """Give every bullet without an id the next free id of its row and column; return how many.

    Ids already present are kept: they are stable from one year's master to the next.
    ``retired`` holds ids of deleted bullets, which are never handed out again.
    """
    taken = {b.id for _, _, b in annex.bullets() if b.id} | set(retired)
    assigned = 0
    for _, _, row in annex.rows():
        for column in COLUMNS:
            sequence = 0
            for bullet in row.bullets(column):
                if bullet.id:
                    continue
                while True:
                    sequence += 1
                    candidate = bullet_id(row.id, column, sequence)
                    if candidate not in taken:
                        break
                bullet.id = candidate
                taken.add(candidate)
                assigned += 1
    return assigned


def assign_missing_positions(annex: Annex) -> None:
    """Where a master from before positions were recorded lacks them: number the sub-rows of
    every row (number_subrows), and place every footnote reference without an offset at the end
    of its text, where annex render printed it then."""

    def at_end(text: str, footnotes: list[int] | None, offsets: list[int] | None) -> list[int] | None:
        return offsets if offsets is not None or not footnotes else [len(text)] * len(footnotes)

    for chapter in annex.chapters:
        pre = chapter.preamble
        for indicator in (*pre.key_indicators, *pre.reference_indicators):
            indicator.footnote_offsets = at_end(indicator.text, indicator.footnotes, indicator.footnote_offsets)
    for _, _, row in annex.rows():
        number_subrows(row)
        row.measure_footnote_offsets = at_end(row.measure, row.measure_footnotes, row.measure_footnote_offsets)
        for bullet in (*row.status, *row.policy):
            bullet.footnote_offsets = at_end(bullet.text, bullet.footnotes, bullet.footnote_offsets)


def number_subrows(row: Row) -> None:
    """Give every bullet and 「－」 of ``row`` without a sub-row one, deterministically.

    The corpus numbers the published table's sub-rows; a master from before that (no bullet of
    the row numbered) is laid out as annex render did then: bullets under the same sub-heading
    side by side, in order. Otherwise a bullet without a number (added by a ministry) joins the
    sub-row of the bullet before it in its column, or after it, or opens a new one at the end.
    """
    everything = [*row.status, *row.policy, *(row.empty_cell_markers or [])]
    if all(x.subrow is not None for x in everything):
        return
    if not any(b.subrow is not None for b in (*row.status, *row.policy)):
        _legacy_subrows(row)
        return
    last = max((x.subrow for x in everything if x.subrow is not None), default=0)
    for column in COLUMNS:
        bullets = row.bullets(column)
        for i, bullet in enumerate(bullets):
            if bullet.subrow is None:
                before = next((b.subrow for b in reversed(bullets[:i]) if b.subrow is not None), None)
                after = next((b.subrow for b in bullets[i + 1 :] if b.subrow is not None), None)
                if before is None and after is None:
                    last += 1
                bullet.subrow = before or after or last
    for marker in row.empty_cell_markers or []:
        if marker.subrow is None:
            last += 1
            marker.subrow = last


def heading_path(bullet: Bullet) -> tuple[str, ...]:
    if bullet.heading_path:
        return tuple(bullet.heading_path)
    return (bullet.heading,) if bullet.heading else ()


def _legacy_subrows(row: Row) -> None:
    def groups(bullets: list[Bullet]) -> list[tuple[tuple[str, ...], list[Bullet]]]:
        out: list[tuple[tuple[str, ...], list[Bullet]]] = []
        for bullet in bullets:
            path = heading_path(bullet)
            if out and out[-1][0] == path:
                out[-1][1].append(bullet)
            else:
                out.append((path, [bullet]))
        return out

    status, policy = groups(row.status), groups(row.policy)
    matcher = difflib.SequenceMatcher(None, [g[0] for g in status], [g[0] for g in policy], autojunk=False)
    number = 0
    filled: dict[int, set[str]] = {}
    for _, i1, i2, j1, j2 in matcher.get_opcodes():
        for s_group, p_group in zip_longest(status[i1:i2], policy[j1:j2]):
            for s, p in zip_longest(s_group[1] if s_group else [], p_group[1] if p_group else []):
                number += 1
                filled[number] = set()
                for column, bullet in (("status", s), ("policy", p)):
                    if bullet is not None:
                        bullet.subrow = number
                        filled[number].add(column)
    markers = [m for m in row.empty_cell_markers or [] if m.subrow is None]
    if len({m.column for m in markers}) == 1:  # one column's 「－」 fill its empty cells from the top
        for k in sorted(filled):
            if markers and markers[0].column not in filled[k]:
                markers.pop(0).subrow = k
    for marker in markers:
        number += 1
        marker.subrow = number
