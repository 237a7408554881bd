"""In `annex run`, a return whose validation fails unexpectedly (a bug of ours, not of the file) is
not filed under 「府省不明」 with its ministry listed as 未提出: its ministry is identified from the
workbook's metadata, the secretariat is told what happened, the ministry gets its feedback, and
the ledger leaves the file unvalidated so that the next run checks it again."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from annex.workspace import collect
from annex.workspace.layout import Workspace

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]
ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "submissions" / "2026"


def _unique_copy(source: Path, target: Path) -> Path:
    """The same workbook with another saved time: new bytes, so no cached validation answers for it."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>2026-05-28T01:02:03Z\g<2>", data)
            out.writestr(info, data)
    return target


def test_a_validation_that_crashes_names_the_ministry_and_tells_it(prefect_server, tmp_path, monkeypatch):
    from flows.annual import annual_consolidation

    ws = Workspace.at(tmp_path / "ws")
    inbox = ws.submissions(2026)
    inbox.mkdir(parents=True)
    _unique_copy(SAMPLES / "法務省_別添記入シート.xlsx", inbox / "法務省.xlsx")
    broken = _unique_copy(SAMPLES / "外務省_別添記入シート.xlsx", inbox / "回答（最終）.xlsx")  # no ministry in the name

    real = collect.validate_received

    def crash_on_one(item, ref):
        if item.name == broken.name:
            raise TypeError("_issue() got multiple values for argument 'cell'")  # as the formula cell did
        return real(item, ref)

    monkeypatch.setattr(collect, "validate_received", crash_on_one)
    result = annual_consolidation(str(ws.root), 2026)

    lines = "\n".join(result["lines"])
    assert "府省の分からないファイル" not in lines
    [failure] = result["validation_failures"]
    assert failure.startswith("回答（最終）.xlsx: 外（ブックの管理情報から判断）の提出物の検証が異常終了しました")
    assert "TypeError" in failure and "次回の実行で検証し直します" in failure
    assert "検証処理の失敗 1 件" in lines
    run = json.loads((ws.output(2026) / "run.json").read_text(encoding="utf-8"))
    assert "外" in run["ministries"]["returned"] and "外" not in run["ministries"]["missing"]
    assert "法" in run["ministries"]["accepted"]
    assert list((ws.output(2026) / "feedback").glob("mofa-*.xlsx"))  # the ministry's notice: its feedback
    with ws.open_ledger() as ledger:
        statuses = {e.path: e.status for e in ledger.entries(2026)}
    assert statuses == {"法務省.xlsx": "accepted", "回答（最終）.xlsx": "received"}  # checked again next run
