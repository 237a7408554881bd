"""Notation rules over one text: 公用文作成の考え方 (2022) and the annex's house style.

Each rule is a function text → hits; a hit is located by character offset (0-based, code
points) and carries the corrected span where the fix is local and certain. Nothing here
rewrites text: callers report hits, the officer decides. Rule codes are the catalogue's
(annex.model.rules, group "notation").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

FW_OFFSET = 0xFEE0
FW_LATIN = "Ａ-Ｚａ-ｚ"
FW_DIGIT = "０-９"
# a CJK character as the annex writes them: kana, kanji, full-width forms and CJK punctuation
CJK = r"\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff01-\uff60"
MAX_REIWA = 40  # 令和40年 = 2058: later than any plan the annex cites


@dataclass(frozen=True)
class Hit:
    code: str
    start: int  # 0-based character offset in the text
    end: int
    found: str
    fixed: str | None = None  # the corrected span, where the fix is local and certain
    detail: str = ""  # a rule's own words for the message (e.g. the era arithmetic)


def context(text: str, hit: Hit, width: int = 6) -> str:
    """The hit with a few characters either side, as the officer finds it in the cell."""
    before = ("…" if hit.start > width else "") + text[max(0, hit.start - width) : hit.start]
    after = text[hit.end : hit.end + width] + ("…" if hit.end + width < len(text) else "")
    found = text[hit.start : hit.end]
    return before + ("（空白）" if found and not found.strip() else found) + after


def to_full(text: str) -> str:
    """ASCII letters, digits and symbols → full width (the house style for acronyms and 1-digit numbers)."""
    return "".join(chr(ord(c) + FW_OFFSET) if "!" <= c <= "~" else c for c in text)


def to_half(text: str) -> str:
    return "".join(chr(ord(c) - FW_OFFSET) if "！" <= c <= "～" else c for c in text)


def _digit_value(text: str) -> int:
    return int(to_half(text))


def _hits(code: str, pattern: re.Pattern[str], text: str, fix: Callable[[re.Match[str]], str | None]) -> list[Hit]:
    return [Hit(code, m.start(), m.end(), m.group(0), fix(m)) for m in pattern.finditer(text)]


# -- punctuation -----------------------------------------------------------------------------
PUNCT_RE = re.compile(rf"[，．]|(?<=[{CJK}])[,.](?![0-9])")


def punctuation(text: str) -> list[Hit]:
    """「，」「．」 (or ASCII , . after Japanese) as punctuation: the annex writes 「、」「。」 (2,488 : 0)."""
    out = []
    for m in PUNCT_RE.finditer(text):
        if m.group(0) == "．" and re.match(rf"[{FW_DIGIT}]", text[m.start() - 1 : m.start()] or "x"):
            continue  # 「３．」 section numbers and decimals
        out.append(Hit("N-PUNCT", m.start(), m.end(), m.group(0), "、" if m.group(0) in "，," else "。"))
    return out


DOUBLE_PUNCT_RE = re.compile(r"[、。][、。]+")


def doubled_punctuation(text: str) -> list[Hit]:
    return _hits("N-PUNCT-DOUBLE", DOUBLE_PUNCT_RE, text, lambda m: m.group(0)[-1])


# -- widths ----------------------------------------------------------------------------------
# an all-caps acronym in half width; "AI for Science", "Society 5.0" (English phrases) stay half width
ACRONYM_RE = re.compile(r"(?<![A-Za-z0-9_\-./@:#&'])[A-Z]{2,}s?(?![A-Za-z0-9_\-./@:&'])")
ENGLISH_WORD_RE = re.compile(r"[A-Za-z]{2,}")


def in_english_phrase(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 12) : start]
    after = text[end : end + 12]
    return bool(re.search(r"[A-Za-z][a-z]+ $", before) or re.match(r" [A-Za-z]?[a-z]+", after))


ACRONYM_ALLOW = frozenset({"JAPAN"})  # English words in proper names (「トビタテ！留学JAPAN」)


def acronym_width(text: str) -> list[Hit]:
    """Half-width acronyms (AI, DX, AMED): the annex writes them full width (ＡＩ 193 : AI 6)."""
    return [
        Hit("N-WIDTH-ACRONYM", m.start(), m.end(), m.group(0), to_full(m.group(0)))
        for m in ACRONYM_RE.finditer(text)
        if m.group(0) not in ACRONYM_ALLOW and not in_english_phrase(text, m.start(), m.end())
    ]


NUMBER_RE = re.compile(rf"[0-9{FW_DIGIT}]+(?:[.,．，][0-9{FW_DIGIT}]+)*")
NAME_NEIGHBOUR = re.compile(rf"[A-Za-z{FW_LATIN}\-－_/.]")


def digit_width(text: str) -> list[Hit]:
    """1桁全角・2桁以上半角 (440 : 44 and 341 : 1 in the 2025 annex); digits inside names (5G, ＪＴ－６０ＳＡ) are
    the mixed-token rule's or nobody's."""
    out = []
    for m in NUMBER_RE.finditer(text):
        token, s, e = m.group(0), m.start(), m.end()
        if NAME_NEIGHBOUR.match(text[s - 1 : s] or " ") or NAME_NEIGHBOUR.match(text[e : e + 1] or " "):
            continue
        if len(token) == 1 and token.isascii():
            out.append(Hit("N-WIDTH-DIGIT", s, e, token, to_full(token)))
        elif len(token) > 1 and re.search(rf"[{FW_DIGIT}]", token):
            out.append(Hit("N-WIDTH-DIGIT", s, e, token, to_half(token).replace("，", ",")))
    return out


MIXED_TOKEN_RE = re.compile(
    rf"(?<![A-Za-z0-9{FW_LATIN}{FW_DIGIT}])(?=[A-Za-z0-9{FW_LATIN}{FW_DIGIT}]*[A-Za-z0-9])(?=[A-Za-z0-9{FW_LATIN}{FW_DIGIT}]*[{FW_LATIN}{FW_DIGIT}])[A-Za-z0-9{FW_LATIN}{FW_DIGIT}]{{2,}}"
)


def mixed_token(text: str) -> list[Hit]:
    """One token in two widths (Ｇ7, ＣＯ2, ポスト５G): written full width, as the house style has acronyms."""
    out = []
    for m in MIXED_TOKEN_RE.finditer(text):
        token = m.group(0)
        if any(c.islower() and c.isascii() for c in token):
            continue  # an English word beside a full-width digit is the digit rule's
        if re.match(r"[.．][0-9０-９]", text[m.end() : m.end() + 2]):
            continue  # a version number (ＡＢＣＩ3.0) is a name, whose width the rule cannot know
        house = house_width(token)
        if house != token:  # 「ＴＩＭＳＳ2023」 is already the house style: full-width letters, a 4-digit year
            out.append(Hit("N-WIDTH-MIXED", m.start(), m.end(), token, house))
    return out


def house_width(token: str) -> str:
    """Letters full width; a one-digit number full width, longer numbers half width (ＣＯ２, Ｇ７, ＴＩＭＳＳ2023)."""
    parts = re.split(r"([0-9０-９]+)", token)
    return "".join(
        (to_full(p) if len(p) == 1 else to_half(p)) if p and p[0] in "0123456789０１２３４５６７８９" else to_full(p)
        for p in parts
    )


SYMBOL_FIXES = {"%": "％", "~": "～", "〜": "～"}
SYMBOL_RE = re.compile(r"(?<=[0-9０-９])%|[~〜](?=[0-9０-９令平年])|<(?=[^<>\n]*[\u3040-\u9fff][^<>\n]*>)[^<>\n]*>")


def symbol_width(text: str) -> list[Hit]:
    """One form per symbol: ％, ～ for ranges, ＜＞ for sub-headings (the annex's majority forms)."""
    out = []
    for m in SYMBOL_RE.finditer(text):
        found = m.group(0)
        fixed = "＜" + found[1:-1] + "＞" if found.startswith("<") else SYMBOL_FIXES[found]
        out.append(Hit("N-WIDTH-SYMBOL", m.start(), m.end(), found, fixed))
    return out


# -- brackets --------------------------------------------------------------------------------
PAIRS = {"（": "）", "(": ")", "「": "」", "『": "』", "【": "】", "＜": "＞", "［": "］"}
CLOSERS = {v: k for k, v in PAIRS.items()}


BRACKET_RE = re.compile("[" + re.escape("".join(PAIRS) + "".join(CLOSERS)) + "]")


@lru_cache(maxsize=8)  # three rules ask for the same text's pairs in a row
def _pairs(text: str) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...]]:
    """Matched (open, close) positions, with 「(…）」 matched as one pair; unmatched positions."""
    stack: list[int] = []
    matched, unmatched = [], []
    for m in BRACKET_RE.finditer(text):
        i, c = m.start(), m.group(0)
        if c in PAIRS:
            stack.append(i)
        else:
            want = {CLOSERS[c]} | ({"(", "（"} if c in ")）" else set())
            if stack and text[stack[-1]] in want:
                matched.append((stack.pop(), i))
            else:
                unmatched.append(i)
    return tuple(matched), tuple(unmatched + stack)


def unpaired_bracket(text: str) -> list[Hit]:
    _, unmatched = _pairs(text)
    return [Hit("N-BRACKET-UNPAIRED", i, i + 1, text[i]) for i in sorted(unmatched)]


def bracket_width(text: str) -> list[Hit]:
    """「(…）」 and 「(…)」 around Japanese: the annex writes （） (273 : 13)."""
    out = []
    matched, _ = _pairs(text)
    for s, e in matched:
        o, c = text[s], text[e]
        if o == "(" and (c == "）" or re.search(r"[\u3040-\u9fff]", text[s + 1 : e])) or (o == "（" and c == ")"):
            inner = text[s + 1 : e]
            out.append(Hit("N-BRACKET-WIDTH", s, e + 1, text[s : e + 1], f"（{inner}）"))
    return out


def double_quote(text: str) -> list[Hit]:
    """『』 in prose: the 考え方 nests 「「」」 (『』 is for 解説・広報)."""
    matched, _ = _pairs(text)
    return [
        Hit("N-BRACKET-NESTED", s, e + 1, text[s : e + 1], "「" + text[s + 1 : e] + "」") for s, e in matched if text[s] == "『"
    ]


SPACE_IN_BRACKET_RE = re.compile(r"(?<=[（「【『＜［])[ 　]+|[ 　]+(?=[）」】』＞］])")


def space_in_bracket(text: str) -> list[Hit]:
    return _hits("N-SPACE-BRACKET", SPACE_IN_BRACKET_RE, text, lambda m: "")


# -- spaces ----------------------------------------------------------------------------------
# between two Japanese characters, or between Japanese and a half-width run (和欧間: no space)
JA = r"\u3040-\u9fff\uff10-\uff19\uff21-\uff3a\uff41-\uff5a"  # kana, kanji, full-width letters and digits
SPACE_RE = re.compile(rf"(?<=[{JA}])[ 　]+(?=[{JA}0-9A-Za-z])|(?<=[0-9A-Za-z])[ 　]+(?=[{JA}])")


def stray_space(text: str) -> list[Hit]:
    """A space the annex does not write: 「令和 5 年度」「広島 AI プロセス」「ＳＴＥＡＭライブラリー の」."""
    out = []
    for m in SPACE_RE.finditer(text):
        s, e = m.start(), m.end()
        # an English phrase keeps its spaces (「AI for Science」): only the Japanese side counts
        if re.search(r"[a-z]$", text[:s]) and re.match(r" ?[A-Za-z]", text[e:]):
            continue
        out.append(Hit("N-SPACE", s, e, m.group(0), ""))
    return out


# -- numbers and counters ------------------------------------------------------------------
COUNTER_RE = re.compile(rf"(?<=[0-9{FW_DIGIT}])\s?(?:箇|ヶ|ケ|カ|ヵ|ｹ|ｶ)(?=所|月|国|年)")


def counter_kana(text: str) -> list[Hit]:
    """算用数字 + 「か所」「か月」「か国」 (考え方; 「10 か国」 in the annex), not 箇所/ヶ所/カ月."""
    return _hits("N-COUNTER", COUNTER_RE, text, lambda m: "か")


KANJI_NUMERALS = "〇一二三四五六七八九"
TSU_RE = re.compile(rf"(?<![0-9{FW_DIGIT}.,．，])([1-9１-９])\s?つ(?![つ])")


def native_numeral(text: str) -> list[Hit]:
    """和語の数詞は漢数字: 「一つ」「九つ」, not 「1 つ」「９つ」 (考え方)."""
    return [
        Hit("N-NUMERAL-TSU", m.start(), m.end(), m.group(0), KANJI_NUMERALS[_digit_value(m.group(1))] + "つ")
        for m in TSU_RE.finditer(text)
    ]


# -- era years -------------------------------------------------------------------------------
ERA_BASE = {"令和": 2018, "平成": 1988, "昭和": 1925}
ERA_LAST = {"令和": MAX_REIWA, "平成": 31, "昭和": 64}
ERA_RE = re.compile(rf"(令和|平成|昭和)\s*([0-9{FW_DIGIT}]+|元)\s*(年度|年)")


def era_year(text: str) -> list[Hit]:
    """An impossible era year: 「令和2040年度」 (a western year after 令和) or 平成35年."""
    out = []
    for m in ERA_RE.finditer(text):
        era, number = m.group(1), m.group(2)
        if number == "元":
            continue
        n = _digit_value(number)
        if 1 <= n <= ERA_LAST[era]:
            continue
        detail = f"{era}{ERA_LAST[era]}年までです"
        fixed = None
        if era == "令和" and n > 2018:  # a western year written after 令和: 2040 → 令和22
            fixed = f"令和{n - 2018}{m.group(3)}"
        out.append(Hit("N-ERA-INVALID", m.start(), m.end(), m.group(0), fixed, detail))
    return out


PAIR_RE = re.compile(
    rf"(令和|平成)([0-9{FW_DIGIT}]+|元)(年度|年)?\s*[（(]\s*([0-9{FW_DIGIT}]{{4}})(年度|年)?\s*[）)]"
    rf"|([0-9{FW_DIGIT}]{{4}})(年度|年)?\s*[（(]\s*(令和|平成)([0-9{FW_DIGIT}]+|元)(年度|年)?\s*[）)]"
)


def era_pair(text: str) -> list[Hit]:
    """令和N and the western year written side by side must agree: 令和N ≡ 2018+N."""
    out = []
    for m in PAIR_RE.finditer(text):
        if m.group(1):
            era, number, western = m.group(1), m.group(2), m.group(4)
        else:
            era, number, western = m.group(8), m.group(9), m.group(6)
        n = 1 if number == "元" else _digit_value(number)
        expected = ERA_BASE[era] + n
        if _digit_value(western) != expected:
            out.append(Hit("N-ERA-MISMATCH", m.start(), m.end(), m.group(0), None, f"{era}{number}年は{expected}年です"))
    return out


# -- sentences and cells -----------------------------------------------------------------------
EMPTY_MARKERS = {"―", "-", "ー", "‐", "−", "—", "–"}


def empty_marker(text: str) -> list[Hit]:
    """An empty cell is 「－」 (U+FF0D), as in the annex (7 : 1)."""
    s = text.strip()
    if s in EMPTY_MARKERS:
        start = text.index(s)
        return [Hit("N-EMPTY-MARKER", start, start + 1, s, "－")]
    return []


SENTENCE_END_OK = re.compile(r"[。）)」］】＞]\s*$")


def sentence_end(text: str) -> list[Hit]:
    """A status or policy bullet is a sentence: it ends in 「。」 (the tag block and （再掲） come after)."""
    s = text.rstrip()
    if not s or s.strip() in EMPTY_MARKERS or SENTENCE_END_OK.search(s):
        return []
    return [Hit("N-SENTENCE-END", len(s) - 1, len(s), s[-1], s[-1] + "。")]


TEXT_RULES: tuple[Callable[[str], list[Hit]], ...] = (
    punctuation,
    doubled_punctuation,
    acronym_width,
    digit_width,
    mixed_token,
    symbol_width,
    unpaired_bracket,
    bracket_width,
    double_quote,
    space_in_bracket,
    stray_space,
    counter_kana,
    native_numeral,
    era_year,
    era_pair,
    empty_marker,
)
SENTENCE_RULES = (sentence_end,)


def lint_text(text: str, *, sentence: bool = False, dictionary: Iterable = ()) -> list[Hit]:
    """Every hit in text, in order of position. sentence: the text is a status/policy bullet (it must
    end in 「。」); dictionary: annex.lint.dictionary entries."""
    hits: list[Hit] = []
    for check in TEXT_RULES:
        hits.extend(check(text))
    if sentence:
        for check in SENTENCE_RULES:
            hits.extend(check(text))
    for entry in dictionary:
        hits.extend(entry.hits(text))
    hits.sort(key=lambda h: (h.start, h.code))
    return hits
