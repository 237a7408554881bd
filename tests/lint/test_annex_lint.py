"""annex lint over a whole master: the document rules, 表記ゆれ in two passes, lint.json / lint.xlsx,
and the figures per rule on the bundled 2025 corpus (checked against the research note's findings)."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from annex.lint.annex import LINT_CODES, bullet_place, lint_annex
from annex.lint.dictionary import parse
from annex.model.annex import Annex
from annex.model.config import bundled_path, load_config
from annex.workspace.lint import FAMILIES, lint_master

CORPUS = bundled_path("annex_2025.json")


@pytest.fixture(scope="module")
def config():
    return load_config(None)


@pytest.fixture()
def annex():
    return Annex.model_validate_json(CORPUS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def corpus_report(config):
    return lint_master(Annex.model_validate_json(CORPUS.read_text(encoding="utf-8")), config)


def _found(report, code):
    return [h.found for h in report.hits[code]]


# -- the bundled corpus ----------------------------------------------------------------------
# Figures per rule on annex_2025.json (461 bullets of the 2025 annex, chapters ３–４). Where the research
# note (../shared/research/notation_lint.md §2.2–2.3) lists the cases, the test names them; the counts of
# the others were reviewed by hand (50 random hits, see the note's addendum).
CORPUS_FIGURES = {
    "N-WIDTH-ACRONYM": 5,  # AI ×2 (「AI 時代」 twice), LLM, 「広島 AI プロセス」, 「マナビ DX」 (§2.3 #1, #2)
    "N-WIDTH-DIGIT": 24,  # the HW one-digit tokens: 「令和 6年 5 月」, 「1 大学２学部 5 学科」 (§2.3 #12, #13)
    "N-WIDTH-MIXED": 4,  # 「ＣＯ2」, 「ポスト５G」 ×3 (§2.3 #3, #28); 「ＴＩＭＳＳ2023」 is already the house style
    "N-WIDTH-SYMBOL": 2,  # 「100%」, 「<別冊付録>」 (§2.3 #29, #31)
    "N-BRACKET-WIDTH": 8,  # 4 「(…）」 and 4 「(…)」 around sentences (§2.3 #17, #18)
    "N-SPACE-BRACKET": 1,
    "N-SPACE": 257,  # PDF-era spaces around half-width numbers (§2.1: 133 + …), 「広島 AI プロセス」
    "N-COUNTER": 1,  # 「全国４箇所」 (§2.3 #20; the other two are outside this corpus)
    "N-NUMERAL-TSU": 2,  # 「1 つ」, 「９つ」 (§2.3 #21)
    "N-SENTENCE-END": 3,  # 「…を支援」「…を推進」「…協議」 before the tag block (§2.3 #10)
    "N-DICTIONARY": 2,  # 「一人ひとり」 ×2 (§1 kanji/kana)
    "A-VARIANT": 17,  # ＣＯ₂/省ＣＯ2, AI ×3, LLM, マナビ DX, 子供 ×2, 関係府省庁 ×3, をはじめ ×4, 身に付 (§2.2, §2.3 #8, #32–34)
    "A-TAG-UNLISTED": 2,  # NISC, 個情委 (§2.3 #4, #6)
    "A-TAG-ORDER": 4,  # 【デジ、科技、総】【文、総】【経、厚】【科技、総、文、経、防、外】 (§2.3 #9)
    "A-MEASURE-MARKER": 4,  # ○ (U+25CB) in four plan items (§2.3 #24)
}


def test_corpus_figures_per_rule(corpus_report):
    expected = {code: CORPUS_FIGURES.get(code, 0) for code in LINT_CODES}
    assert corpus_report.counts() == expected


def test_corpus_hits_are_the_cases_the_research_found(corpus_report):
    r = corpus_report
    assert sorted(_found(r, "A-TAG-UNLISTED")) == ["NISC", "個情委"]
    assert set(_found(r, "A-TAG-ORDER")) == {"デジ、科技、総", "科技、総、文、経、防、外", "文、総", "経、厚"}
    assert _found(r, "A-MEASURE-MARKER") == ["○"] * 4
    assert _found(r, "N-COUNTER") == ["箇"]
    assert sorted(_found(r, "N-NUMERAL-TSU")) == ["1 つ", "９つ"]
    assert sorted(_found(r, "N-WIDTH-MIXED")) == sorted(["ＣＯ2", "５G", "５G", "５G"])
    variants = {(h.found, h.fixed) for h in r.hits["A-VARIANT"]}
    assert ("ＣＯ₂", "ＣＯ２") in variants and ("AI", "ＡＩ") in variants and ("子供", "子ども") in variants
    # the quoted Basic Plan is reported, never corrected
    quoted = [h for hits in r.hits.values() for h in hits if h.place.field == "基本計画における具体的な取組"]
    assert quoted and all(h.fixed is None and h.suggestion is None for h in quoted if h.code != "A-MEASURE-MARKER")


# -- document rules and 表記ゆれ on a changed corpus ------------------------------------------------
def _bullets(annex, column):
    return [b for _, c, b in annex.bullets() if c == column]


def _place(annex, bullet):
    return next(bullet_place(r, c, b) for r, c, b in annex.bullets() if b is bullet)


def test_variants_across_ministries_are_counted_with_the_majority_proposed(annex):
    status = _bullets(annex, "status")
    for bullet, text in zip(status, ["広島ＡＩプロセスを推進。", "広島ＡＩプロセスを拡大。", "広島 AI プロセスに参加。"]):
        bullet.text = text
    report = lint_annex(annex)
    hits = [h for h in report.hits["A-VARIANT"] if "広島" in h.found]
    assert [(h.found, h.fixed, h.place.item_id) for h in hits] == [
        ("広島 AI プロセス", "広島ＡＩプロセス", _place(annex, status[2]))
    ]
    # the corpus has the name 3 times already: 5 full-width against the one written apart
    assert "広島ＡＩプロセス 5件・広島 AI プロセス 1件" in hits[0].message


def test_a_dictionary_term_in_three_spellings_reports_the_two_minority_ones(annex):
    entries = parse({"rules": [{"expected": "こども", "pattern": "/子供|子ども|こども(?!家庭庁)/"}]}, "test")
    for bullet, text in zip(
        _bullets(annex, "status"), ["子供の学び。", "子どもの学び。", "子どもの未来。", "こども家庭庁と連携。"]
    ):
        bullet.text = text
    report = lint_annex(annex, variant_dictionary=entries)
    found = {(h.found, h.fixed) for h in report.hits["A-VARIANT"] if h.fixed in ("子ども", "こども", "子供")}
    assert ("子供", "子ども") in found and not any(f == "子ども" for f, _ in found)


def test_document_rules_on_tags_markers_and_footnotes(annex):
    policy = _bullets(annex, "policy")
    policy[0].tags = []
    policy[1].tags = ["経", "科技"]
    policy[2].tags = ["謎省"]
    policy[3].footnotes, policy[3].footnote_offsets = [999], [0]
    row = next(r for _, _, r in annex.rows())
    row.measure_marker = "○"
    report = lint_annex(annex)
    assert _place(annex, policy[0]) in {h.place.item_id for h in report.hits["A-TAGS-MISSING"]}
    order = next(h for h in report.hits["A-TAG-ORDER"] if h.place.item_id == _place(annex, policy[1]))
    assert order.fixed == "科技、経" and order.suggestion == "【科技、経】の順にしてください。"
    assert "謎省" in _found(report, "A-TAG-UNLISTED")
    assert 999 in [int(f) for f in _found(report, "A-FOOTNOTE-UNDEFINED")]
    assert row.id in {h.place.item_id for h in report.hits["A-MEASURE-MARKER"]}


def test_a_rule_set_off_reports_nothing(annex):
    report = lint_annex(annex, severities={"N-SPACE": "off"})
    assert report.hits["N-SPACE"] == [] and report.total > 0


# -- files and the command ---------------------------------------------------------------------------
def test_annex_lint_writes_json_with_every_rule_and_a_sheet_per_family(tmp_path, capsys):
    from flows.cli import main

    (tmp_path / "config").mkdir()
    main(["lint", "--year", "2025", "--workspace", str(tmp_path)])
    out = capsys.readouterr().out
    data = json.loads((tmp_path / "output" / "2025" / "lint.json").read_text(encoding="utf-8"))
    assert set(data["rules"]) == set(LINT_CODES)  # rules with no hit included
    assert data["rules"]["N-ERA-INVALID"]["count"] == 0 and data["rules"]["N-ERA-INVALID"]["hits"] == []
    assert data["total"] == sum(r["count"] for r in data["rules"].values()) > 0
    tag = data["rules"]["A-TAG-ORDER"]["hits"][0]
    assert {"item_id", "field", "offset", "found", "fixed", "message", "suggestion"} <= set(tag)
    assert f"{data['total']} 件" in out and "A-TAG-ORDER" in out
    wb = openpyxl.load_workbook(tmp_path / "output" / "2025" / "lint.xlsx")
    assert wb.sheetnames == ["概要", *(title for title, _ in FAMILIES)]
    ws = wb["表記ゆれ"]
    assert ws.auto_filter.ref and ws.max_row - 1 == data["rules"]["A-VARIANT"]["count"]


def test_annex_init_copies_the_two_dictionaries(tmp_path):
    from flows.cli import main

    main(["init", "--workspace", str(tmp_path)])
    for name in ("notation.yaml", "variants.yaml"):
        assert (tmp_path / "config" / name).read_text(encoding="utf-8") == Path(bundled_path(name)).read_text(encoding="utf-8")
