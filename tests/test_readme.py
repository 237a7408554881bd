"""The README stays true: its CLI reference matches the real commands, its set-up commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from flows.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _sections() -> dict[str, str]:
    parts = re.split(r"^### annex ([a-z-]+)\s*$", README, flags=re.M)
    return {name: body.split("\n## ")[0] for name, body in zip(parts[1::2], parts[2::2])}


def _commands() -> dict:
    return typer.main.get_command(app).commands  # type: ignore[attr-defined]


def test_every_command_is_documented_and_every_documented_command_exists():
    assert set(_sections()) == set(_commands())


def test_every_option_of_every_command_is_documented():
    sections = _sections()
    for name, command in _commands().items():
        for param in command.params:
            longs = [o for o in getattr(param, "opts", []) if o.startswith("--")]
            if longs:
                assert any(o in sections[name] for o in longs), f"annex {name}: {longs[0]} is not in the README"


def test_the_two_setup_commands_exist_and_ci_runs_the_readme_test_command():
    assert "./scripts/setup.sh && annex run" in README
    assert "./scripts/test.sh" in README
    for script in ("scripts/setup.sh", "scripts/test.sh", ".ci/run"):
        path = ROOT / script
        assert path.exists() and path.stat().st_mode & 0o111, script
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./scripts/setup.sh" in ci and "./scripts/test.sh" in ci
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    for package in ("libreoffice-writer-nogui", "fonts-noto-cjk", "poppler-utils"):
        assert package in setup


def test_help_is_japanese_for_every_command():
    for name, command in _commands().items():
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", command.help or ""), f"annex {name} has no Japanese help"


def test_the_mistakes_people_type_get_one_japanese_line_with_the_nearest_command_or_option(capsys):
    """No traceback, no English: what was wrong, the nearest spelling, and where the usage is."""
    import pytest

    from flows.cli import main

    cases = {
        (): "コマンドを指定してください",
        ("distibute",): "コマンド「distibute」はありません（「distribute」のことですか）",
        ("run", "--yaer", "2026"): "オプション「--yaer」はありません（「--year」のことですか）",
        ("validate",): "「ファイル」を指定してください",
        ("render", "--year", "26"): "--year の値「26」が正しくありません（西暦4桁で指定してください。例: 2026）",
        ("run", "--year", "abc"): "--year の値「abc」が正しくありません（整数が必要です）",
        ("distribute", "--year"): "--year の値を指定してください",
    }
    for argv, expected in cases.items():
        with pytest.raises(SystemExit) as exit_info:
            main(list(argv))
        err = capsys.readouterr().err
        assert exit_info.value.code == 2, argv
        assert err.startswith("エラー: ") and err.count("\n") == 1 and expected in err, (argv, err)
        assert "Traceback" not in err and "annex" in err and "--help" in err


def test_help_pages_are_japanese_usage_and_options_included(capsys):
    """`annex --help` and every command's: usage line, section titles, defaults and the --help
    option in Japanese; no English from typer or click."""
    from flows.cli import main

    for argv in [["--help"], *([name, "--help"] for name in _commands())]:
        main(argv)  # help is printed and main returns: exit code 0
        out = capsys.readouterr().out
        assert out.startswith("使い方: annex") and "オプション:" in out and "この説明を表示して終了します。" in out, argv
        for english in ("Usage", "Options", "Arguments", "Commands", "Show this message", "default:", "required"):
            assert english not in out, (argv, english)
        assert not re.search(r"<(int|str|path|list\[)", out), argv  # typer's type labels


def test_a_config_date_that_does_not_exist_is_one_line_naming_file_and_key(tmp_path, capsys):
    import pytest

    from flows.cli import main

    (tmp_path / "config").mkdir()
    annex_yaml = (ROOT / "annex" / "defaults" / "annex.yaml").read_text(encoding="utf-8")
    assert "deadline: 2026-05-29T17:00:00+09:00" in annex_yaml
    (tmp_path / "config" / "annex.yaml").write_text(annex_yaml.replace("2026-05-29T17", "2026-05-32T17"), encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["distribute", "--workspace", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_info.value.code != 0 and err.count("\n") == 1 and "Traceback" not in err
    assert "config/annex.yaml" in err and "キー「deadline」" in err


def test_a_fresh_folder_works_the_way_the_readme_says(tmp_path, capsys):
    """distribute imports the configured baseline as merge and run do; import takes the config's
    bundled: names; a missing master says how to make it; merging nothing says so."""
    import pytest

    from flows.cli import main

    def annex(*argv: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_info:
            main([*argv, "--workspace", str(tmp_path)])
            raise SystemExit(0)
        out = capsys.readouterr()
        return exit_info.value.code or 0, out.out, out.err

    code, out, _ = annex("import", "bundled:annex_2025.json")
    assert code == 0 and "入力 461 → 出力 461" in out
    code, _, err = annex("render", "--year", "2026", "--no-pdf")
    assert code != 0 and "2026年度のマスター" in err and "annex run --year 2026" in err and "annex merge --year 2026" in err
    code, _, err = annex("merge", "--year", "2027")
    assert code != 0 and "前年度の別添" in err and "2026年度のマスター" in err
    code, out, _ = annex("merge", "--no-feedback")
    assert code == 0 and "警告:" in out and "提出ファイルがありません" in out and "すべて未更新" in out
    (tmp_path / "output" / "2025").rename(tmp_path / "moved-2025")  # a fresh folder again
    code, out, err = annex("distribute")
    assert code == 0, err
    assert (tmp_path / "output" / "2025" / "master.json").exists() and "計 22 府省" in out
