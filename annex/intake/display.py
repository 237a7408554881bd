"""The text a cell shows in Japanese Excel, for cells Excel did not store as text.

An officer who types 「TRUE」, 「2026/4/1」, 「50%」 or 「1,234,567.89」 into a text cell gets a
boolean, a date serial or a number with a number format, and sees the formatted text. The
reader gives raw values (``true``, ``2026-04-01 00:00:00``, ``0.5``); this module turns them
back into what the cell shows, with ssf (the Python port of SheetJS SSF, the ECMA-376 number
format engine SheetJS uses), or says it cannot be sure — then the cell is a located error, never
a guess: formats that depend on the reader's locale or calendar (era years 「令和」, [DBNum],
[$-411]) and built-in ids this table does not know.

ssf's own locale support is off: it fails with current Babel, and the numbers here only need
Excel's invariant symbols (「.」 and 「,」), which Japanese Excel uses too.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any

from openpyxl.utils.datetime import to_excel

# Built-in number formats (ECMA-376 §18.8.30) as Japanese Excel shows them. Ids 14 and 22 are
# locale-dependent: ja-JP shows 2026/4/1, where the standard's en-US table says m/d/yyyy.
BUILTIN_JA: dict[int, str] = {
    0: "General",
    1: "0",
    2: "0.00",
    3: "#,##0",
    4: "#,##0.00",
    9: "0%",
    10: "0.00%",
    11: "0.00E+00",
    12: "# ?/?",
    13: "# ??/??",
    14: "yyyy/m/d",
    15: "d-mmm-yy",
    16: "d-mmm",
    17: "mmm-yy",
    18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM",
    20: "h:mm",
    21: "h:mm:ss",
    22: "yyyy/m/d h:mm",
    31: 'yyyy"年"m"月"d"日"',
    32: 'h"時"mm"分"',
    33: 'h"時"mm"分"ss"秒"',
    37: "#,##0 ;(#,##0)",
    38: "#,##0 ;[Red](#,##0)",
    39: "#,##0.00;(#,##0.00)",
    40: "#,##0.00;[Red](#,##0.00)",
    45: "mm:ss",
    46: "[h]:mm:ss",
    47: "mm:ss.0",
    48: "##0.0E+0",
    49: "@",
    55: 'yyyy"年"m"月"',
    56: 'm"月"d"日"',
}
CUSTOM_FORMAT_FROM = 164  # ids below are built in; a built-in id missing above is not reproduced

# Codes whose text depends on a locale or calendar ssf is not given: era (g, e outside quotes),
# locale or calendar tags, [DBNum] / [NatNum] numerals, Buddhist years.
_QUOTED = re.compile(r'"[^"]*"|\\.')
_NEUTRAL = re.compile(r"\[(?!\$-|DBNum|NatNum)[^\]]*\]|General|AM/PM|A/P|E[+-]", re.IGNORECASE)  # colours, conditions
_LOCALE_DEPENDENT = re.compile(r"\[\$-|\[DBNum|\[NatNum|[gGeEaA]|[bB][12]")


@dataclass(frozen=True)
class Shown:
    text: str | None  # None: the displayed text cannot be reproduced with certainty
    kind: str  # Japanese: 数値 / 日付・時刻 / 論理値 / エラー値
    format: str  # the number format code applied ("" for booleans and errors)


@cache
def _formatter() -> Any:
    import ssf  # only in the reading worker, only for a workbook holding a typed cell

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ssf.SSF(tzinfo=dt.UTC, locale_support=False, decimal_separator=".", thousands_separator=",", errors="raise")


def _locale_dependent(code: str) -> bool:
    bare = _NEUTRAL.sub("", _QUOTED.sub("", code))  # E+00 is scientific notation, not an era year
    return bool(_LOCALE_DEPENDENT.search(bare))


def format_code(numfmt_id: int, custom: str | None) -> str | None:
    """The code a cell's number format id stands for, None when it is a built-in this table lacks."""
    if numfmt_id >= CUSTOM_FORMAT_FROM:
        return custom
    return BUILTIN_JA.get(numfmt_id)


def serial(value: dt.datetime | dt.date | dt.time | dt.timedelta, epoch: dt.datetime) -> float:
    """A date or time as Excel's serial number in the workbook's date system."""
    return to_excel(value, epoch)


def shown_text(value: Any, numfmt_id: int, custom: str | None, epoch: dt.datetime) -> Shown:
    """What Excel shows for a boolean, number, date or error value under its number format."""
    if isinstance(value, bool):
        return Shown("TRUE" if value else "FALSE", "論理値", "")
    if isinstance(value, str):  # an error value (#N/A, #DIV/0!), shown as it is
        return Shown(value, "エラー値", "")
    is_date = isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta))
    kind = "日付・時刻" if is_date else "数値"
    code = format_code(numfmt_id, custom)
    if code is None:
        return Shown(None, kind, f"組み込み書式 {numfmt_id}")
    if _locale_dependent(code):
        return Shown(None, kind, code)
    number = serial(value, epoch) if is_date else value
    try:
        text = _formatter().format(code, number)
    except Exception:  # a code ssf cannot read: say so at the cell rather than guess
        return Shown(None, kind, code)
    if not isinstance(text, str) or text.startswith("#") and set(text) == {"#"}:
        return Shown(None, kind, code)
    return Shown(text.strip(), kind, code)
