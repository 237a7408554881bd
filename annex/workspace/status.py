"""annex status: where each ministry stands this year — template sent, last submission, verdict,
open issues, reminders sent, days to the deadline — read from the ledger and the outbox, for the
terminal and as output/<Y>/status.xlsx."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from annex.io.files import write_atomically
from annex.io.xlsx import Sheet, write_tables
from annex.model.labels import JST, format_instant
from annex.notify.mail import eml_name
from annex.notify.outbox import Outbox
from annex.notify.reminders import HELD, slots
from annex.workspace.layout import Workspace
from annex.workspace.notify import REQUEST_SLOT, expected_ministries, mail_folder

# A file gets its ministry when it is validated, or when it is held (保留: no verdict yet, the
# machine failed) and its ministry could be told: "received" with a ministry is a held file.
VERDICT_JA = {"accepted": "受理", "accepted_with_warnings": "受理（警告あり）", "rejected": "差戻し", "received": HELD}
VERDICTS = ("受理", "受理（警告あり）", "差戻し", HELD, "未提出")
HEADERS = (
    "略称",
    "府省庁",
    "記入シートの送付",
    "最終提出",
    "版",
    "ファイル",
    "判定",
    "統合に使う版",
    "未解決の指摘",
    "督促",
    "締切まで",
)


@dataclass(frozen=True)
class MinistryRow:
    abbr: str
    name: str
    template_sent: str  # 送信済み（日時） / 未送付 / 送信失敗 …
    last_received: str  # 日時, or 「—」
    version: str  # 第2版
    file: str  # the name the ministry gave it (no folder)
    verdict: str  # 受理 / 受理（警告あり） / 差戻し / 保留（検証待ち） / 未提出
    in_use: str  # the accepted version merged, or 「—」
    open_issues: str  # エラー 4件・警告 1件 / なし / —
    reminders: str  # 2回（最終: 締切1日前）/ なし
    to_deadline: str  # あと3日 / 本日締切 / 締切を過ぎています（1日経過） / 受理済み

    def values(self) -> tuple[str, ...]:
        return (
            self.abbr,
            self.name,
            self.template_sent,
            self.last_received,
            self.version,
            self.file,
            self.verdict,
            self.in_use,
            self.open_issues,
            self.reminders,
            self.to_deadline,
        )


@dataclass(frozen=True)
class StatusReport:
    year: int
    at: dt.datetime
    deadline: dt.datetime
    rows: list[MinistryRow]
    pending: list[str]  # files received but not yet validated whose ministry is not known yet

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.rows if r.verdict == verdict)

    def lines(self) -> list[str]:
        head = f"提出状況 {self.year}年度（{format_instant(self.at)} 時点・提出締切 {format_instant(self.deadline)}: {time_to_deadline(self.deadline, self.at)}）"
        lines = [head]
        for r in self.rows:
            lines.append(f"  {r.abbr}（{r.name}）: {r.verdict}")
            lines.append(
                f"      記入シート {r.template_sent}／最終提出 {r.last_received} {r.version} {r.file}／統合に使う版 {r.in_use}"
            )
            lines.append(f"      未解決の指摘 {r.open_issues}／督促 {r.reminders}／締切まで {r.to_deadline}")
        counts = "・".join(f"{v} {self.count(v)}" for v in VERDICTS)
        lines.append(f"  計 {len(self.rows)} 府省庁: {counts}")
        if self.pending:
            lines.append(f"  検証待ちのファイル {len(self.pending)} 件（府省は検証後に分かります）: {'、'.join(self.pending)}")
        return lines


def time_to_deadline(deadline: dt.datetime, at: dt.datetime) -> str:
    """Counted in Japan-time days, as the reminders count them."""
    days = (deadline.astimezone(JST).date() - at.astimezone(JST).date()).days
    if at >= deadline:
        return "締切を過ぎています" + (f"（{-days}日経過）" if days < 0 else "")
    return f"あと{days}日" if days > 0 else "本日締切"


def status_report(workspace: Workspace, year: int, at: dt.datetime) -> StatusReport:
    config = workspace.config
    expected = expected_ministries(workspace, year)
    with workspace.open_ledger() as ledger:
        entries = ledger.entries(year)
    with Outbox.open(workspace.ledger_url) as outbox:
        sent = outbox.entries(year)
    labels = {s.key: s.label for s in slots(config.settings)}
    submitted = {e.ministry for e in entries if e.ministry}
    rows = []
    for ministry in config.ministries:
        abbr = ministry.abbr
        if abbr not in expected and abbr not in submitted and abbr != config.secretariat.abbr:
            continue
        own = [e for e in entries if e.ministry == abbr]  # in order of receipt
        last = own[-1] if own else None
        accepted = [e for e in own if e.accepted]
        request = next((e for e in sent if e.ministry == abbr and e.slot == REQUEST_SLOT), None)
        reminders = [e for e in sent if e.ministry == abbr and e.slot in labels and e.state == "sent"]
        if abbr == config.secretariat.abbr:
            template_sent = "事務局（送付しません）"
        elif request is None:
            template_sent = "未送付" if ministry.contacts else "未送付（宛先未登録）"
        else:
            saved = request.state == "sent" and (mail_folder(workspace, year) / eml_name(request.message_id)).exists()
            state = "保存済み（.eml）" if saved else request.state_ja
            template_sent = f"{state}（{format_instant(_aware(request.updated_at))}）"
        verdict = VERDICT_JA[last.status] if last else "未提出"
        if last is not None and last.status == "received" and accepted:  # held beside an accepted version, still in use
            verdict = VERDICT_JA[accepted[-1].status]
        if last is None:
            issues = "—"
        elif last.status == "received":
            issues = f"{HELD}（処理側の問題。次回の実行で検証します）"
        else:
            parts = [f"エラー {last.errors}件"] if last.errors else []
            parts += [f"警告 {last.warnings}件"] if last.warnings else []
            issues = "・".join(parts) or "なし"
        rows.append(
            MinistryRow(
                abbr=abbr,
                name="・".join(ministry.names),
                template_sent=template_sent,
                last_received=format_instant(_aware(last.received_at)) if last else "—",
                version=f"第{last.version}版" if last and last.version else "—",
                file=Path(last.path).name if last else "—",
                verdict=verdict,
                in_use=f"第{accepted[-1].version}版" if accepted and accepted[-1].version else "—",
                open_issues=issues,
                reminders=f"{len(reminders)}回（最終: {labels[max(reminders, key=lambda e: e.updated_at).slot]}）"
                if reminders
                else "なし",
                to_deadline="受理済み" if accepted else time_to_deadline(config.settings.deadline, at),
            )
        )
    pending = [Path(e.path).name for e in entries if e.status == "received" and not e.ministry]
    return StatusReport(year, at, config.settings.deadline, rows, pending)


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back the UTC instants it was given without their zone
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def status_workbook_path(workspace: Workspace, year: int) -> Path:
    return workspace.output(year) / "status.xlsx"


def write_status_workbook(workspace: Workspace, report: StatusReport) -> Path:
    """output/<Y>/status.xlsx: one line per ministry, the same words as the terminal."""
    widths = {
        "府省庁": 36,
        "記入シートの送付": 34,
        "最終提出": 26,
        "ファイル": 30,
        "未解決の指摘": 22,
        "督促": 26,
        "締切まで": 26,
    }
    table = Sheet("提出状況", HEADERS, [r.values() for r in report.rows], widths)
    about = Sheet(
        "概要",
        ("項目", "内容"),
        [
            ("年度", f"{report.year}年度"),
            ("時点", format_instant(report.at)),
            ("提出締切", f"{format_instant(report.deadline)} — {time_to_deadline(report.deadline, report.at)}"),
            *((verdict, f"{report.count(verdict)} 府省庁") for verdict in VERDICTS),
            ("検証待ちのファイル", "、".join(report.pending) or "なし"),
        ],
        {"項目": 16, "内容": 50},
    )
    path = status_workbook_path(workspace, report.year)
    return write_atomically(path, lambda p: write_tables(p, [table, about]))
