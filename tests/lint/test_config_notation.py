"""The notation rules in config: per-rule severity (off only for notation rules), the prh
dictionaries checked by their specs, and 記入要領 saying what is not checked."""

from __future__ import annotations

import pytest

from annex.distribute.template import guide_rows, plan_templates
from annex.lint.annex import lint_annex
from annex.lint.dictionary import parse
from annex.master.importer import import_annex, read_annex_file
from annex.model.config import bundled_path, load_config
from annex.model.errors import AnnexError


def _config(tmp_path, severities: str):
    (tmp_path / "config").mkdir(exist_ok=True)
    source = bundled_path("annex.yaml").read_text(encoding="utf-8")
    (tmp_path / "config" / "annex.yaml").write_text(source.replace("rule_severities: {}", severities), encoding="utf-8")
    return load_config(tmp_path / "config")


def test_a_notation_rule_set_off_is_listed_as_not_checked_in_the_guide(tmp_path):
    config = _config(tmp_path, "rule_severities:\n  N-SPACE: off")
    annex = import_annex(read_annex_file(bundled_path("annex_2025.json")), config.tags, 2025).annex
    plan = plan_templates(annex, config, 2026)[0]
    rows = {r[3]: r for r in guide_rows(plan, config.secretariat, config.settings.rule_severities) if len(r) == 4}
    assert rows["N-SPACE"][1] == "確認しない" and rows["N-COUNTER"][1] == "警告"


def test_only_notation_rules_may_be_set_off(tmp_path):
    with pytest.raises(AnnexError, match="L-LOOKALIKE.*off にできるのは表記の規則"):
        _config(tmp_path, "rule_severities:\n  L-LOOKALIKE: off")


def test_a_dictionary_entry_whose_spec_fails_is_refused_with_its_name():
    data = {"rules": [{"expected": "ほか", "pattern": "他", "specs": [{"from": "その他の", "to": "その他の"}]}]}
    with pytest.raises(AnnexError, match="規則「ほか」の specs が合いません"):
        parse(data, "config/notation.yaml")


def test_a_bare_expected_matches_its_other_widths_and_cases_as_prh_does():
    [entry] = parse({"rules": [{"expected": "ＡＩ"}]}, "x")
    assert [h.found for h in entry.hits("AIとａｉとＡＩ")] == ["AI", "ａｉ"]


def test_a_footnote_nobody_cites_is_reported():
    annex = import_annex(read_annex_file(bundled_path("annex_2025.json")), load_config(None).tags, 2025).annex
    annex.footnotes["999"] = "どこからも参照されない脚注"
    report = lint_annex(annex)
    assert "999" in [h.found for h in report.hits["A-FOOTNOTE-UNUSED"]]
