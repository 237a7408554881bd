"""changes.xlsx and reconciliation.xlsx as sheets: what a merge changed, per ministry, and every
再掲 decision and conflict, with its reason."""

from __future__ import annotations

from collections.abc import Mapping

from annex.io.xlsx import Sheet
from annex.merge.merge import CHANGE_LABELS, OUTCOME_LABELS, MergeResult
from annex.merge.reconcile import KIND_LABELS
from annex.model.annex import COLUMN_LABELS, COLUMNS
from annex.model.config import Config
from annex.model.contract import PREAMBLE_FIELDS, QUOTED_FIELDS

FIELD_LABELS = {**COLUMN_LABELS, **PREAMBLE_FIELDS, **QUOTED_FIELDS}


def change_sheets(result: MergeResult, config: Config, merged_files: Mapping[str, str]) -> list[Sheet]:
    key = config.tags.sort_key
    per: dict[str, dict[str, int]] = {}  # counted as MergeResult.counts() counts: table bullets, then preamble
    for c in result.changes:
        kind = c.kind if c.column in COLUMNS else "preamble"
        per.setdefault(c.ministry, {k: 0 for k in (*CHANGE_LABELS, "preamble")})[kind] += 1
    lost: dict[str, int] = {}
    for o in result.outcomes:
        if o.outcome in ("not_merged", "conflict_lost", "drift_reverted"):
            lost[o.ministry] = lost.get(o.ministry, 0) + 1
    ministries = sorted(set(per) | set(merged_files) | set(result.carried_over), key=key)
    summary = [
        (
            m,
            merged_files.get(m, "（提出なし・未受理）"),
            *(per.get(m, {}).get(k, 0) for k in (*CHANGE_LABELS, "preamble")),
            lost.get(m, 0),
            len(result.conflicts_of(m)),
        )
        for m in ministries
    ]
    counts = result.counts()
    summary.append(("合計", "", *(counts[k] for k in (*CHANGE_LABELS, "preamble")), sum(lost.values()), counts["conflicts"]))
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
        if o.outcome != "unchanged"
    ]
    files = [
        (m, merged_files.get(m, ""), "未更新（前年度の記載のまま）" if m in result.carried_over else "反映") for m in ministries
    ]
    wide = {"変更前": 60, "変更後": 60, "記載内容": 70, "理由": 60, "備考": 40, "出典": 40, "ファイル": 40}
    return [
        Sheet(
            "概要",
            ("府省", "反映したファイル", *CHANGE_LABELS.values(), "前文（目標・指標）の変更", "反映しなかった行", "競合"),
            summary,
            widths=wide,
        ),
        Sheet(
            "変更",
            ("府省", "種別", "項目ID", "行ID", "欄", "変更前", "変更後", "出典", "備考"),
            edits,
            widths=wide,
            wrap=("変更前", "変更後"),
        ),
        Sheet("未更新", ("府省", "項目ID", "行ID", "欄", "記載内容", "理由"), carried, widths=wide, wrap=("記載内容",)),
        Sheet(
            "反映しなかった行", ("府省", "ファイル", "行", "対応", "項目ID", "結果", "理由"), lines, widths=wide, wrap=("理由",)
        ),
        Sheet("提出状況", ("府省", "ファイル", "扱い"), files, widths=wide),
    ]


def reconciliation_sheets(result: MergeResult) -> list[Sheet]:
    index = result.annex.bullet_index()

    def text_of(item_id: str | None) -> str:
        found = index.get(item_id or "")
        return found[2].rendered() if found else ""

    decisions = [
        (
            KIND_LABELS[d.kind],
            d.kind,
            d.item_id,
            "取組" if d.measure else "記載",
            d.original_id or "",
            ", ".join(d.related_ids),
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
    wide = {"理由": 70, "変更前": 50, "結果": 50, "元の記載": 50, "版": 60}
    return [
        Sheet(
            "再掲",
            (
                "判定",
                "種別コード",
                "項目ID",
                "対象",
                "元の項目ID",
                "関連する項目ID",
                "類似度",
                "変更前",
                "結果",
                "元の記載",
                "理由",
            ),
            decisions,
            widths=wide,
            wrap=("変更前", "結果", "元の記載", "理由"),
        ),
        Sheet(
            "競合",
            ("項目ID", "行ID", "担当府省", "府省", "対応", "版", "出典", "採否", "理由"),
            conflicts,
            widths=wide,
            wrap=("版", "理由"),
        ),
    ]


# -- the whole step ------------------------------------------------------------------------------
