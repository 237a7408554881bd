"""Which version of each ministry's return is merged, and which are set aside — said to the
secretariat (merge's lines, run.json) and to the ministry (a sheet 提出版 in its feedback workbooks).

The newest is decided by annex.intake.versions: the time received, then the time saved inside
the workbook; the newest *accepted* one is merged (a returned newer one leaves the earlier
accepted version in the annex, and its feedback says so already).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook

from annex.intake.ledger import LedgerEntry
from annex.intake.versions import saved_at
from annex.io.files import write_atomically
from annex.io.xlsx import BODY_FONT, FEEDBACK_HEADER_LOOK, WRAP, font, print_setup, row_height, set_text, write_header_row
from annex.model.labels import format_instant
from annex.notify.reminders import HELD
from annex.workspace.layout import Workspace

VERSIONS_SHEET = "提出版"
HEADERS = ("版", "ファイル名", "受付日時", "ブック内の保存日時", "判定", "扱い")
WIDTHS = (6, 44, 24, 24, 16, 40)
VERDICT_JA = {"accepted": "受理", "accepted_with_warnings": "受理（警告あり）", "rejected": "差戻し", "received": HELD}


@dataclass(frozen=True)
class Version:
    entry: LedgerEntry
    saved_at: dt.datetime | None  # the time saved inside the workbook (UTC), None if it has none
    used: bool

    @property
    def saved(self) -> str:
        return format_instant(self.saved_at) if self.saved_at else "記録なし"

    @property
    def name(self) -> str:
        return Path(self.entry.path).name

    @property
    def treatment(self) -> str:
        if self.used:
            return "統合に使用した版"
        if self.entry.accepted:
            return "使用せず（より新しい受理済みの版があるため）"
        if self.held:
            return f"使用せず（{HELD}: 処理側の問題で検証できず、次回の実行で検証します）"
        return "使用せず（差戻し）"

    @property
    def held(self) -> bool:
        """保留: recorded under its ministry without a verdict (annex.intake.ledger.record_held)."""
        return self.entry.status == "received"

    def describe(self) -> str:
        number = f"第{self.entry.version}版" if self.entry.version else "版番号は検証後"
        return f"「{self.name}」（{number}・受付 {format_instant(self.entry.received_at)}・保存 {self.saved}）"

    def to_dict(self) -> dict:
        return {
            "file": self.entry.path,
            "sha256": self.entry.sha256,
            "version": self.entry.version,
            "received_at": self.entry.received_at.isoformat(),
            "saved_at": self.saved_at.isoformat() if self.saved_at else None,
            "status": self.entry.status,
        }


@dataclass(frozen=True)
class VersionChoice:
    """A ministry that sent more than one version this year: the one merged and the others."""

    ministry: str
    versions: list[Version]  # in order of receipt

    @property
    def used(self) -> Version | None:
        return next((v for v in self.versions if v.used), None)

    @property
    def set_aside(self) -> list[Version]:
        return [v for v in self.versions if not v.used]

    def line(self) -> str:
        used = self.used
        head = f"{self.ministry}: {len(self.versions)} 版を受け取りました — "
        head += f"統合に使用 {used.describe()}" if used else "受理された版はありません"
        aside = "、".join(f"{v.describe()} — {v.treatment}" for v in self.set_aside)
        return f"{head}。使用しなかった版: {aside}" if aside else head

    def to_dict(self) -> dict:
        used = self.used
        return {
            "ministry": self.ministry,
            "note": self.line(),
            "used": used.to_dict() if used else None,
            "set_aside": [
                {**v.to_dict(), "reason": "older" if v.entry.accepted else "held" if v.held else "returned"}
                for v in self.set_aside
            ],
        }


def version_choices(workspace: Workspace, year: int) -> list[VersionChoice]:
    """Every ministry with two or more versions this year (validated or held), from the ledger."""
    with workspace.open_ledger() as ledger:
        entries = [e for e in ledger.entries(year) if e.ministry]
        newest = ledger.newest_accepted(year)
    by_ministry: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        by_ministry.setdefault(entry.ministry or "", []).append(entry)
    choices = []
    for ministry, mine in by_ministry.items():
        if len(mine) < 2:
            continue
        merged = newest.get(ministry)
        versions = [
            Version(e, saved_at(workspace.archive / e.archive_path), used=merged is not None and e.sha256 == merged.sha256)
            for e in mine
        ]
        choices.append(VersionChoice(ministry, versions))
    return choices


def add_versions_sheet(feedback_path: Path, choice: VersionChoice, this_sha256: str) -> None:
    """Put (or replace) the 提出版 sheet in one of the ministry's feedback workbooks."""
    wb = load_workbook(feedback_path)  # our own output: safe to open in-process
    if VERSIONS_SHEET in wb.sheetnames:
        del wb[VERSIONS_SHEET]
    ws = wb.create_sheet(VERSIONS_SHEET, index=1)
    ws.sheet_properties.tabColor = "5B9BD5"
    this = next(v for v in choice.versions if v.entry.sha256 == this_sha256)
    set_text(ws["A1"], f"提出版の扱い（{len(choice.versions)} 版を受け取りました）")
    ws["A1"].font = font(bold=True, size=12)
    used = choice.used
    if this.used:
        summary = "このファイルを別添の統合に使用しました。ほかの版は使用していません。"
    elif used:
        summary = f"このファイルは別添の統合に使用していません。使用したのは「{used.name}」です。"
    else:
        summary = "受理された版がないため、別添の記載は前年度のままです。"
    set_text(ws["A2"], summary + "最新の版は、受付日時、次にブック内の保存日時で判断しています。")
    ws["A2"].font = BODY_FONT
    write_header_row(ws, 4, HEADERS, WIDTHS, look=FEEDBACK_HEADER_LOOK)
    for r, v in enumerate(choice.versions, start=5):
        values = (
            f"第{v.entry.version}版",
            v.name + ("（このファイル）" if v is this else ""),
            format_instant(v.entry.received_at),
            v.saved,
            VERDICT_JA.get(v.entry.status, v.entry.status),
            v.treatment,
        )
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c)
            set_text(cell, value)
            cell.alignment, cell.font = WRAP, BODY_FONT
        ws.row_dimensions[r].height = row_height(zip(values, WIDTHS))
    ws.freeze_panes = "A5"
    print_setup(ws, title_rows="4:4", header=VERSIONS_SHEET, last_column=len(HEADERS), last_row=4 + len(choice.versions))
    write_atomically(feedback_path, wb.save)


def tell_versions(workspace: Workspace, year: int, folder: Path, slug_of) -> list[VersionChoice]:
    """Every ministry with several versions: its feedback workbooks (those that exist) get 提出版."""
    choices = version_choices(workspace, year)
    for choice in choices:
        for v in choice.versions:
            path = folder / f"{slug_of(choice.ministry)}-{v.entry.sha256[:12]}.xlsx"
            if path.exists():
                add_versions_sheet(path, choice, v.entry.sha256)
    return choices
