"""annex import: the published 2025 annex becomes master(2025), nothing dropped, ids stable."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import openpyxl
import pytest

from annex.master.importer import read_annex_file
from annex.model.config import bundled_path
from annex.model.errors import InputError
from annex.workspace.layout import Workspace
from annex.workspace.master import import_into_workspace
from flows.cli import main

CORPUS = bundled_path("annex_2025.json")


def _corpus() -> dict:
    return json.loads(CORPUS.read_text(encoding="utf-8"))


def _texts(doc: dict) -> list[str]:
    out = []
    for chapter in doc["chapters"]:
        for section in chapter["sections"]:
            for row in section["rows"]:
                out.append(row["measure"])
                for column in ("status", "policy"):
                    out += [b["text"] for b in row[column]]
    return out


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> tuple[Workspace, dict]:
    ws = Workspace.at(tmp_path_factory.mktemp("ws"))
    import_into_workspace(ws, CORPUS, 2025)
    return ws, json.loads(ws.master_json(2025).read_text(encoding="utf-8"))


def test_bundled_corpus_is_the_shared_corpus():
    shared = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "annex_2025.json"
    if shared.exists():
        assert shared.read_bytes() == CORPUS.read_bytes()


def test_import_keeps_every_count(imported):
    _, master = imported
    rows = [r for c in master["chapters"] for s in c["sections"] for r in s["rows"]]
    assert len(rows) == 33
    assert sum(len(r["status"]) for r in rows) == 232
    assert sum(len(r["policy"]) for r in rows) == 229
    relisted = sum(b["relisted"] for r in rows for col in ("status", "policy") for b in r[col])
    assert relisted + sum(r["measure_relisted"] for r in rows) == 40
    assert len(master["footnotes"]) == 8
    assert len(master["abbreviations"]) == 43
    assert master["year"] == 2025


def test_import_keeps_text_byte_identical(imported):
    _, master = imported
    assert _texts(master) == _texts(_corpus())
    assert master["footnotes"] == _corpus()["footnotes"]


def test_master_is_the_corpus_plus_ids(imported):
    master = copy.deepcopy(imported[1])
    for chapter in master["chapters"]:
        for section in chapter["sections"]:
            for row in section["rows"]:
                for column in ("status", "policy"):
                    for bullet in row[column]:
                        assert bullet.pop("id").startswith(row["id"] + ("-S" if column == "status" else "-P"))
    master.pop("year")
    assert master == _corpus()


def test_ids_are_unique_and_deterministic(imported, tmp_path):
    ws, master = imported
    ids = [
        b["id"]
        for c in master["chapters"]
        for s in c["sections"]
        for r in s["rows"]
        for col in ("status", "policy")
        for b in r[col]
    ]
    assert len(ids) == len(set(ids)) == 461
    again = Workspace.at(tmp_path)
    import_into_workspace(again, CORPUS, 2025)
    assert again.master_json(2025).read_bytes() == ws.master_json(2025).read_bytes()


def test_reimporting_a_master_keeps_its_ids(imported, tmp_path):
    ws, _ = imported
    again = Workspace.at(tmp_path)
    import_into_workspace(again, ws.master_json(2025), 2025)
    assert again.master_json(2025).read_text(encoding="utf-8") == ws.master_json(2025).read_text(encoding="utf-8")


def test_master_xlsx_has_one_line_per_bullet(imported):
    ws, master = imported
    sheet = openpyxl.load_workbook(ws.output(2025) / "master.xlsx", read_only=True).active
    lines = list(sheet.iter_rows(values_only=True))
    header, body = lines[0], lines[1:]
    for label in ("章", "節", "行ID", "基本計画における具体的な取組", "欄", "見出し", "項目ID", "記載内容", "担当府省", "再掲"):
        assert label in header
    assert len(body) == 461
    by_id = {line[header.index("項目ID")]: line for line in body}
    first = master["chapters"][0]["sections"][0]["rows"][0]["policy"][0]
    line = by_id[first["id"]]
    assert line[header.index("記載内容")] == first["text"]
    assert line[header.index("担当府省")] == "、".join(first["tags"])
    assert line[header.index("欄")] == "今後の取組方針"
    assert sum(1 for line in body if line[header.index("再掲")] == "再掲") == 37


def test_import_reports_aliases_with_suggestions(imported):
    ws, _ = imported
    sheet = openpyxl.load_workbook(ws.output(2025) / "import-report.xlsx", read_only=True).active
    lines = list(sheet.iter_rows(values_only=True))
    header = lines[0]
    reported = {(line[header.index("タグ")], line[header.index("正しい表記（候補）")]) for line in lines[1:]}
    assert ("NISC", "ＮＩＳＣ") in reported
    assert ("個情委", "個人") in reported


def test_cli_import_prints_counts_in_and_out(tmp_path, capsys):
    main(["import", str(CORPUS), "--year", "2025", "--workspace", str(tmp_path)])
    out = capsys.readouterr().out
    assert "入力 461 → 出力 461" in out
    assert "NISC" in out and "ＮＩＳＣ" in out
    assert (tmp_path / "output" / "2025" / "master.json").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "JSON として読めません"),
        (json.dumps({"source": "x", "chapters": [{"no": "3", "no_raw": "３"}]}), "chapters[0].title"),
        ("MISSING_TEXT", "chapters[0].sections[0].rows[0].status[0].text"),
        ("EMPTY_TEXT", "chapters[0].sections[0].rows[0].status[0].text"),
    ],
)
def test_malformed_corpus_is_refused_with_the_path_and_nothing_written(tmp_path, capsys, content, expected):
    if content in ("MISSING_TEXT", "EMPTY_TEXT"):
        doc = _corpus()
        bullet = doc["chapters"][0]["sections"][0]["rows"][0]["status"][0]
        if content == "MISSING_TEXT":
            del bullet["text"]
        else:
            bullet["text"] = ""
        content = json.dumps(doc, ensure_ascii=False)
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    ws = tmp_path / "ws"
    with pytest.raises(SystemExit) as exit_info:
        main(["import", str(bad), "--year", "2025", "--workspace", str(ws)])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert err.startswith("エラー:") and expected in err
    assert "Traceback" not in err
    assert not (ws / "output" / "2025").exists() or not any((ws / "output" / "2025").iterdir())


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="見つかりません"):
        read_annex_file(tmp_path / "nope.json")
