"""The annex as data: Annex → Chapter → Section → Row → Bullet.

The JSON shape is the corpus shape (see the corpus README) plus stable ids and, after a
merge, provenance. Keys that the corpus leaves out when they do not apply (a narrative row's
marker, a row without sub-headings) are left out here too, so that a master written back is
identical to the master read.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer

Column = Literal["status", "policy"]
COLUMNS: tuple[Column, ...] = ("status", "policy")

# User-facing names of the three table columns (the published header row).
MEASURE_LABEL = "基本計画における具体的な取組"
COLUMN_LABELS: dict[Column, str] = {"status": "実施状況・現状分析", "policy": "今後の取組方針"}
COLUMN_BY_LABEL: dict[str, Column] = {v: k for k, v in COLUMN_LABELS.items()}
RELISTED_MARK = "（再掲）"


class Node(BaseModel):
    """Base: strict keys; optional keys are omitted from JSON while they hold their default."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)
    _omit_when_default: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _omit_defaults(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        for key in self._omit_when_default:
            if key in data and data[key] == type(self).model_fields[key].default:
                del data[key]
        return data


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
    relisted_of: str | None = None  # id of the original bullet, once reconciled
    submitted_by: str | None = None  # the ministry that wrote a status bullet
    not_updated: bool = False  # 未更新: carried over because its owners did not submit
    provenance: Provenance | None = None

    _omit_when_default = frozenset(
        {"id", "heading_path", "footnotes", "relisted_of", "submitted_by", "not_updated", "provenance"}
    )

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


class Row(Node):
    id: str = Field(min_length=1)
    measure: str
    measure_tags: list[str] = Field(default_factory=list)
    measure_kind: Literal["measure", "narrative"] = "measure"
    measure_marker: str | None = None
    measure_relisted: bool = False
    status: list[Bullet] = Field(default_factory=list)
    policy: list[Bullet] = Field(default_factory=list)
    subheadings: list[Subheading] | None = None
    empty_cell_markers: list[EmptyCellMarker] | None = None

    _omit_when_default = frozenset({"measure_marker", "subheadings", "empty_cell_markers"})

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


class Preamble(Node):
    vision: list[str] = Field(default_factory=list)
    goals: list[str] = Field(default_factory=list)
    key_indicators: list[Indicator] = Field(default_factory=list)
    reference_indicators: list[Indicator] = Field(default_factory=list)
    intro: list[str] | None = None

    _omit_when_default = frozenset({"intro"})


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
        relisted = sum(1 for _, _, b in self.bullets() if b.relisted) + sum(
            1 for _, _, r in self.rows() if r.measure_relisted
        )
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
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, indent=1) + "\n"


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
