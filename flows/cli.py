"""The `annex` command. It translates options and calls the library; nothing more.

User-facing text is Japanese: the people who run this are the secretariat's staff.
"""

from __future__ import annotations

import difflib
import logging
import shutil
import sys
from pathlib import Path
from typing import Annotated

import click
import typer
import typer._click.exceptions as typer_click_exceptions

from annex.io.files import quiet_disk_errors_in_finalizers
from annex.model.errors import AnnexError
from annex.workspace.layout import Workspace

# typer marks its help texts for gettext and writes the usage prefix and the --help text itself;
# the secretariat reads Japanese, so the help pages say these in Japanese (error texts untouched:
# usage_message below reads them).
HELP_TEXTS = {
    "Options": "オプション",
    "Commands": "コマンド",
    "Arguments": "引数",
    "default: {default}": "既定: {default}",
    "required": "必須",
    "env var: {var}": "環境変数: {var}",
    "(dynamic)": "（実行時に決定）",
}
typer.core._ = lambda message: HELP_TEXTS.get(message, message)  # type: ignore[attr-defined]
_typed_argument = typer.core.TyperArgument.display_type_rich
# An argument named in Japanese (ファイル) needs no English type label (<list[Path]>) beside it.
typer.core.TyperArgument.display_type_rich = lambda self, ctx: None if self.metavar else _typed_argument(self, ctx)  # type: ignore[method-assign]
USAGE_PREFIX = "使い方: "
HELP_OPTION_TEXT = "この説明を表示して終了します。"


class _JapaneseHelp:
    """The usage line and the --help option in Japanese, for commands and the group alike."""

    def format_usage(self, ctx, formatter) -> None:
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), prefix=USAGE_PREFIX)  # type: ignore[attr-defined]

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION_TEXT
        return option


class JapaneseGroup(_JapaneseHelp, typer.core.TyperGroup):
    pass


class JapaneseCommand(_JapaneseHelp, typer.core.TyperCommand):
    pass


app = typer.Typer(
    cls=JapaneseGroup,
    options_metavar="[オプション]",
    subcommand_metavar="コマンド [引数]...",
    name="annex",
    help="統合イノベーション戦略 別添の取りまとめ（様式の配布・提出物の検証・フィードバック・再掲の照合・統合・Word/PDF 出力）。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

WorkspaceOpt = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        metavar="フォルダ",
        help="作業フォルダ（config/・submissions/・output/ を置く場所）。省略時は現在のフォルダ。",
    ),
]


def _check_year(value: int | None) -> int | None:
    """A year as the annex writes it (2026): 「26」 or 「20266」 is a typo, not a year."""
    if value is not None and not 2000 <= value <= 2100:
        raise typer.BadParameter("西暦4桁で指定してください。例: 2026")
    return value


YearOpt = Annotated[
    int | None,
    typer.Option(
        "--year", "-y", metavar="年度", callback=_check_year, help="年度（西暦4桁。省略時は config/annex.yaml の year）。"
    ),
]


def say(message: str = "") -> None:
    typer.echo(message)


def _year_lock(ws: Workspace, year: int | None, job: str):
    """The lock `annex run` and intake hold too: one writer of output/<Y> and the ledger at a time.

    Every command that writes there takes it (import, distribute, validate, merge, lint, render,
    approve, status, mail --sent/--resend); those that only read (relisted, audit, mail's list,
    remind --dry-run) do not."""
    from annex.io.runlock import run_lock

    return run_lock(ws.archive, "run", ws.year(year), job)


@app.command("init", cls=JapaneseCommand, options_metavar="[オプション]", short_help="設定ファイル（config/）の雛形を作る")
def init_command(workspace: WorkspaceOpt = Path(".")) -> None:
    """作業フォルダに設定ファイル（config/）の雛形を作ります。既存のファイルは上書きしません。"""
    ws = Workspace.at(workspace)
    from annex.model.config import CONFIG_FILES, bundled_path

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


@app.command(
    "import", cls=JapaneseCommand, options_metavar="[オプション]", short_help="公表済みの別添を前年度マスターとして取り込む"
)
def import_command(
    file: Annotated[
        str,
        typer.Argument(
            metavar="ファイル",
            help="取り込む別添（JSON、または annex が出力した Word ファイル）。同梱の 2025 年版は bundled:annex_2025.json。",
        ),
    ],
    year: YearOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """公表済みの別添を、その年度のマスター（output/<年度>/master.json・master.xlsx）として取り込みます。"""
    ws = Workspace.at(workspace)
    from annex.workspace.master import import_into_workspace

    year = year if year is not None else ws.config.settings.baseline.year
    source = ws.source_file(file, relative_to=Path.cwd())
    if not source.is_file():
        raise AnnexError(f"ファイルが見つかりません: {file}")
    with _year_lock(ws, year, "annex import"):
        result, written = import_into_workspace(ws, source, year)
    counts = result.annex.counts()
    say(f"取込: {file}（{year}年度）")
    say(
        f"  項目数: 入力 {result.bullets_in} → 出力 {result.bullets_out}（実施状況 {counts['status']}、今後の方針 {counts['policy']}）"
    )
    say(
        f"  章 {counts['chapters']}・節 {counts['sections']}・行 {counts['rows']}・再掲 {counts['relisted']}・脚注 {counts['footnotes']}・略称 {counts['abbreviations']}"
    )
    say(f"  新たに付けた項目ID: {result.ids_assigned}")
    if result.warnings:
        say(f"  警告 {len(result.warnings)} 件（表記ゆれ・略称表にないタグ）:")
        for w in result.warnings:
            say(f"    - {w.where}: {w.message}")
    for path in written:
        say(f"  出力: {path}")


@app.command(
    "distribute",
    cls=JapaneseCommand,
    options_metavar="[オプション]",
    short_help="府省ごとの記入シート（Excel）を作る（--send でメール送付）",
)
def distribute_command(
    year: YearOpt = None,
    workspace: WorkspaceOpt = Path("."),
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help="作成した記入シートを各府省にメールで送付します（府省ごとに1回まで。メールサーバー未設定なら .eml に保存）。",
        ),
    ] = False,
) -> None:
    """前年度のマスターから、府省ごとの記入シート（output/<年度>/templates/<府省名>_<年度>別添記入シート.xlsx）を作成します。"""
    ws = Workspace.at(workspace)
    from annex.workspace.distribute import distribute_year

    with _year_lock(ws, year, "annex distribute"):
        result = distribute_year(ws, year)
    say(f"記入シートの作成: {result.year}年度（元: {result.master}）")
    for t in result.templates:
        say(f"  {t.ministry}（{t.name}）: {t.path}  記載 {t.lines} 行（うち自府省担当 {t.owned}）・空き行 {t.spare}")
        for warning in t.warnings:
            say(f"    警告: {warning}")
    say(f"  計 {len(result.templates)} 府省、警告 {len(result.warnings)} 件")
    if send:
        _send_templates(ws, result)


def _send_templates(ws: Workspace, result) -> None:
    from annex.workspace import notify

    if reason := notify.smtp_unreachable(ws.config.settings.smtp):
        raise AnnexError(f"記入シートを送付できません: {reason}", hint="config/annex.yaml の smtp を確認してください")
    outcomes = notify.send_templates(ws, result, notify.default_mailer(ws, result.year))
    say(f"提出依頼の送付（{len(outcomes)} 府省。事務局の記入シートは送りません）:")
    for abbr, outcome in outcomes.items():
        contacts = ", ".join(ws.config.ministry_by_abbr[abbr].contacts)
        say(f"  - {abbr}: {notify.REQUEST_OUTCOME_JA[outcome]}" + (f"（宛先: {contacts}）" if contacts else ""))
    if notify.saves_to_files(ws):
        say(
            f"  メールサーバーが設定されていないため、メールは {notify.mail_folder(ws, result.year)} に .eml ファイルとして保存しました"
            "（送信するには config/annex.yaml の smtp.host を設定してください）"
        )
    if {"failed", "deferred", "uncertain"} & set(outcomes.values()):
        sys.exit(1)  # a template did not (or may not have) reach its ministry: a person looks


@app.command(
    "validate", cls=JapaneseCommand, options_metavar="[オプション]", short_help="提出ファイルを検証し、フィードバックを作る"
)
def validate_command(
    files: Annotated[list[Path], typer.Argument(metavar="ファイル", help="検証する提出ファイル（複数可）。")],
    year: YearOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """提出ファイルを検証し、結果を表示して output/<年度>/feedback/ に検証結果ファイルを書きます（台帳・メールなし）。差戻しがあれば終了コード 1。"""
    ws = Workspace.at(workspace)
    from annex.intake.archive import readable_name
    from annex.workspace.collect import feedback_folder, feedback_name, validate_files

    missing = [f for f in files if not f.expanduser().is_file()]
    if missing:
        raise AnnexError(f"ファイルが見つかりません: {', '.join(str(m) for m in missing)}")
    year = ws.year(year)
    with _year_lock(ws, year, "annex validate"):  # it writes output/<Y>/feedback/
        submissions = validate_files(ws, year, [f.expanduser().resolve() for f in files])
    rejected = held = 0
    for path, sub in zip(files, submissions):
        rejected += sub.verdict == "差戻し"
        path = Path(readable_name(str(path.parent))[0]) / sub.file  # as read: a Shift_JIS name cannot be printed raw
        held += sub.held
        say(f"{path}: {sub.verdict}（府省 {sub.ministry or '不明'}・エラー {len(sub.errors)} 件・警告 {len(sub.warnings)} 件）")
        for issue in sub.issues:
            loc = issue.location
            where = f"{loc.sheet}!{loc.cell}" if loc.sheet and loc.cell else (loc.sheet or "-")
            kind = "エラー" if issue.severity == "error" else "警告"
            say(f"  {kind} {loc.file} / {where} / {loc.item_id or '-'} / {issue.rule} / {issue.message}")
        if sub.held:
            say("  判定を保留しました（処理側の問題です。もう一度実行してください）")
        else:
            say(f"  検証結果: {feedback_folder(ws, year) / feedback_name(ws, sub)}")
    on_hold = f"・保留 {held} 件" if held else ""
    say(f"計 {len(submissions)} 件: 受理 {len(submissions) - rejected - held} 件・差戻し {rejected} 件{on_hold}")
    if rejected or held:
        sys.exit(1)  # typer.Exit would be swallowed by main()'s non-standalone mode


VerboseOpt = Annotated[bool, typer.Option("--verbose", help="Prefect 自身のログも表示します。")]


class _StdoutHandler(logging.StreamHandler):
    """Progress lines to whatever sys.stdout is when a line is written: the command may run more than
    once in one process (the tests, a caller replacing stdout), and the stream it first saw may be closed."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout  # not setStream: it would flush the old stream, perhaps closed
        super().emit(record)


def _prepare_prefect(verbose: bool, api_url: str | None = None) -> None:
    """Before prefect is imported: a start-up timeout a loaded machine meets, Prefect's own lines quiet.

    Progress comes from the flows' "annex.progress" logger, printed here as plain Japanese lines.
    """
    import os

    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")  # the default 20 s is too tight
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if api_url:  # the server a paused run waits on, unless PREFECT_API_URL names one already
        os.environ.setdefault("PREFECT_API_URL", api_url)
    if verbose:
        os.environ["PREFECT_LOGGING_LEVEL"] = "INFO"
    else:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    progress = logging.getLogger("annex.progress")
    if not progress.handlers:
        handler = _StdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        progress.addHandler(handler)
        progress.setLevel(logging.INFO)
        progress.propagate = False
    from flows.server import start_temporary_server

    # when no server is configured: it boots while the command imports its flows
    temporary = start_temporary_server()
    if api_url:
        return  # a paused run resumed on the server it waits on (annex approve): nothing runs here
    if temporary:
        say("Prefect の一時サーバーを起動しています（10〜20 秒かかります）…")
    else:
        say(f"Prefect サーバー {os.environ.get('PREFECT_API_URL') or _profile_api_url()} で実行します")


def _profile_api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or ""


def _quiet_run_loggers(verbose: bool) -> None:
    """After prefect is imported (it configures its loggers then): without --verbose, a failed
    task's traceback is not printed by Prefect. What the run handles (a file's validation that
    failed) is said in its own line; what it does not (an AnnexError: one エラー: line, anything
    else: Python's traceback) still reaches the top. The Prefect UI keeps every state either way."""

    if not verbose:
        for name in ("prefect.task_runs", "prefect.flow_runs"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


@app.command("run", cls=JapaneseCommand, options_metavar="[オプション]", short_help="年次の取りまとめを実行する（Prefect）")
def run_command(
    year: YearOpt = None,
    workspace: WorkspaceOpt = Path("."),
    task_runner: Annotated[
        str,
        typer.Option(
            "--task-runner",
            metavar="thread|dask",
            help="検証の実行方法: thread（既定、1台で並行）または dask（Dask クラスタで並列）。",
        ),
    ] = "thread",
    dask_address: Annotated[
        str | None,
        typer.Option(
            "--dask-address", metavar="アドレス", help="既存の Dask クラスタのアドレス（tcp://…）。省略時はローカルに起動します。"
        ),
    ] = None,
    review: Annotated[
        bool,
        typer.Option(
            "--review",
            help="公開の前で止め、事務局の承認を待ちます（annex approve で公開、または --send-back で差戻し）。",
        ),
    ] = False,
    verbose: VerboseOpt = False,
) -> None:
    """年次の取りまとめ（annual-consolidation）を実行します: 収集 → 検証 → フィードバック → 再掲照合 → 統合 → Word/PDF → 公開（output/<年度>/published/）。"""
    if task_runner not in ("thread", "dask"):
        raise typer.BadParameter("thread または dask を指定してください", param_hint="--task-runner")
    _prepare_prefect(verbose)
    from flows.annual import run_annual

    _quiet_run_loggers(verbose)
    summary = run_annual(Workspace.at(workspace), year, task_runner=task_runner, dask_address=dask_address, review=review)
    for line in summary["lines"]:
        say(line)


@app.command(
    "approve", cls=JapaneseCommand, options_metavar="[オプション]", short_help="承認待ちの出力を公開する（または差し戻す）"
)
def approve_command(
    year: YearOpt = None,
    workspace: WorkspaceOpt = Path("."),
    send_back: Annotated[
        str | None,
        typer.Option(
            "--send-back",
            metavar="コメント",
            help="承認せずに差し戻します（理由を書いてください）。前回の公開はそのまま残ります。",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", metavar="氏名", help="確認者の名前（公開の記録に残ります。省略時はログイン名）。"),
    ] = None,
) -> None:
    """承認待ちの実行（annex run --review、または本番の Prefect サーバーで一時停止中の実行）の出力を、確認したとおり（ハッシュで照合）output/<年度>/published/ に公開します。"""
    import getpass

    from annex.workspace import approval

    ws = Workspace.at(workspace)
    year = ws.year(year)
    if send_back is not None and not send_back.strip():
        raise AnnexError("--send-back には差し戻す理由を書いてください", hint='例: --send-back "文の記載を確認してください"')
    who = f"annex approve（{by or getpass.getuser()}）"
    lines = None
    with _year_lock(ws, year, "annex approve"):  # the request read and decided while no one else writes
        record = approval.waiting_record(ws, year)
        if record["waits_in"] != approval.IN_PREFECT:
            lines = approval.decide(ws, year, record, send_back_comment=send_back, by=who)
    if lines is None:  # the paused run publishes, under the lock it takes itself (so not held here)
        _prepare_prefect(False, api_url=record.get("api_url"))
        from flows.approval import resume

        lines = resume(ws, year, record, send_back_comment=send_back, by=who)
        if lines is None:
            say(
                f"Prefect の実行 {record['flow_run_id']} はもう承認を待っていません。記録されたファイル（ハッシュ）をもとに、ここで判断を反映します"
            )
            with _year_lock(ws, year, "annex approve"):
                lines = approval.decide(ws, year, record, send_back_comment=send_back, by=who)
    for line in lines:
        say(line)


@app.command("remind", cls=JapaneseCommand, options_metavar="[オプション]", short_help="未提出・差戻しの府省庁に督促メールを送る")
def remind_command(
    at: Annotated[
        str | None,
        typer.Option("--at", metavar="日時", help="この日時の時点で督促します（例: 2026-05-20T09:00+09:00。省略時は現在）。"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="送信せず、督促の対象と理由を表示します。")] = False,
    year: YearOpt = None,
    workspace: WorkspaceOpt = Path("."),
    verbose: VerboseOpt = False,
) -> None:
    """未提出・差戻し中の府省庁に督促メールを送ります（同じ回には1府省1通まで。締切後は事務局を Cc）。"""
    ws = Workspace.at(workspace)
    from annex.notify.reminders import parse_instant
    from annex.workspace.notify import preview

    moment = parse_instant(at)
    if dry_run:
        for line in preview(ws, ws.year(year), moment).lines():
            say(line)
        return
    _prepare_prefect(verbose)
    from flows.reminders import send_reminders
    from flows.server import check_api_reachable

    _quiet_run_loggers(verbose)
    check_api_reachable()  # a configured server that does not answer: one line, before any work
    for line in send_reminders(str(ws.root), ws.year(year), moment.isoformat())["lines"]:
        say(line)


@app.command(
    "mail", cls=JapaneseCommand, options_metavar="[オプション]", short_help="届いたか不明なメールを一覧し、確認の結果を記録する"
)
def mail_command(
    sent: Annotated[
        str | None,
        typer.Option("--sent", metavar="Message-ID", help="メールサーバーの記録で届いていたメールを「送信済み」と記録します。"),
    ] = None,
    resend: Annotated[
        str | None,
        typer.Option(
            "--resend",
            metavar="Message-ID",
            help="届いていなかったメールを「未送信」と記録します（次回の実行で1回だけ送ります）。",
        ),
    ] = None,
    year: YearOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """送信記録（outbox）のうち、届いたか不明なメール（要確認）と送れなかったメールを一覧します。メールサーバーの記録で確かめたら --sent / --resend で結果を記録します。"""
    ws = Workspace.at(workspace)
    from annex.notify.outbox import Outbox
    from annex.notify.reminders import check_lines
    from annex.workspace.notify import resolve_message

    year = ws.year(year)
    if sent and resend:
        raise AnnexError("--sent と --resend は同時に指定できません")
    if sent or resend:
        with _year_lock(ws, year, "annex mail"):  # it changes the outbox; the list below only reads
            entry = resolve_message(ws, year, sent or resend or "", delivered=bool(sent))
        outcome = "送信済みと記録しました（再送しません）" if sent else "未送信と記録しました（次回の実行で1回だけ送ります）"
        say(f"{entry.message_id}（{entry.ministry} {entry.slot}、宛先 {entry.recipients}）: {outcome}")
        return
    with Outbox.open(ws.ledger_url) as outbox:
        check = outbox.to_check(year)
        failed = outbox.entries(year, state="failed")
    say(f"メールの送信記録（{year}年度）: 要確認 {len(check)} 件・未送信 {len(failed)} 件")
    for line in check_lines(check):
        say(line)
    for e in failed:
        say(f"  未送信: {e.ministry} {e.slot}（{e.message_id}、宛先 {e.recipients}）— {e.error}（次回の実行で送ります）")


@app.command(
    "status", cls=JapaneseCommand, options_metavar="[オプション]", short_help="府省庁ごとの提出状況を表示し、Excel に書き出す"
)
def status_command(
    at: Annotated[
        str | None,
        typer.Option("--at", metavar="日時", help="この日時の時点の状況（例: 2026-05-30T09:00+09:00。省略時は現在）。"),
    ] = None,
    year: YearOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """府省庁ごとに、記入シートの送付・最終提出（日時・版）・判定・未解決の指摘・督促の回数・締切までの日数を表示し、output/<年度>/status.xlsx と status.html（グラフ付きの1ページ）に書き出します。"""
    ws = Workspace.at(workspace)
    from annex.notify.reminders import parse_instant
    from annex.workspace.status import status_report, write_status_workbook
    from annex.workspace.status_page import write_status_page

    moment = parse_instant(at)
    with _year_lock(ws, year, "annex status"):  # it writes output/<Y>/status.xlsx and status.html
        report = status_report(ws, ws.year(year), moment)
        for line in report.lines():
            say(line)
        say(f"  出力: {write_status_workbook(ws, report)}")
        say(f"  出力: {write_status_page(ws, report)}")


@app.command(
    "lint", cls=JapaneseCommand, options_metavar="[オプション]", short_help="マスターの表記（公用文・表記ゆれ）を確認する"
)
def lint_command(year: YearOpt = None, workspace: WorkspaceOpt = Path(".")) -> None:
    """マスター（別添全体）の表記を確認し、規則ごとの件数を表示して output/<年度>/lint.json と lint.xlsx に書き出します（記載は変更しません）。"""
    ws = Workspace.at(workspace)
    from annex.workspace.lint import lint_year

    with _year_lock(ws, year, "annex lint"):  # it writes output/<Y>/lint.json and lint.xlsx
        result = lint_year(ws, ws.year(year))
    for line in result.lines():
        say(line)
    for path in result.paths:
        say(f"  出力: {path}")


@app.command(
    "serve", cls=JapaneseCommand, options_metavar="[オプション]", short_help="フローをスケジュール付きで登録・待ち受ける"
)
def serve_command(workspace: WorkspaceOpt = Path("."), verbose: VerboseOpt = False) -> None:
    """フローをスケジュール付きで登録し、実行を待ち受けます（intake: 受付期間中15分ごと、reminders: 平日9時、日本時間）。"""
    _prepare_prefect(verbose)
    from flows.deploy import serve_workspace
    from flows.server import check_api_reachable

    check_api_reachable()

    say(
        "登録: annual-consolidation / distribute（手動）、intake（*/15 * * * *）、reminders（0 9 * * 1-5）— Asia/Tokyo。Ctrl+C で停止します。"
    )
    serve_workspace(Workspace.at(workspace))


@app.command("render", cls=JapaneseCommand, options_metavar="[オプション]", short_help="マスターから別添の Word と PDF を作る")
def render_command(
    year: YearOpt = None,
    workspace: WorkspaceOpt = Path("."),
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="PDF も作るか（既定: 作る。LibreOffice が必要）。")] = True,
    timeout: Annotated[int, typer.Option("--timeout", metavar="秒", help="PDF 変換の制限時間（秒）。")] = 300,
) -> None:
    """その年度のマスター（output/<年度>/master.json）から別添の Word（annex.docx）と PDF（annex.pdf）を作ります。"""
    ws = Workspace.at(workspace)
    from annex.workspace.render import render_year

    year = ws.year(year)
    with _year_lock(ws, year, "annex render"):
        result = render_year(ws, year, pdf=pdf, timeout=timeout)
    say(f"別添を出力しました（{year}年度）: 表 {result.tables}・脚注 {result.footnotes}")
    for path in result.written:
        say(f"  出力: {path}")
    if result.redline_path is not None:
        say(f"  変更履歴: {result.redline_revisions} 件（annex-redline.docx を Word の「校閲」で承諾・元に戻す）")
    else:
        say(f"  変更履歴（annex-redline.docx）は作成していません: {year - 1}年度のマスターがありません")
    if result.pdf_produced:
        say(f"  PDF: {result.pages} ページ（{result.seconds.get('pdf', 0):.1f} 秒）")
    else:
        say(f"  PDF は作成していません: {result.pdf_reason}")
        if result.removed_stale_pdf:
            say("  （Word ファイルと食い違わないよう、前回の annex.pdf は削除しました）")
    for warning in result.warnings:
        say(f"  警告: {warning}")


@app.command(
    "merge", cls=JapaneseCommand, options_metavar="[オプション]", short_help="提出物を前年度マスターに統合する（Prefect なし）"
)
def merge_command(
    year: YearOpt = None,
    workspace: WorkspaceOpt = Path("."),
    feedback: Annotated[
        bool,
        typer.Option(
            "--feedback/--no-feedback", help="検証結果のフィードバック（Excel）も作るか（既定: 作る。メールは送りません）。"
        ),
    ] = True,
) -> None:
    """提出物を収集・検証し、受理された最新版を前年度のマスターに統合して、その年度のマスターと変更・再掲の記録を作ります（Prefect もメールも使いません）。"""
    ws = Workspace.at(workspace)
    from annex.workspace.merge import merge_year

    year = ws.year(year)
    with _year_lock(ws, year, "annex merge"):
        summary = merge_year(ws, year, feedback=feedback)
    c, r = summary.counts, summary.relisted
    say(f"統合しました（{year}年度）: 前年度のマスター {summary.previous_source}")
    for line in [*summary.inbox, *summary.to_check]:
        say(f"  {line}")
    say(f"  反映した提出物: {len(summary.merged_files)} 府省")
    say(
        f"  新規 {c['added']}・修正 {c['modified']}・削除 {c['deleted']}・前年度のまま {c['carried']}（うち未更新 {c['not_updated']}）・前文の変更 {c['preamble']}"
    )
    if summary.result.carried_over:
        say(
            f"  提出のない（または未受理の）府省: {'、'.join(summary.result.carried_over)} — 記載は前年度のまま「未更新」としました"
        )
    say(f"  競合 {c['conflicts']} 件・反映しなかった行 {c['not_merged']} 件")
    for ministry, path in summary.conflict_feedback.items():
        say(f"  統合時の調整を記載: {ministry} → {path}")
    for choice in summary.versions:
        say(f"  提出版: {choice.line()}")
    say(
        f"  再掲 {r['relisted']} 件: 一致 {r['exact']}・近似（提案）{r['near']}・他の再掲とのみ同文 {r['copies_only']}・元なし {r['no_original']}"
        f"／元の修正を反映 {r['synced']}・食い違いを元に戻した {r['drift_reverted']}"
    )
    for path in summary.written:
        say(f"  出力: {path}")
    for warning in summary.warnings:
        say(f"  警告: {warning}")


@app.command("relisted", cls=JapaneseCommand, options_metavar="[オプション]", short_help="（再掲）と元の記載の対応を集計する")
def relisted_command(
    year: YearOpt = None,
    workspace: WorkspaceOpt = Path("."),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="再掲ごとの判定と理由も表示します。")] = False,
) -> None:
    """その年度のマスターの（再掲）が元の記載とどう対応するか（一致・近似・元なし）を集計して表示します。ファイルは書きません。"""
    ws = Workspace.at(workspace)
    from annex.merge.reconcile import KIND_LABELS, LINK_KINDS
    from annex.workspace.merge import relisted_report

    year = ws.year(year)
    result, source = relisted_report(ws, year)
    f = result.figures
    say(f"再掲の照合（{year}年度: {source}）")
    say(f"  （再掲）の項目: {f['relisted']}（うち取組 {f['measures']}）")
    say(
        f"  元の記載と一致: {f['exact']}（再掲元項目ID {f['exact_id']}・同文 {f['exact_text']}・再掲の再掲 {f['chain_resolved']}）"
    )
    say(f"  近似一致（事務局に提案、未適用）: {f['near']}")
    say(f"  他の再掲とのみ同文（元はこの別添の外）: {f['copies_only']}")
    say(f"  元の記載がこの別添にない: {f['no_original']}")
    say(
        f"  循環（拒否）: {f['cycle_refused']}・元と食い違い: {f['drift_reverted']}・（再掲）の印のない同文: {f['unmarked_duplicate']}"
    )
    if verbose:
        for d in result.decisions:
            if d.kind in LINK_KINDS or d.kind in ("drift_reverted", "unmarked_duplicate"):
                say(f"  - {d.item_id}: {KIND_LABELS[d.kind]} — {d.reason}")


@app.command("audit", cls=JapaneseCommand, options_metavar="[オプション]", short_help="マスターの1項目の出どころを台帳から示す")
def audit_command(
    item_id: Annotated[str, typer.Argument(metavar="項目ID", help="調べる項目ID（例: 4-（１）-01-P71）。")],
    year: YearOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """マスターの1項目について、どの府省のどのファイル（SHA-256）の何行目から来たか、受付日時と判定を台帳から表示します。"""
    ws = Workspace.at(workspace)
    from annex.workspace.audit import audit_lines

    for line in audit_lines(ws, ws.year(year), item_id):
        say(line)


# `annex --help` lists the commands in the order of the year's work, not of their definition.
YEAR_ORDER = (
    "init",
    "import",
    "distribute",
    "validate",
    "merge",
    "relisted",
    "lint",
    "render",
    "run",
    "approve",
    "remind",
    "mail",
    "status",
    "audit",
    "serve",
)
app.registered_commands.sort(key=lambda command: YEAR_ORDER.index(command.name))


# typer ships its own copy of click (typer._click): its usage errors are these, not click's.
_CLICK_ERRORS = (typer_click_exceptions.ClickException, click.exceptions.ClickException)


def _nearest(word: str, choices: list[str]) -> str | None:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return match[0] if match else None


def usage_message(exc: Exception, argv: list[str]) -> str:
    """A click usage error as one Japanese line: what was wrong, the nearest command or option,
    and where to read the usage."""
    commands = list(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    command = next((a for a in argv if a in commands), None)
    help_hint = f"annex {command} --help" if command else "annex --help"
    kind = type(exc).__name__
    if kind == "NoArgsIsHelpError":
        return f"コマンドを指定してください（{'、'.join(commands)}）。使い方は annex --help で表示します"
    if kind == "NoSuchOption":
        option = getattr(exc, "option_name", "")
        near = (getattr(exc, "possibilities", None) or [None])[0]
        guess = f"（「{near}」のことですか）" if near else ""
        return f"オプション「{option}」はありません{guess}。使い方は {help_hint} で表示します"
    if kind == "MissingParameter":
        param = getattr(exc, "param", None)
        opts = list(getattr(param, "opts", None) or [])
        name = (
            opts[0]
            if opts and opts[0].startswith("-")
            else getattr(param, "metavar", None) or (getattr(param, "name", None) or "引数").upper()
        )
        return f"「{name}」を指定してください。使い方は {help_hint} で表示します"
    if kind == "BadParameter":
        param = getattr(exc, "param", None)
        name = param.opts[0] if param is not None and param.opts else "値"
        value = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if param is not None and a in param.opts), None)
        shown = f"「{value}」" if value is not None else ""
        said = str(getattr(exc, "message", exc))
        integer = "integer" in said.lower()  # typer's own message names the type
        ours = not said.isascii()  # a check of ours (_check_year) says what is wrong, in Japanese
        expected = said if ours else "整数が必要です" if integer else "値を確認してください"
        return f"{name} の値{shown}が正しくありません（{expected}）。使い方は {help_hint} で表示します"
    message = getattr(exc, "message", str(exc))
    if kind == "BadOptionUsage" and "requires an argument" in message:
        option = message.split("'")[1] if "'" in message else "オプション"
        return f"{option} の値を指定してください（例: {option} …）。使い方は {help_hint} で表示します"
    if message.startswith("No such command"):
        typed = message.split("'")[1] if "'" in message else ""
        near = _nearest(typed, commands)
        guess = f"（「{near}」のことですか）" if near else ""
        return f"コマンド「{typed}」はありません{guess}。コマンドの一覧は annex --help で表示します"
    return f"コマンドの指定が正しくありません（{message}）。使い方は {help_hint} で表示します"


def main(argv: list[str] | None = None) -> None:
    """Entry point: expected failures print one Japanese line and exit non-zero; no traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    quiet_disk_errors_in_finalizers()
    try:
        app(args=args, prog_name="annex", standalone_mode=False)
    except AnnexError as exc:
        typer.echo(f"エラー: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("中断しました。", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except _CLICK_ERRORS as exc:  # usage errors arrive here in non-standalone mode
        typer.echo(f"エラー: {usage_message(exc, args)}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
