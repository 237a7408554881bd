"""changes.xlsx and reconciliation.xlsx as sheets: what a merge changed, per ministry, and every
再掲 decision and conflict, with its reason."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from annex.io.xlsx import Sheet
from annex.merge.merge import CHANGE_LABELS, OUTCOME_LABELS, MergeResult
from annex.merge.reconcile import KIND_LABELS
from annex.model.annex import COLUMN_LABELS, COLUMNS
from annex.model.config import Config
from annex.model.contract import PREAMBLE_FIELDS, QUOTED_FIELDS

FIELD_LABELS = {**COLUMN_LABELS, **PREAMBLE_FIELDS, **QUOTED_FIELDS}
NOT_APPLIED = ("not_merged", "conflict_lost", "drift_reverted")  # line outcomes that left the master as it was

# 提出状況 of a ministry, as the secretariat acts on it.
STATUS_MERGED = "受理（反映済み）"
STATUS_RETURNED = "差戻し（再提出待ち）"
STATUS_MISSING = "未提出"


@dataclass(frozen=True)
class SubmissionStatus:
    """What a ministry sent this year (from the ledger): 受理 / 差戻し, and its newest such file."""

    status: str  # 受理 / 差戻し
    file: str = ""


def _status_rows(
    ministries: list[str],
    merged_files: Mapping[str, str],
    submitted: Mapping[str, SubmissionStatus],
    carried_over: set[str],
    names: Mapping[str, str],
) -> list[tuple[str, ...]]:
    rows = []
    for m in ministries:
        if m in merged_files:
            status, file = STATUS_MERGED, merged_files[m]
        elif m in submitted:  # submitted, none accepted: the newest returned file
            status, file = STATUS_RETURNED, submitted[m].file
        else:
            status, file = STATUS_MISSING, "（提出なし）"
        kept = "前年度の記載のまま（未更新）" if m in carried_over else "提出内容を反映"
        rows.append((m, names.get(m, ""), status, file, kept))
    return rows


def change_sheets(
    result: MergeResult,
    config: Config,
    merged_files: Mapping[str, str],
    submitted: Mapping[str, SubmissionStatus] | None = None,
    expected: Iterable[str] = (),
) -> list[Sheet]:
    """``submitted``: every ministry that sent a validated file this year (from the ledger);
    ``expected``: every ministry that was sent a template, so that 未提出 ones are listed too."""
    submitted = submitted or {}
    key = config.tags.sort_key
    names = {m.abbr: "・".join(m.names) for m in config.ministries}
    per: dict[str, dict[str, int]] = {}  # counted as MergeResult.counts() counts: table bullets, then preamble
    for c in result.changes:
        kind = c.kind if c.column in COLUMNS else "preamble"
        per.setdefault(c.ministry, {k: 0 for k in (*CHANGE_LABELS, "preamble")})[kind] += 1
    lost: dict[str, int] = {}
    for o in result.outcomes:
        if o.outcome in NOT_APPLIED:
            lost[o.ministry] = lost.get(o.ministry, 0) + 1
    ministries = sorted(set(per) | set(merged_files) | set(result.carried_over) | set(submitted) | set(expected), key=key)
    status_rows = _status_rows(ministries, merged_files, submitted, set(result.carried_over), names)
    summary = [
        (
            m,
            status,
            file,
            *(per.get(m, {}).get(k, 0) for k in (*CHANGE_LABELS, "preamble")),
            lost.get(m, 0),
            len(result.conflicts_of(m)),
        )
        for (m, _, status, file, _) in status_rows
    ]
    counts = result.counts()
    summary.append(("合計", "", "", *(counts[k] for k in (*CHANGE_LABELS, "preamble")), sum(lost.values()), counts["conflicts"]))
    edits = [
        (
            c.ministry,
            CHANGE_LABELS[c.kind],
            c.item_id,
            c.row_id,
            FIELD_LABELS.get(c.column, c.column),
            c.old or "",
            c.new or "",
            c.source,
            c.note,
        )
        for c in result.changes
        if c.kind != "not_updated"
    ]
    carried = [
        (c.ministry, c.item_id, c.row_id, FIELD_LABELS.get(c.column, c.column), c.old or "", c.note)
        for c in result.changes
        if c.kind == "not_updated"
    ]
    lines = [
        (o.ministry, o.file, o.excel_row, o.action, o.item_id or "", OUTCOME_LABELS[o.outcome], o.reason)
        for o in result.outcomes
        if o.outcome in NOT_APPLIED
    ]
    wide = {"変更前": 42, "変更後": 42, "記載内容": 60, "理由": 44, "備考": 24, "出典": 28, "ファイル": 28}
    return [
        Sheet(
            "概要",
            (
                "府省",
                "提出状況",
                "ファイル",
                *CHANGE_LABELS.values(),
                "前文（目標・指標）の変更",
                "反映しなかった行",
                "競合",
            ),
            summary,
            widths={"ファイル": 30},
        ),
        Sheet("変更", ("府省", "種別", "項目ID", "行ID", "欄", "変更前", "変更後", "出典", "備考"), edits, widths=wide),
        Sheet("未更新", ("府省", "項目ID", "行ID", "欄", "記載内容", "理由"), carried, widths=wide),
        Sheet("反映しなかった行", ("府省", "ファイル", "行", "対応", "項目ID", "結果", "理由"), lines, widths=wide),
        Sheet("提出状況", ("府省", "府省名", "提出状況", "ファイル", "記載の扱い"), status_rows, widths={"ファイル": 40}),
    ]


def reconciliation_sheets(result: MergeResult) -> list[Sheet]:
    index = result.annex.bullet_index()

    def text_of(item_id: str | None) -> str:
        found = index.get(item_id or "")
        return found[2].rendered() if found else ""

    decisions = [
        (
            KIND_LABELS[d.kind],
            d.item_id,
            "取組" if d.measure else "記載",
            d.original_id or "",
            "、".join(d.related_ids),
            "" if d.score is None else d.score,
            d.before or "",
            d.after or text_of(d.item_id),
            text_of(d.original_id),
            d.reason,
        )
        for d in result.decisions
    ]
    conflicts = []
    for c in result.conflicts:
        for v in c.versions:
            conflicts.append(
                (
                    c.item_id,
                    c.row_id,
                    "、".join(c.owners),
                    v.ministry,
                    v.action,
                    v.rendered or "（削除）",
                    v.source,
                    "採用" if v.ministry == c.winner else "不採用",
                    c.reason,
                )
            )
    wide = {"理由": 40, "変更前": 36, "結果": 36, "元の記載": 36, "版": 50, "出典": 28, "判定": 22}
    return [
        Sheet(
            "再掲",
            ("判定", "項目ID", "対象", "元の項目ID", "関連する項目ID", "類似度", "変更前", "結果", "元の記載", "理由"),
            decisions,
            widths=wide,
        ),
        Sheet(
            "競合",
            ("項目ID", "行ID", "担当府省", "府省", "対応", "版", "出典", "採否", "理由"),
            conflicts,
            widths=wide,
        ),
    ]


# -- the whole step ------------------------------------------------------------------------------
