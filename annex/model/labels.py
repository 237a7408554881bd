"""What annex prints, said once: the table's column labels and the way a date or the deadline is
written (always in Japan time, whatever zone config gives it in)."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo

Column = Literal["status", "policy"]
COLUMNS: tuple[Column, ...] = ("status", "policy")

JST = ZoneInfo("Asia/Tokyo")

# The published header row of every 取組 table; the same words head the workbook's columns.
MEASURE_LABEL = "基本計画における具体的な取組"
COLUMN_LABELS: dict[Column, str] = {"status": "実施状況・現状分析", "policy": "今後の取組方針"}
COLUMN_BY_LABEL: dict[str, Column] = {v: k for k, v in COLUMN_LABELS.items()}
RELISTED_MARK = "（再掲）"

WEEKDAYS_JA = "月火水木金土日"


def format_date(moment: dt.datetime | dt.date) -> str:
    """5月29日（金）: a day as Japanese officers write it; a datetime is taken in Japan time."""
    if isinstance(moment, dt.datetime):
        moment = moment.astimezone(JST).date()
    return f"{moment.month}月{moment.day}日（{WEEKDAYS_JA[moment.weekday()]}）"


def format_instant(moment: dt.datetime) -> str:
    """2026年5月29日（金） 17:00 in Japan time: the deadline, a reminder slot, a submission."""
    local = moment.astimezone(JST)
    return f"{local.year}年{format_date(local)} {local:%H:%M}"
