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
        ("validate",): "「FILES」を指定してください",
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
