"""The `annex` command. It translates options and calls the library; nothing more.

User-facing text is Japanese: the people who run this are the secretariat's staff.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from annex.errors import AnnexError
from annex.workspace import Workspace

app = typer.Typer(
    name="annex",
    help="統合イノベーション戦略 別添の取りまとめ（様式の配布・提出物の検証・フィードバック・再掲の照合・統合・Word/PDF 出力）。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

WorkspaceOpt = Annotated[
    Path,
    typer.Option("--workspace", "-w", help="作業フォルダ（config/・submissions/・output/ を置く場所）。省略時は現在のフォルダ。"),
]
YearOpt = Annotated[Optional[int], typer.Option("--year", "-y", help="年度（省略時は config/annex.yaml の year）。")]


def say(message: str = "") -> None:
    typer.echo(message)


@app.command("init")
def init_command(workspace: WorkspaceOpt = Path(".")) -> None:
    """作業フォルダに設定ファイル（config/）の雛形を作ります。既存のファイルは上書きしません。"""
    ws = Workspace.at(workspace)
    from annex.config import CONFIG_FILES, bundled_path

    ws.config_dir.mkdir(parents=True, exist_ok=True)
    for name in CONFIG_FILES:
        target = ws.config_dir / name
        if target.exists():
            say(f"そのまま: {target}")
        else:
            shutil.copyfile(bundled_path(name), target)
            say(f"作成: {target}")
    for folder in (ws.submissions(ws.config.year), ws.root / "output"):
        folder.mkdir(parents=True, exist_ok=True)
    say(f"提出物は {ws.submissions(ws.config.year)} に置いてください。")


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="取り込む別添（JSON、または annex が出力した Word ファイル）。")],
    year: YearOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """公表済みの別添を、その年度のマスター（output/<年度>/master.json・master.xlsx）として取り込みます。"""
    ws = Workspace.at(workspace)
    from annex.importer import import_into_workspace

    year = year if year is not None else ws.config.settings.baseline.year
    result, written = import_into_workspace(ws, file.expanduser().resolve(), year)
    counts = result.annex.counts()
    say(f"取込: {file}（{year}年度）")
    say(f"  項目数: 入力 {result.bullets_in} → 出力 {result.bullets_out}（実施状況 {counts['status']}、今後の方針 {counts['policy']}）")
    say(f"  章 {counts['chapters']}・節 {counts['sections']}・行 {counts['rows']}・再掲 {counts['relisted']}・脚注 {counts['footnotes']}・略称 {counts['abbreviations']}")
    say(f"  新たに付けた項目ID: {result.ids_assigned}")
    if result.warnings:
        say(f"  警告 {len(result.warnings)} 件（表記ゆれ・略称表にないタグ）:")
        for w in result.warnings:
            say(f"    - {w.where}: {w.message}")
    for path in written:
        say(f"  出力: {path}")


@app.command("distribute")
def distribute_command(year: YearOpt = None, workspace: WorkspaceOpt = Path(".")) -> None:
    """前年度のマスターから、府省ごとの記入様式（output/<年度>/templates/<府省>.xlsx）を作成します。"""
    ws = Workspace.at(workspace)
    from annex.distribute import distribute_year

    result = distribute_year(ws, year)
    say(f"様式の作成: {result.year}年度（元: {result.master}）")
    for t in result.templates:
        say(f"  {t.ministry}（{t.name}）: {t.path}  記載 {t.lines} 行（うち自府省担当 {t.owned}）・空き行 {t.spare}")
        for warning in t.warnings:
            say(f"    警告: {warning}")
    say(f"  計 {len(result.templates)} 府省、警告 {len(result.warnings)} 件")


def main(argv: list[str] | None = None) -> None:
    """Entry point: expected failures print one Japanese line and exit non-zero; no traceback."""
    try:
        app(args=argv, standalone_mode=False)
    except AnnexError as exc:
        typer.echo(f"エラー: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("中断しました。", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
