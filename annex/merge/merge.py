"""Merge: master(Y-1) + the newest accepted submission of each ministry → master(Y).

``merge`` is pure. It returns the new master and a log in which every bullet of master(Y-1)
and every submitted line can be found (DESIGN.md §2 "nothing lost"):

- ``changes``     year on year, per ministry: added, modified (old → new), deleted, and the
                  bullets carried over 未更新 because none of their owners submitted;
- ``conflicts``   a shared bullet changed differently by two of its owners: the version of the
                  owner listed first in the bullet's tags wins; every version is kept here;
- ``not_merged``  submitted lines that could not be applied, each with its reason;
- ``outcomes``    one entry per submitted line: unchanged / applied / conflict_lost /
                  drift_reverted / not_merged;
- ``decisions``   the 再掲 reconciliation (annex.merge.reconcile) before and after the merge.

Rules (DESIGN.md §1): a line is applied only if the submitting ministry owns the bullet
(annex.model.ownership, computed on master(Y-1)); 新規 bullets are placed after the same ministry's
last bullet in that row and column (under the same 見出し where one is given), ties broken by
the ministry table's order and then by the line's position in its workbook — never by the
order files arrived in; 新規 bullets then get ids, deleted ids are retired for good
(``Annex.retired_ids``); bullets none of whose owners submitted are kept and marked 未更新.
Preamble lines (目標 / 主要指標 / 参考指標) are taken only from the secretariat.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from annex.merge.reconcile import Decision, bullet_versions, reconcile
from annex.model.annex import (
    COLUMNS,
    Annex,
    Bullet,
    Column,
    Indicator,
    Provenance,
    Row,
    assign_missing_ids,
    assign_missing_positions,
)
from annex.model.config import Config
from annex.model.contract import (
    ACTION_DELETE,
    ACTION_EDIT,
    ACTION_NEW,
    ACTION_UNCHANGED,
    PREAMBLE_FIELDS,
    QUOTED_FIELDS,
    SHEET_ENTRY,
    heading_text,
    marked_text,
    parse_heading,
    preamble_item_id,
    preamble_items,
    preamble_row_id,
    quoted_items,
)
from annex.model.issues import Submission, SubmissionLine
from annex.model.ownership import Ownership, bullet_owners

ChangeKind = Literal["added", "modified", "deleted", "not_updated"]
OutcomeKind = Literal["unchanged", "applied", "conflict_lost", "drift_reverted", "not_merged"]
CHANGE_LABELS: dict[str, str] = {"added": "新規", "modified": "修正", "deleted": "削除", "not_updated": "未更新（前年度のまま）"}
OUTCOME_LABELS: dict[str, str] = {
    "unchanged": "変更なし",
    "applied": "反映",
    "conflict_lost": "競合により不採用",
    "drift_reverted": "再掲元に戻した",
    "not_merged": "反映せず",
}
PREAMBLE_KIND_BY_LABEL = {label: kind for kind, label in PREAMBLE_FIELDS.items()}
QUOTED_KIND_BY_LABEL = {label: kind for kind, label in QUOTED_FIELDS.items()}


@dataclass(frozen=True)
class Change:
    ministry: str
    kind: ChangeKind
    item_id: str
    row_id: str
    column: str  # status / policy, the preamble kind (goals / key_indicators / reference_indicators) or the quoted kind (vision / measure)
    old: str | None = None  # the bullet as printed (・text（再掲）【tags】), before
    new: str | None = None  # and after
    source: str = ""  # file!sheet!cell of the submitted line
    note: str = ""


@dataclass(frozen=True)
class Version:
    ministry: str
    action: str  # 修正 / 削除
    rendered: str | None  # the bullet as this ministry submitted it (None for 削除)
    source: str


@dataclass(frozen=True)
class Conflict:
    item_id: str
    row_id: str
    owners: tuple[str, ...]  # in the order of the bullet's tags
    versions: tuple[Version, ...]
    winner: str
    reason: str

    @property
    def ministries(self) -> tuple[str, ...]:
        return tuple(v.ministry for v in self.versions)


@dataclass(frozen=True)
class LineOutcome:
    ministry: str
    file: str
    excel_row: int
    action: str
    item_id: str | None  # the bullet the line is about (for 新規: the id it was given)
    outcome: OutcomeKind
    reason: str = ""


@dataclass
class MergeResult:
    annex: Annex
    changes: list[Change] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    carried_over: list[str] = field(default_factory=list)  # ministries with no accepted submission
    outcomes: list[LineOutcome] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    previous_bullets: int = 0
    ownership: Ownership | None = None  # of master(Y-1), computed once: who may change what, and who was expected

    @property
    def not_merged(self) -> list[LineOutcome]:
        return [o for o in self.outcomes if o.outcome == "not_merged"]

    def conflicts_of(self, ministry: str) -> list[Conflict]:
        """The conflicts a ministry's feedback must name: those it took part in."""
        return [c for c in self.conflicts if ministry in c.ministries]

    def counts(self) -> dict[str, int]:
        """Bullets added / modified / deleted by ministries; carried = the rest of master(Y-1)
        (unchanged, 未更新, or changed only by 再掲 reconciliation); not_updated ⊂ carried."""
        out = {kind: 0 for kind in CHANGE_LABELS}
        for change in self.changes:
            if change.column in COLUMNS:
                out[change.kind] += 1
        out["carried"] = self.previous_bullets - out["modified"] - out["deleted"]
        out["preamble"] = sum(1 for c in self.changes if c.column not in COLUMNS)
        out["conflicts"] = len(self.conflicts)
        out["not_merged"] = len(self.not_merged)
        return out


# -- helpers -----------------------------------------------------------------------------------


def _source(sub: Submission, line: SubmissionLine) -> str:
    cell = line.cells.get("text") or f"行{line.excel_row}"
    return f"{sub.file}!{SHEET_ENTRY}!{cell}"


def _provenance(ministry: str, sub: Submission, line: SubmissionLine) -> Provenance:
    return Provenance(file=sub.file, sheet=SHEET_ENTRY, cell=line.cells.get("text"), sha256=sub.sha256, ministry=ministry)


def _text(line: SubmissionLine) -> str | None:
    return line.text if line.text and line.text.strip() else None


@dataclass(frozen=True)
class _Content:
    """What a line says about a bullet: the parts a ministry may change."""

    text: str
    tags: tuple[str, ...]
    heading: str | None
    heading_path: tuple[str, ...] | None
    relisted: bool
    relisted_of: str | None
    column: Column
    marks: tuple[tuple[int, int], ...] = ()  # (footnote, offset in text): where each reference stands

    @classmethod
    def of_bullet(cls, bullet: Bullet, column: Column) -> "_Content":
        return cls(
            bullet.text,
            tuple(bullet.tags),
            bullet.heading,
            tuple(bullet.heading_path) if bullet.heading_path else None,
            bullet.relisted,
            bullet.relisted_of,
            column,
            tuple(bullet.footnote_marks()),
        )

    @classmethod
    def of_line(cls, line: SubmissionLine, old: "_Content", spelled) -> "_Content":
        heading, path = parse_heading(line.heading)
        if line.heading is not None and line.heading == heading_text_of(old):
            heading, path = old.heading, old.heading_path  # unchanged 見出し: keep the stored path
        relisted_of = (line.relisted_of or old.relisted_of) if line.relisted else None
        text = _text(line)
        # the same tags in the table's spelling keep the stored ones (the published NISC stays NISC)
        same_tags = spelled(list(line.tags)) == spelled(list(old.tags))
        return cls(
            text or old.text,
            old.tags if same_tags else tuple(spelled(list(line.tags))),
            heading,
            tuple(path) if path else None,
            line.relisted,
            relisted_of,
            line.column or old.column,
            _marks(line) if text else old.marks,
        )

    def rendered(self) -> str:
        return Bullet(text=self.text, tags=list(self.tags), relisted=self.relisted).rendered()


def _marks(line: SubmissionLine) -> tuple[tuple[int, int], ...]:
    """The ［注N］ marks validation read out of the line's text, as (number, offset)."""
    return tuple(zip(line.footnotes or [], line.footnote_offsets or []))


def _set_marks(target, marks: tuple[tuple[int, int], ...]) -> None:
    target.footnotes = [n for n, _ in marks] or None
    target.footnote_offsets = [o for _, o in marks] or None


def _indicator(text: str, marks: tuple[tuple[int, int], ...]) -> Indicator:
    """An indicator always lists its footnotes (possibly none); offsets only where it has some."""
    return Indicator(text=text, footnotes=[n for n, _ in marks], footnote_offsets=[o for _, o in marks] or None)


def heading_text_of(content: _Content) -> str:
    return heading_text(content.heading, list(content.heading_path) if content.heading_path else None)


@dataclass
class _Intent:
    ministry: str
    sub: Submission
    line: SubmissionLine
    action: str  # 修正 / 削除
    content: _Content | None  # None for 削除
    note: str = ""

    def key(self) -> tuple:
        return (self.action, self.content)


# -- the merge ---------------------------------------------------------------------------------


def merge(
    previous: Annex,
    submissions: Mapping[str, Submission],
    config: Config,
    *,
    year: int | None = None,
    own_previous: bool = False,
) -> MergeResult:
    """master(Y-1) + {ministry abbr: newest accepted submission} → master(Y) and its log.

    ``own_previous``: the caller hands ``previous`` over (it read it for this merge alone), and
    master(Y) is made in it instead of in a copy: one master fewer in memory (~400 MB at M)."""
    tags, secretariat = config.tags, config.secretariat.abbr
    threshold = config.settings.reconcile.near_match_threshold
    ministry_key = tags.sort_key
    ministries = sorted(submissions, key=ministry_key)

    # Owners as in master(Y-1) as given, before anything changes: the templates were planned and
    # validated on it.
    ownership = Ownership.of(previous, tags, secretariat)
    # Links found on last year's text, in a copy of master(Y-1) (or master(Y-1) itself, handed
    # over). Measures are linked once, at step 7: _combine keeps only the bullets' links of this pass.
    linked = reconcile(previous, threshold=threshold, measures=False, in_place=own_previous)
    work = linked.annex
    before = bullet_versions(work)  # what each bullet said before any line is applied: edited original or drift (step 7)
    work.year = year if year is not None else (previous.year + 1 if previous.year is not None else None)
    retired = list(previous.retired_ids or [])

    owners = ownership.bullets
    located: dict[str, tuple[Row, Column, Bullet]] = {}
    for r, c, b in work.bullets():
        b.not_updated = False
        located[b.id] = (r, c, b)  # type: ignore[index]
    position = {item_id: i for i, item_id in enumerate(located)}
    rows = work.row_index()
    result = MergeResult(annex=work, previous_bullets=len(owners), ownership=ownership)
    outcomes: dict[tuple[str, int], LineOutcome] = {}

    def outcome(
        ministry: str, sub: Submission, line: SubmissionLine, kind: OutcomeKind, item_id: str | None, reason: str = ""
    ) -> None:
        outcomes[(ministry, line.excel_row)] = LineOutcome(ministry, sub.file, line.excel_row, line.action, item_id, kind, reason)

    intents: dict[str, list[_Intent]] = defaultdict(list)
    new_lines: list[tuple[str, Submission, SubmissionLine]] = []
    preamble_lines: list[tuple[str, Submission, SubmissionLine]] = []
    quoted_lines: list[tuple[str, Submission, SubmissionLine]] = []

    # -- 1. read every line into an intent, or a reason it cannot be applied -------------------
    for ministry in ministries:
        sub = submissions[ministry]
        seen: set[str] = set()
        for line in sub.lines:
            if line.field in PREAMBLE_KIND_BY_LABEL or line.field in QUOTED_KIND_BY_LABEL:
                if ministry != secretariat:
                    outcome(
                        ministry,
                        sub,
                        line,
                        "not_merged",
                        line.item_id,
                        f"欄「{line.field}」は事務局（{secretariat}）のみが記入できます。",
                    )
                elif line.field in QUOTED_KIND_BY_LABEL:
                    quoted_lines.append((ministry, sub, line))
                else:
                    preamble_lines.append((ministry, sub, line))
                continue
            if line.column is None:
                outcome(ministry, sub, line, "not_merged", line.item_id, f"欄「{line.field}」は選択肢にありません。")
                continue
            if line.action == ACTION_NEW:
                new_lines.append((ministry, sub, line))
                continue
            if line.action not in (ACTION_UNCHANGED, ACTION_EDIT, ACTION_DELETE):
                outcome(ministry, sub, line, "not_merged", line.item_id, f"対応「{line.action}」は選択肢にありません。")
                continue
            if not line.item_id or line.item_id not in located:
                outcome(
                    ministry,
                    sub,
                    line,
                    "not_merged",
                    line.item_id,
                    f"項目ID「{line.item_id or ''}」の記載は前年度のマスターにありません。",
                )
                continue
            if line.item_id in seen:
                outcome(
                    ministry,
                    sub,
                    line,
                    "not_merged",
                    line.item_id,
                    f"項目ID「{line.item_id}」が同じ提出物に2回あります（2回目は反映しません）。",
                )
                continue
            seen.add(line.item_id)
            r, c, b = located[line.item_id]
            old = _Content.of_bullet(b, c)
            action, note = line.action, ""
            content = _Content.of_line(line, old, tags.spelled) if action != ACTION_DELETE else None
            if action == ACTION_UNCHANGED:
                if content is not None and _text(line) and content != old:
                    action, note = ACTION_EDIT, "対応は「変更なし」でしたが内容が変わっているため、修正として反映しました。"
                else:
                    outcome(ministry, sub, line, "unchanged", line.item_id)
                    continue
            if action == ACTION_EDIT and content == old:
                outcome(ministry, sub, line, "unchanged", line.item_id, "対応は「修正」でしたが内容は前年度と同じです。")
                continue
            if ministry not in owners[line.item_id]:
                outcome(
                    ministry,
                    sub,
                    line,
                    "not_merged",
                    line.item_id,
                    f"この記載の担当府省は {'、'.join(owners[line.item_id])} で、{ministry} は{action}できません。",
                )
                continue
            intents[line.item_id].append(_Intent(ministry, sub, line, action, content, note))

    # -- 2. one decision per bullet: agreed, single, or a conflict (first-listed owner wins) ----
    deleted: set[str] = set()
    moved: dict[str, Column] = {}
    for item_id in sorted(intents, key=position.__getitem__):
        acts = sorted(intents[item_id], key=lambda a: ministry_key(a.ministry))
        r, c, b = located[item_id]
        rank = {m: i for i, m in enumerate(owners[item_id])}
        winner = min(acts, key=lambda a: (rank.get(a.ministry, len(rank)), ministry_key(a.ministry)))
        if len({a.key() for a in acts}) > 1:
            result.conflicts.append(
                Conflict(
                    item_id,
                    r.id,
                    tuple(owners[item_id]),
                    tuple(
                        Version(a.ministry, a.action, a.content.rendered() if a.content else None, _source(a.sub, a.line))
                        for a in acts
                    ),
                    winner.ministry,
                    f"共管の記載を {'・'.join(a.ministry for a in acts)} が異なる内容で{'・'.join(dict.fromkeys(a.action for a in acts))}しました。"
                    f"担当府省の並びで先の {winner.ministry} の版を採用しました。",
                )
            )
        agreeing = [a for a in acts if a.key() == winner.key()]
        for a in acts:
            if a.key() == winner.key():
                outcome(a.ministry, a.sub, a.line, "applied", item_id, a.note)
            else:
                outcome(
                    a.ministry,
                    a.sub,
                    a.line,
                    "conflict_lost",
                    item_id,
                    f"共管の記載の競合: {winner.ministry} の版を採用しました（競合の記録を参照）。",
                )
        old_rendered = b.rendered()
        source = _source(winner.sub, winner.line)
        who = "・".join(a.ministry for a in agreeing)
        if winner.action == ACTION_DELETE:
            deleted.add(item_id)
            result.changes.append(Change(who, "deleted", item_id, r.id, c, old_rendered, None, source, winner.note))
            continue
        content = winner.content
        assert content is not None
        _set_marks(b, content.marks)
        b.text, b.tags, b.relisted, b.relisted_of = content.text, list(content.tags), content.relisted, content.relisted_of
        b.heading, b.heading_path = content.heading, list(content.heading_path) if content.heading_path else None
        b.provenance = _provenance(winner.ministry, winner.sub, winner.line)
        # an edited status bullet keeps its owners (those beside it): only a new one records its ministry
        if content.column != c:
            moved[item_id] = content.column
        result.changes.append(
            Change(who, "modified", item_id, r.id, content.column, old_rendered, b.rendered(), source, winner.note)
        )

    # -- 3. new bullets ---------------------------------------------------------------------------
    placed: dict[tuple[str, Column], list[tuple[str | None, tuple, Bullet]]] = defaultdict(list)
    added: list[tuple[str, Submission, SubmissionLine, Bullet]] = []
    for ministry, sub, line in new_lines:
        row = rows.get(line.row_id or "")
        if row is None:
            outcome(ministry, sub, line, "not_merged", None, f"行ID「{line.row_id or ''}」の取組は別添にありません。")
            continue
        text = _text(line)
        origin = located.get(line.relisted_of or "")
        if text is None and line.relisted and origin is not None:
            text = origin[2].text  # a new re-listing may name its original and leave the text to it
        if text is None:
            outcome(ministry, sub, line, "not_merged", None, "新規の行ですが記載内容が空欄です。")
            continue
        heading, path = parse_heading(line.heading)
        new = Bullet(
            text=text,
            tags=tags.spelled(list(line.tags)),
            relisted=line.relisted,
            relisted_of=line.relisted_of if line.relisted else None,
            heading=heading,
            heading_path=path,
            provenance=_provenance(ministry, sub, line),
        )
        _set_marks(new, _marks(line))
        column: Column = line.column  # type: ignore[assignment]
        if column == "status":
            new.submitted_by = ministry
        if ministry not in bullet_owners(row, column, new, tags, secretariat):
            outcome(
                ministry,
                sub,
                line,
                "not_merged",
                None,
                f"担当府省（{'、'.join(line.tags) or '空欄'}）に {ministry} が含まれていないため、{ministry} の新規としては反映できません。",
            )
            continue
        placed[(row.id, column)].append((ministry, (ministry_key(ministry), line.excel_row), new))
        added.append((ministry, sub, line, new))

    # -- 4. rebuild each column: deletions out, moves and new bullets in, deterministically ------
    for item_id, column in moved.items():
        r, _, b = located[item_id]
        placed[(r.id, column)].append((None, ((-1, ""), position[item_id]), b))  # moved: placed by ownership below
    for _, _, row in work.rows():
        for column in COLUMNS:
            kept = [b for b in row.bullets(column) if b.id not in deleted and b.id not in moved]
            extra = placed.get((row.id, column), [])
            setattr(row, column, _place(row, column, kept, extra, ownership))
    for item_id in deleted:
        retired.append(item_id)
    work.retired_ids = sorted(set(retired)) or None
    assign_missing_ids(work, set(retired))
    assign_missing_positions(work)  # new bullets join the sub-row of the bullet they follow
    for ministry, sub, line, new in added:
        r = rows[line.row_id]  # type: ignore[index]
        outcome(ministry, sub, line, "applied", new.id)
        result.changes.append(
            Change(ministry, "added", new.id, r.id, line.column or "", None, new.rendered(), _source(sub, line))
        )  # type: ignore[arg-type]

    # -- 5. preamble (secretariat only) -----------------------------------------------------------
    _merge_preamble(work, preamble_lines, result, outcome)
    _merge_quoted(work, quoted_lines, result, outcome)

    # -- 6. 未更新: bullets none of whose owners submitted ----------------------------------------
    submitted = set(submissions)
    result.carried_over = sorted(ownership.ministries() - submitted, key=ministry_key)
    for r, c, b in work.bullets():
        if b.id in owners and b.id not in deleted and not submitted & set(owners[b.id]):
            b.not_updated = True
            result.changes.append(
                Change(
                    owners[b.id][0],
                    "not_updated",
                    b.id,
                    r.id,
                    c,
                    b.rendered(),
                    b.rendered(),
                    "",
                    f"担当府省（{'、'.join(owners[b.id])}）から提出がないため前年度の記載のまま（未更新）",
                )
            )

    # -- 7. 再掲: the original is the truth ------------------------------------------------------
    final = reconcile(work, before=before, threshold=threshold, in_place=True)  # work is this merge's own copy
    result.annex = final.annex
    result.decisions = _combine(linked.decisions, final.decisions)
    reverted = {d.item_id: d for d in final.decisions if d.kind == "drift_reverted"}
    for key, o in list(outcomes.items()):
        if o.outcome == "applied" and o.item_id in reverted:
            outcomes[key] = LineOutcome(
                o.ministry, o.file, o.excel_row, o.action, o.item_id, "drift_reverted", reverted[o.item_id].reason
            )
    undone = {o.item_id for o in outcomes.values() if o.outcome == "drift_reverted"}
    final_index = final.annex.bullet_index()
    result.changes = [
        ch for ch in result.changes if not (ch.item_id in undone and ch.kind == "modified" and _unchanged(ch, final_index))
    ]
    result.changes.sort(key=lambda ch: (ministry_key(ch.ministry), list(CHANGE_LABELS).index(ch.kind), ch.item_id))
    result.outcomes = sorted(outcomes.values(), key=lambda o: (ministry_key(o.ministry), o.excel_row))
    return result


def _unchanged(change: Change, index: dict) -> bool:
    found = index.get(change.item_id)
    return found is not None and found[2].rendered() == change.old


def _place(row: Row, column: Column, kept: list[Bullet], extra: list, ownership: Ownership) -> list[Bullet]:
    """kept bullets in their order; each extra bullet after its ministry's last bullet (same 見出し
    first). A ministry's bullets are those it owns in master(Y-1), as its template showed them."""
    if not extra:
        return kept
    after: dict[int, list[tuple[tuple, Bullet]]] = defaultdict(list)  # index in kept (-1: at the end)
    for ministry, sort_key, bullet in extra:
        if ministry is None:  # a bullet moved here from the other column: its first owner's place
            ministry = ownership.of_bullet(row, column, bullet)[0]
        same_heading = [i for i, b in enumerate(kept) if bullet.heading and b.heading == bullet.heading]
        pool = same_heading or range(len(kept))
        own = [i for i in pool if ministry in ownership.of_bullet(row, column, kept[i])]
        anchor = own[-1] if own else (same_heading[-1] if same_heading else -1)
        after[anchor].append((sort_key, bullet))
    out: list[Bullet] = []
    for i, b in enumerate(kept):
        out.append(b)
        out.extend(x for _, x in sorted(after.get(i, []), key=lambda t: t[0]))
    out.extend(x for _, x in sorted(after.get(-1, []), key=lambda t: t[0]))
    return out


def _combine(before: list[Decision], after: list[Decision]) -> list[Decision]:
    """One log: how each re-listing was first linked (on last year's text), then what the merge did."""
    first = {d.item_id: d for d in before if d.kind in ("exact_text", "chain_resolved") and not d.measure}
    out = [d for d in before if d.kind == "drift_reverted"]  # last year's master itself had drifted
    for d in after:
        origin = first.get(d.item_id)
        out.append(origin if d.kind == "exact_id" and origin is not None and origin.original_id == d.original_id else d)
    return out


def _merge_quoted(work: Annex, lines, result: MergeResult, outcome) -> None:
    """Apply the footnote marks of the secretariat's quoted lines (あるべき姿, measures). Their words
    are the Basic Plan's: a line whose words differ was refused by validation, and is not merged."""
    items = quoted_items(work)
    for ministry, sub, line in lines:
        item = items.get(line.item_id or "")
        kind = QUOTED_KIND_BY_LABEL[line.field]
        if item is None or item.kind != kind:
            outcome(ministry, sub, line, "not_merged", line.item_id, f"項目ID「{line.item_id or ''}」はマスターにありません。")
            continue
        if line.action not in (ACTION_EDIT, ACTION_UNCHANGED) or (line.text or "") != item.text:
            reason = f"欄「{line.field}」は基本計画からの引用のため、文言の変更や行の追加・削除はできません。"
            outcome(ministry, sub, line, "not_merged", line.item_id, reason)
            continue
        marks = _marks(line)
        if marks == item.marks:
            outcome(ministry, sub, line, "unchanged", line.item_id)
            continue
        item.place_marks(marks)
        outcome(ministry, sub, line, "applied", line.item_id)
        old, new = marked_text(item.text, item.marks), marked_text(item.text, marks)
        result.changes.append(Change(ministry, "modified", line.item_id, item.row_id, kind, old, new, _source(sub, line)))  # type: ignore[arg-type]


def _merge_preamble(work: Annex, lines, result: MergeResult, outcome) -> None:
    """Apply the secretariat's 目標 / 主要指標 / 参考指標 lines to the chapters' preambles."""
    chapters = {preamble_row_id(ch): ch for ch in work.chapters}
    items = preamble_items(work)  # id → (chapter, kind, index, text, footnotes)
    edits: dict[str, str] = {}  # preamble item id → new text
    removed: set[str] = set()
    appended: dict[tuple[str, str], list] = defaultdict(list)  # (chapter row id, kind) → new lines
    for ministry, sub, line in lines:
        kind = PREAMBLE_KIND_BY_LABEL[line.field]
        text = _text(line)
        source = _source(sub, line)
        if line.action == ACTION_NEW:
            chapter = chapters.get(line.row_id or "")
            if chapter is None or text is None:
                outcome(ministry, sub, line, "not_merged", None, "前文の新規の行に章（行ID）または記載内容がありません。")
                continue
            appended[(line.row_id, kind)].append((line.excel_row, text, ministry, sub, line))
            continue
        found = items.get(line.item_id or "")
        if found is None or found[1] != kind:
            outcome(
                ministry, sub, line, "not_merged", line.item_id, f"前文の項目ID「{line.item_id or ''}」はマスターにありません。"
            )
            continue
        ch, _, index, old, _ = found
        entry = getattr(ch.preamble, kind)[index - 1]
        old_marks = () if isinstance(entry, str) else tuple(entry.footnote_marks())
        if line.action == ACTION_DELETE:
            removed.add(line.item_id)
            outcome(ministry, sub, line, "applied", line.item_id)
            result.changes.append(Change(ministry, "deleted", line.item_id, preamble_row_id(ch), kind, old, None, source))  # type: ignore[arg-type]
        elif text is not None and (text, _marks(line)) != (old, old_marks) and line.action in (ACTION_EDIT, ACTION_UNCHANGED):
            edits[line.item_id] = (text, _marks(line))
            outcome(ministry, sub, line, "applied", line.item_id)
            result.changes.append(Change(ministry, "modified", line.item_id, preamble_row_id(ch), kind, old, text, source))  # type: ignore[arg-type]
        else:
            outcome(ministry, sub, line, "unchanged", line.item_id)
    for ch in work.chapters:
        for kind in PREAMBLE_FIELDS:
            entries = []
            for i, entry in enumerate(getattr(ch.preamble, kind), start=1):
                item_id = preamble_item_id(ch, kind, i)
                if item_id in removed:
                    continue
                if item_id in edits:
                    text, marks = edits[item_id]
                    if isinstance(entry, str):
                        entry = text
                    else:
                        entry = _indicator(text, marks)
                entries.append(entry)
            for _excel_row, text, ministry, sub, line in sorted(
                appended.get((preamble_row_id(ch), kind), []), key=lambda t: t[0]
            ):
                if kind == "goals":
                    entries.append(text)
                else:
                    entries.append(_indicator(text, _marks(line)))
                new_id = preamble_item_id(ch, kind, len(entries))
                outcome(ministry, sub, line, "applied", new_id)
                result.changes.append(
                    Change(ministry, "added", new_id, preamble_row_id(ch), kind, None, text, _source(sub, line))
                )
            setattr(ch.preamble, kind, entries)
