"""A ministry's submission as read and validated: the shapes validate hands to merge."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from annex.model.labels import COLUMN_BY_LABEL

Severity = Literal["error", "warning"]
Verdict = Literal["受理", "受理（警告あり）", "差戻し", "保留"]
# Verdicts about the machine, never about the file: a read worker that timed out, died or ran out of
# memory on a file within the documented bounds, or an unexpected error in annex's own checks.
# Such a submission is 保留 (held): never cached, never recorded as judged in the ledger, never
# sent to its ministry as 差戻し; it is validated again on the next run and named to the secretariat.
SYSTEM_RULES = frozenset({"F-READ-INTERRUPTED", "F-CHECK-FAILED"})


@dataclass(frozen=True)
class Location:
    file: str  # the name the ministry gave the file (the archive keeps the bytes by hash)
    sheet: str | None = None
    cell: str | None = None  # A1 notation
    item_id: str | None = None
    offset: int | None = None  # 0-based character position in the cell's text, for notation rules

    def __str__(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(self.sheet + (f"!{self.cell}" if self.cell else ""))
        if self.item_id:
            parts.append(f"項目ID {self.item_id}")
        if self.offset is not None:
            parts.append(f"{self.offset + 1}文字目")
        return " / ".join(parts)


@dataclass(frozen=True)
class Issue:
    """One problem found in a submission, located to the cell, in the rule catalogue's words."""

    rule: str  # stable code, e.g. "E-TAG-UNKNOWN"
    severity: Severity
    location: Location
    message: str  # Japanese, for the ministry
    suggestion: str | None = None


class RowCells(Mapping[str, str]):
    """A line's cells, column key → A1 address, worked out from its row and the letters of the
    sheet's columns (one dict, shared by every line of the sheet). A dict a line was ~1 KB: a GiB
    for the million lines of a nationwide survey, held until the merge."""

    __slots__ = ("letters", "row")

    def __init__(self, letters: Mapping[str, str], row: int) -> None:
        self.letters, self.row = letters, row

    def __getitem__(self, key: str) -> str:
        return f"{self.letters[key]}{self.row}"

    def __iter__(self) -> Iterator[str]:
        return iter(self.letters)

    def __len__(self) -> int:
        return len(self.letters)

    def __repr__(self) -> str:
        return repr(dict(self))


class RowValues(Mapping[str, str]):
    """A line's cells, column key → text verbatim, as a tuple beside the sheet's column keys (one
    dict, shared by every line of the sheet): a third of a dict's memory, a million times over."""

    __slots__ = ("positions", "values")

    def __init__(self, positions: Mapping[str, int], values: tuple[str, ...]) -> None:
        self.positions, self.values = positions, values

    def __getitem__(self, key: str) -> str:
        return self.values[self.positions[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self.positions)

    def __len__(self) -> int:
        return len(self.positions)

    def __repr__(self) -> str:
        return repr(dict(self))


@dataclass(slots=True)  # no __dict__ a line: a million of them are held until the merge
class SubmissionLine:
    """One line of 記入シート after reading (cell text verbatim) and parsing."""

    excel_row: int
    item_id: str | None
    row_id: str | None
    field: str  # 欄 as written: 実施状況・現状分析 / 今後の取組方針 / 目標 / 主要指標 / 参考指標
    heading: str | None
    text: str | None
    tags: list[str]
    relisted: bool
    relisted_of: str | None
    action: str  # 変更なし / 修正 / 新規 / 削除
    previous_text: str | None = None
    footnotes: list[int] | None = None  # the ［注N］ marks read out of text (text is then without them)
    footnote_offsets: list[int] | None = None
    cells: Mapping[str, str] = field(default_factory=dict)  # column key → A1 address (RowCells)
    raw: Mapping[str, str] = field(default_factory=dict)  # column key → the cell's text, verbatim (RowValues)

    @property
    def column(self) -> Literal["status", "policy"] | None:
        return COLUMN_BY_LABEL.get(self.field)  # type: ignore[return-value]


@dataclass
class Submission:
    """A read submission: who sent it, what it holds, what is wrong with it."""

    file: str
    sha256: str
    ministry: str | None  # from the workbook's metadata, never from the file name
    year: int | None
    template_version: str | None
    lines: list[SubmissionLine] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def held(self) -> bool:
        """Judged by no one yet: the machine failed (SYSTEM_RULES), not the file."""
        return any(i.rule in SYSTEM_RULES for i in self.issues)

    @property
    def verdict(self) -> Verdict:
        if self.held:
            return "保留"
        if self.errors:
            return "差戻し"
        return "受理（警告あり）" if self.warnings else "受理"

    @property
    def accepted(self) -> bool:
        return not self.errors and not self.held
