"""`annex status`: per ministry — template sent, last submission (when, which version), verdict,
open issues, reminders sent, days to the deadline — in the terminal and in output/<Y>/status.xlsx."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from annex.model.config import JST, bundled_path
from annex.notify.outbox import Outbox
from annex.workspace.layout import Workspace
from annex.workspace.master import import_into_workspace
from flows.cli import main


def record_ledger(ws, received, start: int = 0) -> None:
    """Ledger entries for (ministry, path, status or None, errors, warnings), received a day apart
    from 5/20 (+ start); status "held": 保留, its ministry noted without a verdict."""
    with ws.open_ledger() as ledger:
        for n, (ministry, path, status, errors, warnings) in enumerate(received, start=start):
            entry, _ = ledger.record_received(
                year=2026,
                path=path,
                sha256=f"{n:064d}",
                size=1,
                archive_path=f"x/{n}",
                received_at=dt.datetime(2026, 5, 20 + n, 10, 30, tzinfo=JST),
            )
            if status == "held":
                ledger.record_held(entry.id, ministry=ministry)
            elif status:
                ledger.record_validation(
                    entry.id, ministry=ministry, template_version="1", status=status, errors=errors, warnings=warnings
                )


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
        raise SystemExit(0)
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


@pytest.fixture
def season(tmp_path, capsys):
    """Templates sent (as .eml); 文 accepted; 経 returned then accepted with warnings; 総 returned
    twice and reminded twice; one file (外's) not yet validated; nobody else has submitted."""
    ws = Workspace.at(tmp_path / "ws")
    import_into_workspace(ws, bundled_path("annex_2025.json"), 2025)
    code, _, err = run_cli(capsys, "distribute", "--send", "--workspace", str(ws.root))
    assert code == 0, err
    received = [
        ("文", "受信/文部科学省/mext.xlsx", "accepted", 0, 0),
        ("経", "meti.xlsx", "rejected", 3, 0),
        ("総", "soumu.xlsx", "rejected", 5, 0),
        ("経", "meti-2.xlsx", "accepted_with_warnings", 0, 2),
        ("総", "総務省/soumu-修正.xlsx", "rejected", 4, 1),
        ("外", "mofa.xlsx", None, 0, 0),
    ]
    record_ledger(ws, received)
    with Outbox.open(ws.ledger_url) as outbox:
        for slot in ("before-1", "after-2026-05-29"):
            assert outbox.claim(2026, "総", slot, message_id=f"<{slot}>", recipients=["a@mic.example"], subject="督促")
            outbox.mark_sent(2026, "総", slot)
    return ws


def test_status_in_the_terminal_and_as_a_workbook(season, capsys):
    ws = season
    code, out, err = run_cli(capsys, "status", "--workspace", str(ws.root), "--at", "2026-05-30T00:00+09:00")
    assert code == 0, err
    assert out.startswith(
        "提出状況 2026年度（2026年5月30日（土） 00:00 時点・提出締切 2026年5月29日（金） 17:00: 締切を過ぎています（1日経過））"
    )
    assert "  総（総務省・公害等調整委員会・消防庁）: 差戻し\n" in out
    assert (
        "未解決の指摘 エラー 4件・警告 1件／督促 2回（最終: 締切後（5月29日（金）））／締切まで 締切を過ぎています（1日経過）"
        in out
    )
    assert "受理 1・受理（警告あり） 1・差戻し 1・保留（検証待ち） 0・未提出" in out
    assert "  検証待ちのファイル 1 件（府省は検証後に分かります）: mofa.xlsx" in out
    path = ws.output(2026) / "status.xlsx"
    assert f"  出力: {path}" in out

    book = openpyxl.load_workbook(path)
    sheet = book["提出状況"]
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) >= {"文", "経", "総", "外", "海洋", "内閣人事局", "科技"}
    soumu = rows["総"]
    assert soumu["判定"] == "差戻し" and soumu["版"] == "第2版" and soumu["ファイル"] == "soumu-修正.xlsx"
    assert soumu["最終提出"] == "2026年5月24日（日） 10:30" and soumu["統合に使う版"] == "—"
    assert soumu["未解決の指摘"] == "エラー 4件・警告 1件" and soumu["督促"].startswith("2回")
    assert soumu["記入シートの送付"].startswith("保存済み（.eml）（")  # no mail server: the .eml is there
    meti = rows["経"]
    assert (meti["判定"], meti["版"], meti["統合に使う版"], meti["未解決の指摘"], meti["締切まで"]) == (
        "受理（警告あり）",
        "第2版",
        "第2版",
        "警告 2件",
        "受理済み",
    )
    assert rows["文"]["ファイル"] == "mext.xlsx" and rows["文"]["督促"] == "なし"  # never the inbox's folders
    assert rows["外"]["判定"] == "未提出"  # its file is not validated yet: nobody's until then
    assert (rows["海洋"]["判定"], rows["海洋"]["最終提出"], rows["海洋"]["締切まで"]) == (
        "未提出",
        "—",
        "締切を過ぎています（1日経過）",
    )
    assert rows["内閣人事局"]["記入シートの送付"] == "未送付（宛先未登録）"
    about = {k: v for k, v in book["概要"].iter_rows(min_row=2, values_only=True)}
    assert about["時点"] == "2026年5月30日（土） 00:00" and about["差戻し"] == "1 府省庁"
    assert about["検証待ちのファイル"] == "mofa.xlsx"


def test_status_before_the_deadline_counts_the_days_left(season, capsys):
    code, out, _ = run_cli(capsys, "status", "--workspace", str(season.root), "--at", "2026-05-26T09:00+09:00")
    assert code == 0 and "提出締切 2026年5月29日（金） 17:00: あと3日）" in out
    code, out, _ = run_cli(capsys, "status", "--workspace", str(season.root), "--at", "2026-05-29T09:00+09:00")
    assert code == 0 and "締切まで 本日締切" in out


def test_status_with_a_bad_instant_is_one_japanese_line(season, capsys):
    code, out, err = run_cli(capsys, "status", "--workspace", str(season.root), "--at", "5月30日")
    assert code != 0 and err.startswith("エラー: 日時として読めません: 5月30日") and "Traceback" not in err


def test_a_held_file_is_its_own_state_in_the_terminal_the_workbook_and_the_page(season, capsys):
    """保留（検証待ち）: the machine failed to check the file, its ministry was told from it — not
    未提出, not 差戻し; beside an accepted version the ministry stays 受理 and the held file is named."""
    from annex.workspace.status_page import status_page_path

    record_ledger(season, [("海洋", "海洋_回答.xlsx", "held", 0, 0), ("文", "mext-新.xlsx", "held", 0, 0)], start=6)
    code, out, err = run_cli(capsys, "status", "--workspace", str(season.root), "--at", "2026-05-30T00:00+09:00")
    assert code == 0, err
    assert "）: 保留（検証待ち）\n" in out.split("  海洋（", 1)[1]
    assert "受理 1・受理（警告あり） 1・差戻し 1・保留（検証待ち） 1・未提出" in out
    assert "  検証待ちのファイル 1 件（府省は検証後に分かります）: mofa.xlsx" in out  # the held ones have their ministry

    book = openpyxl.load_workbook(season.output(2026) / "status.xlsx")
    sheet = book["提出状況"]
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    ocean = rows["海洋"]
    assert (ocean["判定"], ocean["ファイル"], ocean["版"], ocean["統合に使う版"]) == (
        "保留（検証待ち）",
        "海洋_回答.xlsx",
        "—",
        "—",
    )
    assert ocean["未解決の指摘"] == "保留（検証待ち）（処理側の問題。次回の実行で検証します）"
    mext = rows["文"]  # accepted earlier: that version stays in use, the held one is named
    assert (mext["判定"], mext["ファイル"], mext["統合に使う版"], mext["締切まで"]) == (
        "受理",
        "mext-新.xlsx",
        "第1版",
        "受理済み",
    )
    assert mext["未解決の指摘"].startswith("保留（検証待ち）")
    about = {k: v for k, v in book["概要"].iter_rows(min_row=2, values_only=True)}
    assert about["保留（検証待ち）"] == "1 府省庁"
    assert about["検証待ちのファイル"] == "mofa.xlsx"

    page = status_page_path(season, 2026).read_text(encoding="utf-8")
    assert '<div class="hold">保留（検証待ち）</div><div class="n hold">1</div>' in page  # its tile
    row = page.split('<tr data-ministry="海洋">', 1)[1].split("</tr>", 1)[0]
    assert '<span class="badge hold">保留（検証待ち）</span>' in row
    assert '<span class="badge ok">受理</span>' in page.split('<tr data-ministry="文">', 1)[1].split("</tr>", 1)[0]
