"""Each notation rule on hand-made strings (most from the 2025 annex, research note §2.3): a hit with
its position and correction, and a text the rule must leave alone."""

from __future__ import annotations

import pytest

from annex.lint.dictionary import default_entries
from annex.lint.text import lint_text
from annex.model.rules import RULES

# (rule, text, the span found, its correction (None: no certain fix), a text the rule must not hit)
CASES = [
    ("N-PUNCT", "研究を推進，開発を加速", "，", "、", "79,561人、3.5倍"),
    ("N-PUNCT-DOUBLE", "推進する。。", "。。", "。", "推進する。"),
    ("N-WIDTH-ACRONYM", "「AI 時代の知的財産権検討会」", "AI", "ＡＩ", "AI for Science を推進"),
    ("N-WIDTH-ACRONYM", "日本語 LLM 出力", "LLM", "ＬＬＭ", "トビタテ！留学JAPAN"),
    ("N-WIDTH-DIGIT", "令和6年度", "6", "６", "令和６年度に10件"),
    ("N-WIDTH-DIGIT", "１２件", "１２", "12", "Beyond 5G"),
    ("N-WIDTH-MIXED", "G７グローバルヘルス", "G７", "Ｇ７", "Ｇ７サミット"),
    ("N-WIDTH-MIXED", "省ＣＯ2実現", "ＣＯ2", "ＣＯ２", "ＡＢＣＩ3.0、ＴＩＭＳＳ2023、Ｇ20"),
    ("N-WIDTH-SYMBOL", "100%にする", "%", "％", "70％にする"),
    ("N-WIDTH-SYMBOL", "令和７~11年度", "~", "～", "令和７～11年度"),
    ("N-WIDTH-SYMBOL", "<バイオ製造>", "<バイオ製造>", "＜バイオ製造＞", "a<b>c"),
    ("N-BRACKET-UNPAIRED", "「知の集積", "「", None, "「知」の集積"),
    ("N-BRACKET-WIDTH", "(現状の検討。）。", "(現状の検討。）", "（現状の検討。）", "（Ｊ-Fusion）(J-Fusion)"),
    ("N-BRACKET-NESTED", "『「知」の集積』", "『「知」の集積』", "「「知」の集積」", "「「知」の集積」"),
    ("N-SPACE-BRACKET", "（ 令和６年度時点）", " ", "", "（令和６年度時点）"),
    ("N-SPACE", "広島 ＡＩプロセス", " ", "", "AI for Science"),
    ("N-COUNTER", "全国４箇所", "箇", "か", "箇所を特定"),
    ("N-COUNTER", "６ヶ月", "ヶ", "か", "６か月"),
    ("N-NUMERAL-TSU", "施策の1つとして", "1つ", "一つ", "施策の一つ、11つ"),
    ("N-ERA-INVALID", "令和2040年度", "令和2040年度", "令和22年度", "令和22年度、平成31年"),
    ("N-ERA-INVALID", "平成35年", "平成35年", None, "平成元年"),
    ("N-ERA-MISMATCH", "令和７年度（2026年度）", "令和７年度（2026年度）", None, "令和７年度（2025年度）、2019年（令和元年）"),
    ("N-EMPTY-MARKER", "―", "―", "－", "－"),
    ("N-DICTIONARY", "研究船の他、ＲＯＶ", "の他、", "のほか、", "その他の取組"),
    ("N-DICTIONARY", "活用出来る環境", "出来る", "できる", "出来高"),
]


@pytest.fixture(scope="module")
def dictionary():
    return default_entries()


@pytest.mark.parametrize(("code", "text", "found", "fixed", "clean"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_rule_hits_with_position_and_correction_and_leaves_clean_text_alone(code, text, found, fixed, clean, dictionary):
    hits = [h for h in lint_text(text, dictionary=dictionary) if h.code == code]
    assert len(hits) == 1, hits
    hit = hits[0]
    assert text[hit.start : hit.end] == hit.found == found
    assert hit.fixed == fixed
    assert not [h for h in lint_text(clean, dictionary=dictionary) if h.code == code]
    assert code in RULES and RULES[code].group == "notation"


def test_a_bullet_must_end_in_kuten_but_other_text_need_not():
    hits = [h for h in lint_text("取組を支援", sentence=True) if h.code == "N-SENTENCE-END"]
    assert [(h.start, h.fixed) for h in hits] == [(4, "援。")]
    assert not [h for h in lint_text("取組を支援", sentence=False) if h.code == "N-SENTENCE-END"]
    assert not [h for h in lint_text("取組を支援（令和６年度）。", sentence=True) if h.code == "N-SENTENCE-END"]


def test_the_verb_torikumi_and_correct_conjunctions_are_not_hit(dictionary):
    """research §2.3: 「取り組み、」 is the verb; 「更に」 (adverb) and 「さらに、」 (conjunction) are both correct."""
    assert lint_text("原理解明に取り組み、更に推進する。さらに、連携する。", sentence=True, dictionary=dictionary) == []


def test_catalogue_holds_twenty_notation_rules_warning_by_default_each_with_japanese_words():
    notation = [r for r in RULES.values() if r.group in ("notation", "annex")]
    assert len(notation) >= 20
    for r in notation:
        assert r.severity == "warning"
        assert any("\u3040" <= c <= "\u9fff" for c in r.title + r.message + r.guide)


def test_every_notation_rule_a_text_check_can_report_is_tested():
    tested = {c[0] for c in CASES} | {"N-SENTENCE-END"}
    text_rules = {code for code, r in RULES.items() if r.group == "notation"}
    assert text_rules == tested
