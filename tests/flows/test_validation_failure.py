"""In `annex run`, a return whose validation fails unexpectedly (a bug of ours, not of the file) gets
the answer validate_batch gives a file whose checks raised: 保留 (F-CHECK-FAILED). It is not filed
under 「府省不明」 and its ministry is neither 未提出 nor 差戻し: the ministry is identified from the
workbook's metadata and noted in the ledger without a verdict, the secretariat is told once, the
ministry is sent nothing (it has nothing to fix), and the next run checks the file again."""

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


def test_a_validation_that_crashes_holds_the_file_under_its_ministry_and_sends_nothing(prefect_server, tmp_path, monkeypatch):
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
    assert "  府省庁: 受理 1・差戻し 0・保留（検証待ち） 1・未提出 " in lines
    # told once, in the list of held files: the same words validate_batch's 保留 gets
    [held] = result["held_files"]
    assert held.startswith("回答（最終）.xlsx → 保留（外: 「") and "TypeError" in held and held.endswith("— 府省には送りません")
    assert "ファイルの判定は保留し、事務局が確認します" in held and lines.count("回答（最終）.xlsx") == 1
    assert "保留（機械側の失敗・次回の実行で検証し直します） 1 件:" in lines
    run = json.loads((ws.output(2026) / "run.json").read_text(encoding="utf-8"))
    assert run["ministries"]["held"] == ["外"] and run["ministry_counts"]["held"] == 1
    assert "外" not in run["ministries"]["returned"] and "外" not in run["ministries"]["missing"]
    assert "法" in run["ministries"]["accepted"]
    assert run["issues_by_rule"].get("F-CHECK-FAILED") == 1 and "F-UNREADABLE" not in run["issues_by_rule"]
    assert "validation_failures" not in run  # one list of held files, not two decisions
    assert not list((ws.output(2026) / "feedback").glob("mofa-*.xlsx"))  # nothing for the ministry to fix
    assert sum(run["feedback_mail"]["feedback"].values()) == 1  # 法's only: no 差戻し mail to 外
    with ws.open_ledger() as ledger:
        found = {e.path: (e.status, e.ministry) for e in ledger.entries(2026)}
    assert found == {"法務省.xlsx": ("accepted", "法"), "回答（最終）.xlsx": ("received", "外")}  # checked again next run
    page = (ws.output(2026) / "status.html").read_text(encoding="utf-8")
    assert '<span class="badge hold">保留（検証待ち）</span>' in page.split('<tr data-ministry="外">', 1)[1].split("</tr>", 1)[0]

    monkeypatch.undo()  # the bug fixed: the next run checks the held file and judges it
    again = annual_consolidation(str(ws.root), 2026)
    assert again["held_files"] == [] and "外" in again["ministries"]["accepted"]
    with ws.open_ledger() as ledger:
        found = {e.path: (e.status, e.ministry, e.version) for e in ledger.entries(2026)}
    assert found["回答（最終）.xlsx"] == ("accepted", "外", 1)
