"""The live checks of a template: the rule catalogue's formulas (annex.model.rules.LiveCheck) made
into what 記入シート computes while the ministry types — the チェック column, the colour of the
offending cell (conditional formatting), the count of open problems above 記載内容, and a data
validation where a rule refuses the value outright. annex.distribute.template writes them.

Only Excel 2016 functions, no dynamic arrays (the checks run the same in LibreOffice Calc), no
macros. The server-side validator stays the authority: nothing here is read back.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from annex.model.contract import (
    ACTION_DELETE,
    ACTION_EDIT,
    ACTION_UNCHANGED,
    BULLET_CHARS,
    FIELD_POLICY,
    LIVE_MARK,
    QUOTED_FIELDS,
)
from annex.model.rules import LIVE_EXPRESSIONS, LIVE_WHEN, TEXT_LIMIT, LiveCheck, Rule, live_rules

# What each line was sent, kept on the hidden list sheet in the entry row's own row number, so
# that the formulas can tell what the ministry wrote from what it received (own_text, own_tags).
SENT_KEYS = ("field", "heading", "tags", "relisted", "relisted_of")
LIST_NAMES = ("actions", "fields", "tag_list", "ids", "kana", "superscripts")
ID_CHUNK = 30_000  # characters a cell of the id list holds (Excel's limit is 32,767)


def id_chunks(ids: list[str]) -> list[str]:
    """Every item id, each between ID_SEPARATOR, in as few cells as hold them: FIND in one long
    cell is exact and case-sensitive, as the validator's look-up is (MATCH would take * and ? as
    wildcards and ignore case), and a few cells open faster than one per id. Each chunk's pieces are
    collected and joined once (growing a list element by += copied it per id: quadratic)."""
    chunks: list[str] = []
    pieces: list[str] = [ID_SEPARATOR]
    size = len(ID_SEPARATOR)
    for item in ids:
        piece = item + ID_SEPARATOR
        if size + len(piece) > ID_CHUNK and len(pieces) > 1:
            chunks.append("".join(pieces))
            pieces, size = [ID_SEPARATOR], len(ID_SEPARATOR)
        pieces.append(piece)
        size += len(piece)
    if len(pieces) > 1 or not chunks:
        chunks.append("".join(pieces))
    return chunks


ID_SEPARATOR = "|"  # between the item ids of the id list


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


CONSTANTS = {
    "limit": str(TEXT_LIMIT),
    "edit": _quote(ACTION_EDIT),
    "unchanged": _quote(ACTION_UNCHANGED),
    "delete": _quote(ACTION_DELETE),
    "policy": _quote(FIELD_POLICY),
    "bullets": _quote(BULLET_CHARS),
    "sep": _quote(ID_SEPARATOR),
}


@dataclass(frozen=True)
class LiveLayout:
    """Where the formulas find things: 記入シート's column letters by key, the list ranges on the
    hidden sheet (absolute, with the sheet name), and the list sheet's columns of sent values."""

    letters: Mapping[str, str]
    lists: Mapping[str, str]
    sent: Mapping[str, str]  # sent key → "'リスト'!$K"
    secretariat: bool  # its quoted lines (あるべき姿, 具体的な取組) hold the Basic Plan's words, not its own
    partial: frozenset[str] = frozenset()  # the lists (LIST_NAMES) this template carries only in part

    def fields(self, row: int) -> dict[str, str]:
        """The formula fields for one sheet row (columns absolute, the row relative)."""
        cells = {key: f"${letter}{row}" for key, letter in self.letters.items()}
        cells.update({f"sent_{key}": f"{column}{row}" for key, column in self.sent.items()})
        cells.update(self.lists)
        cells.update(CONSTANTS)
        for name, expression in LIVE_EXPRESSIONS.items():
            cells[name] = expression.format(**cells)
        return cells

    def own(self, when: str, row: int) -> str:
        """own_text or own_tags on that row: the ministry wrote this text / these tags."""
        f = self.fields(row)
        own = LIVE_WHEN[when].format(**f)  # type: ignore[index]
        if when == "own_text" and self.secretariat:
            own = "AND(" + ",".join([own, *(f"TRIM({f['field']})<>{_quote(v)}" for v in QUOTED_FIELDS.values())]) + ")"
        return own

    def when(self, check: LiveCheck, row: int) -> str:
        """The validator's condition for the check's rule, on that row: line, own_text or own_tags."""
        line = LIVE_WHEN["line"].format(**self.fields(row))
        return line if check.when == "line" else f"AND({line},{self.own(check.when, row)})"

    def condition(self, check: LiveCheck, row: int) -> str:
        """TRUE where the row breaks the check's rule (for conditional formatting: the whole test)."""
        return f"AND({self.when(check, row)},{check.formula.format(**self.fields(row))})"

    def check_column(self, row: int) -> str:
        """The チェック cell: each broken rule's note on its own line, each starting with LIVE_MARK.
        Grouped by condition, so that a spare line left empty costs one test."""
        f = self.fields(row)
        groups: dict[str, list[str]] = {"line": [], "own_text": [], "own_tags": []}
        for _, check in checks(self.partial):
            note = _quote(LIVE_MARK + check.note.format(limit=TEXT_LIMIT)) + "&CHAR(10)"
            groups[check.when].append(f'IF({check.formula.format(**f)},{note},"")')
        parts = list(groups["line"])
        for when in ("own_text", "own_tags"):
            if groups[when]:
                parts.append(f'IF({self.own(when, row)},{"&".join(groups[when])},"")')
        return f'=IF({LIVE_WHEN["line"].format(**f)},{"&".join(parts)},"")'


def checks(partial: Collection[str] = frozenset()) -> list[tuple[Rule, LiveCheck]]:
    """Every live check of the catalogue with its rule, in catalogue order, as read in a template
    whose lists named in partial are partial (LiveCheck.reading)."""
    return [(rule, check.reading(partial)) for rule in live_rules() for check in rule.live]


def live_severity(rule: Rule, check: LiveCheck, severities: Mapping[str, str]) -> str:
    """How the template shows a broken check: the rule's severity as config sets it (the validator's),
    or the check's own where that is milder; "off" leaves the check out."""
    severity = severities.get(rule.code, rule.severity)
    return "warning" if severity == "error" and check.severity == "warning" else severity


def count_expression(letter: str, first: int, last: int) -> str:
    """How many problems the チェック column names between first and last (one LIVE_MARK each)."""
    cells = f"${letter}${first}:${letter}${last}"
    return f'SUMPRODUCT(LEN({cells})-LEN(SUBSTITUTE({cells},"{LIVE_MARK}","")))'


def count_formula(letter: str, first: int, last: int) -> str:
    return f'="未解決の指摘 "&{count_expression(letter, first, last)}&"件"'
