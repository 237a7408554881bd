"""Configuration: bundled defaults, workspace overrides, and errors that name file, key and expectation."""

from __future__ import annotations

import pytest

from annex.model.config import CONFIG_FILES, JST, bundled_path, load_config
from annex.model.errors import ConfigError
from annex.workspace.layout import Workspace
from flows.cli import main


def test_bundled_config_holds_the_full_table():
    config = load_config(None)
    assert len(config.ministries) == 43
    assert config.ministry_by_abbr["文"].slug == "mext"
    assert config.ministry_by_abbr["経"].slug == "meti"
    assert config.ministry_by_abbr["ＩＴ"].abolished
    assert config.ministry_by_abbr["ＮＩＳＣ"].parent == "内閣官房"
    assert "関係府省" in config.tag_settings.pseudo_tags
    assert config.tag_settings.aliases["NISC"] == "ＮＩＳＣ"
    assert config.tag_settings.aliases["個情委"] == "個人"
    assert config.tag_settings.aliases["関係府省庁"] == "関係府省"
    assert config.tag_settings.aliases["AMED 室"] == "ＡＭＥＤ室"
    assert config.settings.deadline.utcoffset() == JST.utcoffset(config.settings.deadline.replace(tzinfo=None))
    for ministry in config.ministries:
        for address in ministry.contacts:
            assert address.endswith(".example"), "contacts use a reserved example domain"


def test_bundled_table_matches_the_corpus_abbreviations():
    import json

    corpus = json.loads(bundled_path("annex_2025.json").read_text(encoding="utf-8"))
    config = load_config(None)
    for entry in corpus["abbreviations"]:
        ministry = config.ministry_by_abbr[entry["abbr"]]
        assert ministry.names == entry["names"]
        assert ministry.parent == entry["parent"]
        assert ministry.abolished == entry["abolished"]


def test_workspace_without_config_uses_bundled(tmp_path):
    assert Workspace.at(tmp_path).config.sources["annex.yaml"] == "bundled:annex.yaml"


def test_init_copies_defaults_and_workspace_file_wins(tmp_path, capsys):
    main(["init", "--workspace", str(tmp_path)])
    for name in CONFIG_FILES:
        assert (tmp_path / "config" / name).exists()
    path = tmp_path / "config" / "annex.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("year: 2026", "year: 2027"), encoding="utf-8")
    assert Workspace.at(tmp_path).config.year == 2027


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("annex.yaml", "deadline: 2026-05-29T17:00:00+09:00", "deadline: 来週", ["annex.yaml", "deadline", "日時"]),
        ("annex.yaml", "year: 2026\n", "", ["annex.yaml", "year", "必須"]),
        ("annex.yaml", "security: none", "security: maybe", ["annex.yaml", "smtp.security", "none"]),
        ("ministries.yaml", "slug: mext", "slug: MEXT!", ["ministries.yaml", "slug", "形式"]),
        ("ministries.yaml", "slug: meti", "slug: mext", ["ministries.yaml", "slug", "重複"]),
        ("tags.yaml", "NISC: ＮＩＳＣ", "NISC: どこか", ["tags.yaml", "aliases.NISC", "どこか"]),
        ("annex.yaml", "year: 2026", "year: [2026", ["annex.yaml", "YAML"]),
    ],
)
def test_malformed_config_names_file_key_and_expectation(tmp_path, capsys, file, old, new, expected):
    (tmp_path / "config").mkdir()
    source = bundled_path(file).read_text(encoding="utf-8")
    assert old in source
    (tmp_path / "config" / file).write_text(source.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "config")
    for part in expected:
        assert part in str(info.value)
    with pytest.raises(SystemExit) as exit_info:
        main(["import", str(bundled_path("annex_2025.json")), "--workspace", str(tmp_path)])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert err.startswith("エラー:") and "Traceback" not in err


def test_rule_severity_override_reaches_the_validator_and_the_guide(tmp_path):
    from annex.distribute.template import guide_rows, plan_templates
    from annex.master.importer import import_annex, read_annex_file
    from annex.model.rules import RULES
    from annex.validation.validate import Reference

    (tmp_path / "config").mkdir()
    source = bundled_path("annex.yaml").read_text(encoding="utf-8")
    (tmp_path / "config" / "annex.yaml").write_text(
        source.replace("rule_severities: {}", "rule_severities:\n  L-LOOKALIKE: error"), encoding="utf-8"
    )
    config = load_config(tmp_path / "config")
    assert RULES["L-LOOKALIKE"].severity == "warning"
    annex = import_annex(read_annex_file(bundled_path("annex_2025.json")), config.tags, 2025).annex
    assert Reference.for_annex(config, 2026, annex).severities == {"L-LOOKALIKE": "error"}
    plan = plan_templates(annex, config, 2026)[0]
    line = next(
        r for r in guide_rows(plan, config.secretariat, config.settings.rule_severities) if len(r) == 4 and r[3] == "L-LOOKALIKE"
    )
    assert line[1] == "エラー（差戻し）"


def test_unknown_rule_code_in_severities_is_a_config_error(tmp_path):
    (tmp_path / "config").mkdir()
    source = bundled_path("annex.yaml").read_text(encoding="utf-8")
    (tmp_path / "config" / "annex.yaml").write_text(
        source.replace("rule_severities: {}", "rule_severities:\n  L-NOPE: error"), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="rule_severities.L-NOPE"):
        load_config(tmp_path / "config")


def test_a_blocking_rule_cannot_be_downgraded_to_a_warning(tmp_path):
    """A warning there would accept a file none of whose lines could be read; config says so at once."""
    (tmp_path / "config").mkdir()
    source = bundled_path("annex.yaml").read_text(encoding="utf-8")
    (tmp_path / "config" / "annex.yaml").write_text(
        source.replace("rule_severities: {}", "rule_severities:\n  S-SHEET-MISSING: warning"), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="rule_severities.S-SHEET-MISSING.*警告にはできません"):
        load_config(tmp_path / "config")
