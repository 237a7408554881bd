"""Telling ministries about merge conflicts: a shared bullet that two owners edited differently.

Merge decides (the first-listed tag's version wins) and records both versions; here both
ministries are told, in their own feedback workbook (sheet 統合時の調整) and by e-mail.
"""

from __future__ import annotations

import hashlib
import zipfile
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from openpyxl import load_workbook

from annex.io.files import write_atomically
from annex.io.xlsx import BODY_FONT, FEEDBACK_HEADER_LOOK, WRAP, font, print_setup, row_height, set_text, write_header_row
from annex.merge.merge import Conflict
from annex.model.config import Config
from annex.notify.mail import compose_message

CONFLICT_SHEET = "統合時の調整"
HEADERS = ("項目ID", "行ID", "担当府省", "貴府省の提出内容", "他府省の提出内容", "採用した版", "理由")
WIDTHS = (13, 10, 12, 44, 44, 12, 34)  # printed one page wide on A4 landscape


def _rows(ministry: str, conflicts: list[Conflict]) -> list[tuple[str, ...]]:
    rows = []
    for c in conflicts:
        own = next((v for v in c.versions if v.ministry == ministry), None)
        others = [v for v in c.versions if v.ministry != ministry]
        rows.append(
            (
                c.item_id,
                c.row_id,
                "、".join(c.owners),
                (own.rendered or "（削除）") if own else "",
                "\n".join(f"{v.ministry}: {v.rendered or '（削除）'}" for v in others),
                "貴府省の版" if c.winner == ministry else f"{c.winner}の版",
                c.reason,
            )
        )
    return rows


def add_conflict_sheet(feedback_path: Path, ministry: str, conflicts: list[Conflict]) -> None:
    """Put (or replace) the 統合時の調整 sheet second in a feedback workbook annex wrote."""
    wb = load_workbook(feedback_path)  # our own output: safe to open in-process
    if CONFLICT_SHEET in wb.sheetnames:
        del wb[CONFLICT_SHEET]
    ws = wb.create_sheet(CONFLICT_SHEET, index=1)
    ws.sheet_properties.tabColor = "FFC000"
    set_text(ws["A1"], "統合時の調整（複数の府省が担当する記載を、府省ごとに異なる内容で修正したもの）")
    ws["A1"].font = font(bold=True, size=12)
    set_text(
        ws["A2"],
        "担当府省の欄で先に記載されている府省の版を採用しました。内容の調整が必要な場合は、関係府省と相談のうえ事務局にご連絡ください。",
    )
    ws["A2"].font = BODY_FONT
    write_header_row(ws, 4, HEADERS, WIDTHS, look=FEEDBACK_HEADER_LOOK)
    rows = _rows(ministry, conflicts)
    for r, values in enumerate(rows, start=5):
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c)
            set_text(cell, value)
            cell.alignment, cell.font = WRAP, BODY_FONT
        ws.row_dimensions[r].height = row_height(zip(values, WIDTHS))
    ws.freeze_panes = "A5"
    print_setup(ws, title_rows="4:4", header=CONFLICT_SHEET, last_column=len(HEADERS), last_row=4 + max(1, len(rows)))
    write_atomically(feedback_path, wb.save)


def has_sheet(path: Path, name: str) -> bool:
    """Cheap check (no openpyxl): is a sheet of that name listed in xl/workbook.xml?"""
    with zipfile.ZipFile(path) as archive:
        return f"name={quoteattr(name)}".encode() in archive.read("xl/workbook.xml")


def remove_sheet(path: Path, name: str) -> None:
    wb = load_workbook(path)
    del wb[name]
    write_atomically(path, wb.save)


def notice_slot(ministry: str, conflicts: list[Conflict]) -> str:
    """The outbox slot: the same conflicts are announced once, a new set is announced again."""
    key = "|".join(sorted(f"{c.item_id}:{c.winner}:{[v.rendered for v in c.versions]}" for c in conflicts))
    return f"conflict-{hashlib.sha256(f'{ministry}|{key}'.encode()).hexdigest()[:16]}"


def compose_conflict_email(
    config: Config, templates: Any, ministry_abbr: str, conflicts: list[Conflict], feedback_path: Path | None
) -> EmailMessage:
    ministry = config.ministry_by_abbr[ministry_abbr]
    if not ministry.contacts:
        raise ValueError(f"{ministry_abbr} の連絡先が config/ministries.yaml にありません")
    context = {
        "title": config.settings.title,
        "year": config.year,
        "ministry_name": "・".join(ministry.names),
        "rows": [
            dict(zip(("item_id", "row_id", "owners", "own", "others", "adopted", "reason"), r))
            for r in _rows(ministry_abbr, conflicts)
        ],
        "attachment": feedback_path.name if feedback_path else None,
        "secretariat": config.secretariat,
    }
    return compose_message(
        templates,
        "conflict",
        context,
        subject=f"【{config.settings.title}】統合時の調整のお知らせ（{ministry.abbr}・{len(conflicts)}件）",
        sender=config.settings.smtp.sender,
        to=ministry.contacts,
        attachment=(feedback_path.read_bytes(), feedback_path.name) if feedback_path else None,
    )
