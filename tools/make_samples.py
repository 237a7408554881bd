"""Make the sample submissions in submissions/2026/ from the 2026 templates, reproducibly.

    python tools/make_samples.py            # writes submissions/2026/*.xlsx and tools/sample_plan.json
    python tools/make_samples.py --check    # regenerates into a temp folder and compares content (exit 1 if different)

It imports the bundled 2025 annex into a temporary workspace, distributes the 2026 templates
(with a fixed generated_at), then edits each ministry's workbook with openpyxl as an officer
would in Excel: texts updated (令和６年度 → 令和７年度), new bullets in the spare lines, one
deletion, one re-listed original edited, tags corrected. One ministry returns its workbook
unchanged, one does not submit, and three make the mistakes ministries really make. Every
change and every mistake is recorded, with its cell, in tools/sample_plan.json, so that
validation and merge tests can assert exactly what was planted:

- ``files[].expected_verdict``: 受理 or 差戻し;
- ``files[].changes``: edit / delete / new, with item id, old/new text or tags and their cells;
- ``files[].mistakes``: rule code, sheet, cell (A1 on 記入シート), item id, description, and
  ``may_also_report`` (rules a validator may legitimately add, e.g. F-TAMPERED for a typed-over
  locked cell);
- ``expected_merge``: added / modified / deleted / carried over the accepted files.

The output is byte-for-byte reproducible (fixed timestamps inside and on the zip entries), so
regenerating without changes leaves git clean. ``--check`` and the test nevertheless compare the
workbooks' content (``content_differences``), not their bytes: a new openpyxl may serialise the
same workbook differently, and that is no reason to fail CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.cell import coordinate_to_tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from annex.distribute.template import LETTER, cell_of, read_lines, share_live_formula  # noqa: E402
from annex.io.xlsx import set_text  # noqa: E402
from annex.model.config import bundled_path  # noqa: E402
from annex.model.contract import (  # noqa: E402
    ACTION_DELETE,
    ACTION_EDIT,
    ACTION_NEW,
    COLUMN_BY_KEY,
    FIELD_POLICY,
    HEADER_ROW,
    RELISTED_VALUE,
    SHEET_ENTRY,
)
from annex.model.labels import JST  # noqa: E402
from annex.workspace.distribute import distribute_year  # noqa: E402
from annex.workspace.layout import Workspace  # noqa: E402
from annex.workspace.master import import_into_workspace  # noqa: E402

YEAR = 2026
SOURCE_YEAR = 2025
GENERATED_AT = dt.datetime(2026, 4, 13, 9, 0, tzinfo=JST)  # templates' metadata: fixed for samples
ZIP_TIME = (2026, 5, 20, 9, 0, 0)
OUT = ROOT / "submissions" / str(YEAR)
PLAN = ROOT / "tools" / "sample_plan.json"
COMMAND = "python tools/make_samples.py"


# -- what an officer does --------------------------------------------------------------------------
@dataclass
class Edit:
    """修正 of an existing bullet: replace old→new in its text (or set text/tags)."""

    item_id: str
    old: str | None = None
    new: str | None = None
    text: str | None = None
    tags: str | None = None
    action: str = ACTION_EDIT
    note: str = ""


@dataclass
class Delete:
    item_id: str
    note: str = ""


@dataclass
class New:
    """新規 bullet written in the next spare line under row_id."""

    row_id: str
    text: str
    tags: str
    field: str = FIELD_POLICY
    relisted_of: str | None = None
    note: str = ""


@dataclass
class SetCell:
    """Type over any cell of an item's line (a locked one, for a mistake)."""

    item_id: str
    key: str
    value: str
    note: str = ""


@dataclass
class ClearHeader:
    key: str
    note: str = ""


@dataclass
class Mistake:
    rule: str  # the rule code (annex/rules.py) the validator must report
    op: Any
    at: str  # the column key whose cell the issue is located at
    description: str
    may_also_report: tuple[str, ...] = ()


@dataclass
class Sample:
    ministry: str
    file: str  # path under submissions/2026/, as the ministry named it
    kind: str  # updated / unchanged / faulty
    ops: list[Any] = field(default_factory=list)


R6, R7 = "令和６年度", "令和７年度"

SAMPLES: list[Sample] = [
    Sample(
        "文",
        "【文部科学省】統合イノベーション戦略2026別添_記入シート.xlsx",
        "updated",
        [
            Edit(
                "3-①-01-S09", "令和５年度及び令和６年度補正予算", "令和６年度及び令和７年度補正予算", note="令和６年度→令和７年度"
            ),
            Edit("3-①-03-S01", "令和６年度事業において", "令和７年度事業において", note="令和６年度→令和７年度"),
            Edit(
                "3-⑦-02-S01",
                "記事を 240 件以上発信（令和６年度時点 YouTube 登録者数約 61.7 万人）",
                "記事を 260 件以上発信（令和７年度時点 YouTube 登録者数約 66.2 万人）",
                note="令和６年度→令和７年度、実績の更新",
            ),
            Delete("3-⑥-02-P01", note="事業の事後評価を終えたため削除"),
            New("3-①-01", "令和８年度から、ＳＳＨ指定校の成果を域内の学校へ展開するための伴走支援を開始。", "文"),
        ],
    ),
    Sample(
        "経",
        "経済産業省/経産省_別添記入様式_提出版.xlsx",
        "updated",
        [
            Edit(
                "4-（３）-01-P02",
                "計算資源の更なる拡充等を通じて",
                "計算資源の更なる拡充や海外拠点との連携強化等を通じて",
                note="再掲の元の記載を修正（再掲 4-（３）-01-P25 は変更なしのまま）",
            ),
            Edit(
                "3-④-04-S03",
                "で 49 件を新規採択。同制度の中で令和６年度より",
                "で 52 件を新規採択。同制度の中で令和７年度より",
                note="令和６年度→令和７年度、実績の更新",
            ),
            New(
                "4-（３）-01",
                "量子技術の産業利用を促進するため、令和８年度に産業界向けの量子コンピュータ利用実証の公募を開始。",
                "経",
            ),
        ],
    ),
    Sample(
        "科技",
        "科技_記入シート_最終.xlsx",
        "updated",
        [
            Edit("4-（２）-01-P01", "に基づく取組を推進。", "に基づく取組を推進し、進捗を毎年度フォローアップ。"),
            New(
                "4-（２）-01", "バイオものづくりの社会実装に向け、関係府省と連携して令和８年度に工程表を改定。", "科技、関係府省"
            ),
        ],
    ),
    Sample(
        "厚",
        "厚生労働省/20260522_厚労省回答.xlsx",
        "updated",
        [
            Edit(
                "3-④-02-S01",
                "賃金情報の充実を令和６年度に実施。",
                "賃金情報の充実を令和７年度に実施。",
                note="令和６年度→令和７年度",
            ),
        ],
    ),
    Sample(
        "ＮＩＳＣ",
        "内閣サイバーセキュリティセンター_別添記入シート.xlsx",
        "updated",
        [
            Edit(
                "4-（１）-01-P31",
                "令和９年度に向けて",
                "令和９年度までに",
                tags="NISC、科技、総、経",
                note="記載を更新し、担当府省を前年度の表記 NISC で打ち直した（略称表の ＮＩＳＣ と同じ: 変更なし）",
            ),
        ],
    ),
    Sample(
        "個人",
        "個人情報保護委員会_別添記入シート.xlsx",
        "updated",
        [
            Edit(
                "4-（１）-01-P38",
                "検討を継続。",
                "検討を継続し、令和８年度に論点を取りまとめ。",
                tags="個情委",
                note="記載を更新し、担当府省を前年度の表記 個情委 で打ち直した（略称表の 個人 と同じ: 変更なし）",
            ),
        ],
    ),
    Sample(
        "内閣人事局",
        "内閣人事局_別添（回答）.xlsx",
        "updated",
        [
            New("4-（１）-01", "国家公務員のＡＩ活用に関する研修を拡充し、各府省の人材育成を支援。", "内閣人事局"),
        ],
    ),
    Sample(
        "人",
        "人事院_別添記入シート.xlsx",
        "updated",
        [
            New("4-（１）-01", "国家公務員採用試験の事務において、ＡＩを活用した業務効率化を検討。", "人"),
        ],
    ),
    Sample(
        "知財",
        "知的財産戦略推進事務局_別添記入シート.xlsx",
        "updated",
        [
            New("4-（１）-01", "ＡＩと知的財産権に関する考え方の周知を図るため、令和８年度に事例集を改訂。", "知財"),
        ],
    ),
    Sample(
        "健康医療",
        "健康・医療戦略推進事務局_別添記入シート.xlsx",
        "updated",
        [
            New("4-（５）-01", "医療分野の研究開発におけるＡＩ活用の事例を収集し、令和８年度に公表。", "健康医療"),
        ],
    ),
    Sample(
        "外",
        "外務省_別添記入シート.xlsx",
        "updated",
        [
            New("4-（１）-01", "広島ＡＩプロセス・フレンズグループの参加国拡大に向けた働きかけを継続。", "外"),
        ],
    ),
    Sample(
        "警",
        "警察庁_別添記入シート.xlsx",
        "updated",
        [
            Edit("4-（１）-01-P21", text="令和７年度に実施した実証実験の結果を踏まえ、実導入に向けた運用方法を検討。"),
        ],
    ),
    Sample(
        "金融",
        "金融庁_別添記入シート.xlsx",
        "updated",
        [
            Edit(
                "4-（１）-01-P59",
                "官民ステークホルダー勉強会を開催。",
                "官民ステークホルダー勉強会を開催し、令和８年度中に論点の整理を公表。",
            ),
        ],
    ),
    Sample(
        "デジ",
        "デジタル庁/デジタル庁_別添記入シート_v2.xlsx",
        "updated",
        [
            Edit("4-（１）-01-P17", "（ガバメントＡＩ（仮称））", "（ガバメントＡＩ「源内」）"),
        ],
    ),
    Sample(
        "法",
        "法務省_別添記入シート.xlsx",
        "updated",
        [
            Edit("4-（１）-01-P15", "利活用を促進。", "利活用を促進。令和８年度までに論点の整理を取りまとめる。"),
        ],
    ),
    Sample(
        "農",
        "農林水産省_別添記入シート.xlsx",
        "updated",
        [
            Edit(
                "4-（１）-01-P39", "生産管理アプリの開発等を推進。", "生産管理アプリの開発等を推進。令和７年度は対応品目を拡大。"
            ),
        ],
    ),
    Sample(
        "防",
        "防衛省_別添記入シート.xlsx",
        "updated",
        [
            Edit("4-（１）-01-P22", "研究開発を推進。", "研究開発及び実証を推進。"),
        ],
    ),
    Sample("宇宙", "宇宙開発戦略推進事務局_別添記入シート（修正なし）.xlsx", "unchanged", []),
    # -- the three with mistakes ------------------------------------------------------------------
    Sample(
        "総",
        "総務省/【総務省】別添記入シート_回答.xlsx",
        "faulty",
        [
            Edit("4-（１）-01-P06", "開発を推進。", "開発を推進し、令和８年度に成果を公表。"),
            Mistake(
                "L-TAG-UNKNOWN",
                Edit("4-（１）-01-P49", tags="総、サイバー"),
                "tags",
                "担当府省に略称表にない「サイバー」（ＮＩＳＣのつもり）を追加",
            ),
            Mistake(
                "L-TEXT-EMPTY", Edit("4-（１）-01-P71", text=""), "text", "記載内容を消して対応を「修正」にした（削除のつもり）"
            ),
            Mistake(
                "L-HALFWIDTH-KANA",
                Edit(
                    "4-（１）-01-P50",
                    "データセンターの分散立地の更なる支援を実施。",
                    "ﾃﾞｰﾀｾﾝﾀｰの分散立地の更なる支援を実施し、令和７年度に３件を採択。",
                ),
                "text",
                "半角カタカナ（ﾃﾞｰﾀｾﾝﾀｰ）を含む修正",
            ),
        ],
    ),
    Sample(
        "環",
        "環境省_別添様式（記入済）.xlsx",
        "faulty",
        [
            Edit("4-（２）-01-P05", "小型実験設備を設計・製作。", "小型実験設備を設計・製作し、令和７年度に運転を開始。"),
            Mistake(
                "L-LOCKED-CHANGED",
                SetCell("4-（１）-01-P52", "measure", "（環境省追記）ＡＩ・データセンターの省エネ化を含む"),
                "measure",
                "変更不可の「基本計画における具体的な取組」を上書き（シート保護を解除して入力）",
                may_also_report=("F-TAMPERED",),
            ),
            Mistake(
                "L-RELISTED-UNKNOWN",
                New(
                    "4-（２）-01",
                    "グリーン水素製造技術の実証成果を踏まえ、実用化に向けた検討を推進。",
                    "環",
                    relisted_of="4-（２）-01-P99",
                ),
                "relisted_of",
                "存在しない再掲元項目ID 4-（２）-01-P99 を記入した新規の再掲",
            ),
            Mistake(
                "L-TAG-MISSING-SELF",
                New("4-（１）-01", "データセンターの省エネ性能の見える化に向けた制度の検討を推進。", "経"),
                "tags",
                "他府省（経）だけを担当府省にした新規の記載",
            ),
        ],
    ),
    Sample(
        "国",
        "国交省 別添回答 0527.xlsx",
        "faulty",
        [
            Mistake("S-COLUMN-MISSING", ClearHeader("heading"), "header:heading", "列見出し「見出し」を削除（セルを空欄に）"),
            Mistake(
                "L-ACTION-INVALID",
                Edit(
                    "4-（１）-01-P35",
                    "について検討を実施。",
                    "について検討を実施し、令和７年度に手引きを作成。",
                    action="修正済み",
                ),
                "action",
                "対応に選択肢にない「修正済み」を入力",
            ),
            Mistake(
                "L-TYPED-BULLET",
                New("4-（１）-01", "・新たにＡＩを活用した道路点検の実証を実施。【国】", "国"),
                "text",
                "前年度の見た目をまねて、先頭の「・」と末尾の【国】を記載内容に入力した新規",
                may_also_report=("L-TYPED-TAGS",),
            ),
        ],
    ),
]
NOT_SUBMITTED = ["海洋"]


# -- applying the ops ------------------------------------------------------------------------------
class Officer:
    """Edits one ministry's template as an officer would, recording every cell touched."""

    def __init__(self, wb: Any):
        self.wb = wb
        self.ws = wb[SHEET_ENTRY]
        self.lines = read_lines(self.ws)
        self.row_of_item = {v["item_id"]: i for i, v in enumerate(self.lines) if v["item_id"]}
        self.used_spares: set[int] = set()

    def cell(self, key: str, index: int) -> str:
        return cell_of(key, index)

    def put(self, key: str, index: int, value: str) -> str:
        address = self.cell(key, index)
        set_text(self.ws[address], value if value != "" else None)
        return address

    def line(self, item_id: str) -> int:
        if item_id not in self.row_of_item:
            raise SystemExit(f"make_samples: 項目 {item_id} が様式にありません")
        return self.row_of_item[item_id]

    def spare(self, row_id: str) -> int:
        for i, v in enumerate(self.lines):
            if v["row_id"] == row_id and not v["item_id"] and i not in self.used_spares:
                self.used_spares.add(i)
                return i
        raise SystemExit(f"make_samples: 行 {row_id} に空き行がありません")

    def apply(self, op: Any) -> dict[str, Any]:
        if isinstance(op, Edit):
            i = self.line(op.item_id)
            old_text = self.lines[i]["text"]
            record: dict[str, Any] = {"op": "edit", "item_id": op.item_id, "row_id": self.lines[i]["row_id"], "note": op.note}
            if op.old is not None:
                if op.old not in old_text:
                    raise SystemExit(f"make_samples: {op.item_id} に「{op.old}」がありません")
                new_text = old_text.replace(op.old, op.new or "", 1)
            else:
                new_text = op.text if op.text is not None else old_text
            if new_text != old_text:
                record.update(old_text=old_text, new_text=new_text, text_cell=self.put("text", i, new_text))
            if op.tags is not None:
                record.update(old_tags=self.lines[i]["tags"], new_tags=op.tags, tags_cell=self.put("tags", i, op.tags))
            record.update(action=op.action, action_cell=self.put("action", i, op.action))
            record["cells"] = {k: self.cell(k, i) for k in ("item_id", "text", "tags", "action")}
            return record
        if isinstance(op, Delete):
            i = self.line(op.item_id)
            return {
                "op": "delete",
                "item_id": op.item_id,
                "row_id": self.lines[i]["row_id"],
                "note": op.note,
                "action": ACTION_DELETE,
                "action_cell": self.put("action", i, ACTION_DELETE),
                "cells": {k: self.cell(k, i) for k in ("item_id", "text", "action")},
            }
        if isinstance(op, New):
            i = self.spare(op.row_id)
            self.put("field", i, op.field)
            self.put("text", i, op.text)
            self.put("tags", i, op.tags)
            if op.relisted_of:
                self.put("relisted", i, RELISTED_VALUE)
                self.put("relisted_of", i, op.relisted_of)
            self.put("action", i, ACTION_NEW)
            return {
                "op": "new",
                "row_id": op.row_id,
                "field": op.field,
                "text": op.text,
                "tags": op.tags,
                "relisted_of": op.relisted_of,
                "action": ACTION_NEW,
                "note": op.note,
                "cells": {k: self.cell(k, i) for k in ("item_id", "field", "text", "tags", "relisted", "relisted_of", "action")},
            }
        if isinstance(op, SetCell):
            i = self.line(op.item_id)
            before = self.lines[i][op.key]
            address = self.put(op.key, i, op.value)
            return {
                "op": "set_cell",
                "item_id": op.item_id,
                "row_id": self.lines[i]["row_id"],
                "key": op.key,
                "label": COLUMN_BY_KEY[op.key].label,
                "old_value": before,
                "new_value": op.value,
                "note": op.note,
                "cells": {op.key: address, "item_id": self.cell("item_id", i)},
            }
        if isinstance(op, ClearHeader):
            address = f"{LETTER[op.key]}{HEADER_ROW}"
            label = self.ws[address].value
            self.ws[address].value = None
            return {"op": "clear_header", "key": op.key, "label": label, "note": op.note, "cells": {"header": address}}
        raise TypeError(op)


def normalize_xlsx(path: Path) -> None:
    """Fixed zip timestamps and document dates: the same input gives the same bytes."""
    stamp = dt.datetime(*ZIP_TIME).strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in entries:
            if name == "docProps/core.xml":
                text = data.decode("utf-8")
                text = re.sub(r"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rf"\g<1>{stamp}\g<2>", text)
                data = text.encode("utf-8")
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)
    path.write_bytes(buffer.getvalue())


# -- comparing workbooks by content ----------------------------------------------------------------
def _colour(colour: Any) -> str | None:
    # theme/indexed colours have no rgb (openpyxl returns an error text there): name them by kind
    return None if colour is None else f"{colour.type}:{colour.value}"


def _cell(c: Any) -> dict[str, Any]:
    return {
        "value": c.value,
        "fill": _colour(c.fill.fgColor) if c.fill.fill_type else None,
        "bold": bool(c.font.b),
        "font colour": _colour(c.font.color),
        "locked": c.protection.locked,
        "hidden": c.protection.hidden,
        "number format": c.number_format,
        "comment": c.comment.text if c.comment else None,
    }


_BLANK = {
    "value": None,
    "fill": None,
    "bold": False,
    "font colour": None,
    "locked": True,
    "hidden": False,
    "number format": "General",
    "comment": None,
}


def workbook_content(path: Path) -> dict[str, Any]:
    """What an officer sees and the validator reads in a workbook, independent of how it was serialised.

    Values as stored (formulas stay formulas), the styles that carry meaning (fill, bold, font colour,
    protection, number format), comments, data validations, merged cells, sheet states and protection.
    Column widths, fonts' names and the like are left out on purpose.
    """
    wb = openpyxl.load_workbook(path)
    sheets = {}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                content = _cell(c)
                # an empty cell with default style is the same as no cell: writers differ in which they keep
                if content != _BLANK:
                    cells[c.coordinate] = content
        sheets[ws.title] = {
            "state": ws.sheet_state,
            "protected": bool(ws.protection.sheet),
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "validations": sorted(
                (str(dv.type), str(dv.formula1), str(dv.sqref), str(dv.prompt)) for dv in ws.data_validations.dataValidation
            ),
            "cells": cells,
        }
    return {"order": wb.sheetnames, "structure locked": bool(wb.security and wb.security.lockStructure), "sheets": sheets}


def content_differences(a: Path, b: Path, label: str | None = None) -> list[str]:
    """Differences between two workbooks' content, each naming file, sheet and cell; [] when the same."""
    label = label or b.name
    ca, cb = workbook_content(a), workbook_content(b)
    found = [f"{label}: {key}: {ca[key]!r} ≠ {cb[key]!r}" for key in ("order", "structure locked") if ca[key] != cb[key]]
    for name in [n for n in ca["sheets"] if n in cb["sheets"]]:
        sa, sb = ca["sheets"][name], cb["sheets"][name]
        found += [
            f"{label}: {name}: {key}: {sa[key]!r} ≠ {sb[key]!r}"
            for key in ("state", "protected", "merged", "validations")
            if sa[key] != sb[key]
        ]
        for address in sorted(sa["cells"].keys() | sb["cells"].keys(), key=coordinate_to_tuple):
            x, y = sa["cells"].get(address, _BLANK), sb["cells"].get(address, _BLANK)
            found += [f"{label}: {name}!{address}: {key} {x[key]!r} ≠ {y[key]!r}" for key in _BLANK if x[key] != y[key]]
    return found


def generate(out: Path, plan_path: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="annex-samples-") as tmp:
        ws = Workspace.at(tmp)
        imported, _ = import_into_workspace(ws, bundled_path("annex_2025.json"), SOURCE_YEAR)
        master_bullets = imported.annex.counts()["bullets"]
        result = distribute_year(ws, YEAR, generated_at=GENERATED_AT)
        templates = {t.ministry: t for t in result.templates}
        if out.exists():
            for old in out.rglob("*.xlsx"):
                old.unlink()
        files = []
        for sample in SAMPLES:
            template = templates[sample.ministry]
            wb = openpyxl.load_workbook(template.path)
            officer = Officer(wb)
            changes, mistakes = [], []
            for op in sample.ops:
                if isinstance(op, Mistake):
                    record = officer.apply(op.op)
                    cell = record["cells"]["header"] if op.at.startswith("header:") else record["cells"][op.at]
                    mistakes.append(
                        {
                            "rule": op.rule,
                            "sheet": SHEET_ENTRY,
                            "cell": cell,
                            "item_id": record.get("item_id"),
                            "row_id": record.get("row_id"),
                            "description": op.description,
                            "may_also_report": list(op.may_also_report),
                            "change": record,
                        }
                    )
                else:
                    changes.append(officer.apply(op))
            target = out / sample.file
            target.parent.mkdir(parents=True, exist_ok=True)
            if sample.kind == "unchanged":
                shutil.copyfile(template.path, target)  # returned exactly as received
            else:
                share_live_formula(wb[SHEET_ENTRY])  # as Excel saves it: the チェック formula stored once
                wb.save(target)
            normalize_xlsx(target)
            files.append(
                {
                    "file": sample.file,
                    "ministry": sample.ministry,
                    "slug": template.slug,
                    "kind": sample.kind,
                    "template": f"output/{YEAR}/templates/{template.path.name}",
                    "expected_verdict": "差戻し" if mistakes else "受理",
                    "changes": changes,
                    "mistakes": mistakes,
                }
            )
        missing = [{"ministry": m, "slug": templates[m].slug, "has_contact": not templates[m].warnings} for m in NOT_SUBMITTED]
        plan = build_plan(files, missing, master_bullets, sorted(templates))
    if plan_path is not None:
        plan_path.write_text(json.dumps(plan, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return plan


def build_plan(files: list[dict], missing: list[dict], master_bullets: int, ministries: list[str]) -> dict[str, Any]:
    accepted = [f for f in files if f["expected_verdict"] != "差戻し"]
    modified = sorted({c["item_id"] for f in accepted for c in f["changes"] if c["op"] == "edit"})
    deleted = sorted({c["item_id"] for f in accepted for c in f["changes"] if c["op"] == "delete"})
    added = sum(1 for f in accepted for c in f["changes"] if c["op"] == "new")
    codes = sorted({m["rule"] for f in files for m in f["mistakes"]})
    return {
        "about": "What tools/make_samples.py planted in submissions/2026/. Cells are A1 addresses on sheet 記入シート.",
        "command": COMMAND,
        "year": YEAR,
        "source_year": SOURCE_YEAR,
        "generated_at": GENERATED_AT.isoformat(),
        "master_bullets": master_bullets,
        "files": files,
        "not_submitted": missing,
        "unchanged": [f["ministry"] for f in files if f["kind"] == "unchanged"],
        "faulty": [f["ministry"] for f in files if f["kind"] == "faulty"],
        "mistake_rules": codes,
        "relisted_original_edited": {"item_id": "4-（３）-01-P02", "copies": ["4-（３）-01-P25"], "ministry": "経"},
        "expected_merge": {
            "note": "Over the accepted files only (faulty files are returned, their lines carried). "
            "carried = master_bullets - modified - deleted; the re-listed copy that follows its edited original "
            "is counted in carried here (reconcile, not a ministry, changes it).",
            "added": added,
            "modified": len(modified),
            "deleted": len(deleted),
            "carried": master_bullets - len(modified) - len(deleted),
            "modified_ids": modified,
            "deleted_ids": deleted,
            "relisted_copies_following": ["4-（３）-01-P25"],
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="submissions folder to write (default: submissions/2026)")
    parser.add_argument("--plan", type=Path, default=PLAN, help="where to write the plan JSON")
    parser.add_argument("--check", action="store_true", help="regenerate into a temp folder and compare with the committed files")
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            plan = generate(Path(tmp) / "out", Path(tmp) / "plan.json")
            # the plan is our own JSON, so its bytes are its content
            found = [] if (Path(tmp) / "plan.json").read_bytes() == args.plan.read_bytes() else [f"{args.plan}: 内容が異なります"]
            for f in plan["files"]:
                committed = args.out / f["file"]
                if not committed.exists():
                    found.append(f"{f['file']}: ありません")
                    continue
                differences = content_differences(committed, Path(tmp) / "out" / f["file"], f["file"])
                found += differences[:5] + ([f"{f['file']}: ほか {len(differences) - 5} 件"] if len(differences) > 5 else [])
        for line in found:
            print(line)
        print(
            "異なります（左: コミット済み、右: 再生成）: python tools/make_samples.py で作り直してください"
            if found
            else "同じです"
        )
        return 1 if found else 0
    plan = generate(args.out, args.plan)
    for f in plan["files"]:
        print(f"{f['ministry']}\t{f['kind']}\t{len(f['changes'])} 変更\t{len(f['mistakes'])} 誤り\t{args.out / f['file']}")
    print(f"未提出: {', '.join(m['ministry'] for m in plan['not_submitted'])}")
    print(f"計画: {args.plan}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
