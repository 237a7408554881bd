"""The secretariat's lint of a whole annex (master(Y)): every text rule over every text, the
document rules (tag blocks, abbreviation-table order, 〇 markers, footnotes) and 表記ゆれ in two
passes (collect every form of a term across ministries, then report the minority forms with the
majority proposed). Pure: an Annex in, a LintReport out; annex.workspace writes the files."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from annex.lint.dictionary import Entry
from annex.lint.text import context, in_english_phrase, lint_text
from annex.model.annex import Annex
from annex.model.issues import Location
from annex.model.labels import COLUMN_LABELS
from annex.model.rules import RULES

MEASURE_MARKER = "〇"  # U+3007, as 32 of the 2025 annex's 36 plan items
LINT_CODES = tuple(code for code, r in RULES.items() if r.group in ("notation", "annex"))


@dataclass(frozen=True)
class Place:
    """Where a text stands in the annex: the bullet (or row) id and the field it is in."""

    item_id: str
    field: str
    ministry: str = ""  # who wrote it, where the master knows (a status bullet's submitted_by, else its tags)


@dataclass(frozen=True)
class LintHit:
    code: str
    place: Place
    offset: int | None
    found: str
    fixed: str | None
    message: str
    suggestion: str | None
    severity: str


@dataclass
class LintReport:
    year: int | None
    hits: dict[str, list[LintHit]] = field(default_factory=lambda: {code: [] for code in LINT_CODES})

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.hits.values())

    def counts(self) -> dict[str, int]:
        return {code: len(v) for code, v in self.hits.items()}


# -- the texts of an annex -----------------------------------------------------------------------
@dataclass(frozen=True)
class Text:
    place: Place
    text: str
    sentence: bool  # a status/policy bullet: ends in 「。」
    quoted: bool  # from the Basic Plan: reported, never corrected


def bullet_place(row, column, bullet) -> str:
    """The bullet's id; a bullet imported without one (never merged yet) by its row and position."""
    if bullet.id:
        return bullet.id
    return f"{row.id} {COLUMN_LABELS[column]}の{row.bullets(column).index(bullet) + 1}番目"


def texts(annex: Annex) -> Iterator[Text]:
    for chapter in annex.chapters:
        pre = chapter.preamble
        for i, text in enumerate(pre.vision):
            yield Text(Place(f"{chapter.no}-vision-{i + 1}", "あるべき姿"), text, False, True)
        for i, text in enumerate(pre.goals):
            yield Text(Place(f"{chapter.no}-goal-{i + 1}", "目標"), text, False, False)
        for label, indicators in (("主要指標", pre.key_indicators), ("参考指標", pre.reference_indicators)):
            for i, ind in enumerate(indicators):
                yield Text(Place(f"{chapter.no}-{label}-{i + 1}", label), ind.text, False, False)
    for row, column, bullet in annex.bullets():
        ministry = bullet.submitted_by or ("、".join(bullet.tags) if bullet.tags else "")
        yield Text(Place(bullet_place(row, column, bullet), COLUMN_LABELS[column], ministry), bullet.text, True, False)
    for _, _, row in annex.rows():
        yield Text(Place(row.id, "基本計画における具体的な取組", "、".join(row.measure_tags)), row.measure, False, True)
    for number, text in annex.footnotes.items():
        yield Text(Place(f"注{number}", "脚注"), text, False, False)


# -- 表記ゆれ ------------------------------------------------------------------------------------
# Latin/digit terms (ＡＩ, CO2, ＣＯ₂) and names built around them (広島ＡＩプロセス, マナビ DX)
TERM_RE = re.compile(
    r"[\u30a0-\u30ff\u4e00-\u9fff]{0,6}[ 　]?(?<![A-Za-zＡ-Ｚａ-ｚ0-9０-９])[A-Za-zＡ-Ｚａ-ｚ][A-Za-zＡ-Ｚａ-ｚ0-9０-９₀-₉]*"
    r"(?![A-Za-zＡ-Ｚａ-ｚ0-9０-９.])(?:[ 　]?[\u30a0-\u30ff]{2,})?"
)


def term_key(form: str) -> str:
    """NFKC, spaces removed: 「広島 AI プロセス」 and 「広島ＡＩプロセス」 are one term. Case is kept (JAPAN in a
    name is not a variant of Japan). Keys only: NFKC would corrupt text (₂→2, ～→~)."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", form))


def _latin_core(form: str) -> str:
    m = re.search(r"[A-Za-zＡ-Ｚａ-ｚ][A-Za-zＡ-Ｚａ-ｚ0-9０-９₀-₉]*", form)
    return m.group(0) if m else form


def variants(
    items: Iterable[Text], dictionary: Iterable[Entry] = ()
) -> list[tuple[str, str, Counter, list[tuple[Text, int, str]]]]:
    """(form, majority form, the forms' counts, occurrences of form) for every minority form.

    Pass 1 collects each term's forms with where they stand; pass 2 keeps the terms written in more
    than one form. Two terms are looked at: the Latin core alone (ＡＩ / AI) and the whole name
    (広島ＡＩプロセス / 広島 AI プロセス); a dictionary entry (config/variants.yaml) makes its patterns one term."""
    forms: dict[str, Counter] = defaultdict(Counter)
    where: dict[tuple[str, str], list[tuple[Text, int, str]]] = defaultdict(list)
    pinned: dict[str, str] = {}
    entries = list(dictionary)
    for item in items:
        seen: set[tuple[str, int]] = set()
        for m in TERM_RE.finditer(item.text):
            whole = m.group(0).strip(" 　")
            core = _latin_core(whole)
            start = m.start() + m.group(0).index(core)
            if in_english_phrase(item.text, start, start + len(core)):
                continue  # 「AI for Science」 is an English name, not the term ＡＩ
            for form, at in ((core, start), (whole, m.start() + m.group(0).index(whole))):
                key = "t:" + term_key(form)
                if (key, at) in seen or len(term_key(form)) < 2:
                    continue
                seen.add((key, at))
                forms[key][form] += 1
                where[(key, form)].append((item, at, form))
        for n, entry in enumerate(entries):
            key = f"d:{n}"
            pinned[key] = entry.expected
            for pattern in entry.patterns:
                for m in pattern.finditer(item.text):
                    forms[key][m.group(0)] += 1
                    where[(key, m.group(0))].append((item, m.start(), m.group(0)))
    out = []
    reported: set[tuple[Place, int]] = set()
    # whole names first: 「広島 AI プロセス」 is reported as the name, and its 「AI」 is not reported again
    for key, counts in sorted(forms.items(), key=lambda kv: -min(len(f) for f in kv[1])):
        if len(counts) < 2:
            continue
        ranked = counts.most_common()
        majority = ranked[0][0]
        if key in pinned and pinned[key] in counts and counts[pinned[key]] == ranked[0][1]:
            majority = pinned[key]  # a tie goes to the dictionary's form
        for form, _ in ranked:
            if form == majority:
                continue
            fresh = []
            for item, at, found in where[(key, form)]:
                span = {(item.place, i) for i in range(at, at + len(found))}
                if not span & reported:
                    fresh.append((item, at, found))
                    reported |= span
            if fresh:
                out.append((form, majority, counts, fresh))
    return out


# -- the report --------------------------------------------------------------------------------
def _hit(code: str, place: Place, offset: int | None, severity: str, quoted: bool, **fields: object) -> LintHit:
    """A quoted text (the Basic Plan's words) is reported with no correction: it is not ours to change."""
    issue = RULES[code].issue(_location(place, offset), **fields)
    fixed = None if quoted else fields.get("fixed")
    suggestion = None if quoted else issue.suggestion
    return LintHit(code, place, offset, str(fields.get("found", "")), fixed, issue.message, suggestion, severity)


def _location(place: Place, offset: int | None) -> Location:
    return Location("master", place.field, None, place.item_id, offset)


def lint_annex(
    annex: Annex,
    *,
    dictionary: Iterable[Entry] = (),
    variant_dictionary: Iterable[Entry] = (),
    severities: Mapping[str, str] | None = None,
    generic_tags: Iterable[str] = (),
) -> LintReport:
    sev = severities or {}
    report = LintReport(annex.year)
    dictionary = list(dictionary)

    def add(code: str, place: Place, offset: int | None, quoted: bool = False, **fields: object) -> None:
        severity = sev.get(code, RULES[code].severity)
        if severity != "off":
            report.hits[code].append(_hit(code, place, offset, severity, quoted, **fields))

    items = list(texts(annex))
    for item in items:
        for h in lint_text(item.text, sentence=item.sentence, dictionary=dictionary):
            add(
                h.code,
                item.place,
                h.start,
                item.quoted,
                found=h.found,
                fixed=h.fixed,
                detail=h.detail,
                context=context(item.text, h),
            )
    for _form, majority, counts, occurrences in variants(items, variant_dictionary):
        shown = "・".join(f"{f} {n}件" for f, n in counts.most_common())
        for item, at, found in occurrences:
            add("A-VARIANT", item.place, at, item.quoted, found=found, fixed=majority, counts=shown)
    _document_rules(annex, add, set(generic_tags))
    return report


def _document_rules(annex: Annex, add, generic: set[str]) -> None:
    order = {a.abbr: i for i, a in enumerate(annex.abbreviations)}
    known = set(order) | generic
    for row, column, bullet in annex.bullets():
        place = Place(bullet_place(row, column, bullet), COLUMN_LABELS[column])
        # a column's lead sentence (「…を踏まえ、下記施策を推進。」) introduces the bullets; it carries no tag block
        if column == "policy" and not bullet.tags and "下記" not in bullet.text:
            add("A-TAGS-MISSING", place, None)
        for tag in bullet.tags:
            if order and tag not in known:
                add("A-TAG-UNLISTED", place, None, found=tag)
        listed = [t for t in bullet.tags if t in order]
        ranked = sorted(listed, key=order.__getitem__)
        if listed != ranked:
            # generics (関係府省) and unlisted tags keep their place after the listed ones
            rest = [t for t in bullet.tags if t not in order]
            add("A-TAG-ORDER", place, None, found="、".join(bullet.tags), fixed="、".join(ranked + rest))
    cited: set[str] = set()
    for _, _, row in annex.rows():
        if row.measure_marker and row.measure_marker != MEASURE_MARKER:
            add("A-MEASURE-MARKER", Place(row.id, "基本計画における具体的な取組"), 0, found=row.measure_marker)
        cited.update(str(n) for n in row.measure_footnotes or [])
    for row, column, bullet in annex.bullets():
        for n in bullet.footnotes or []:
            cited.add(str(n))
            if str(n) not in annex.footnotes:
                add("A-FOOTNOTE-UNDEFINED", Place(bullet_place(row, column, bullet), COLUMN_LABELS[column]), None, found=n)
    for chapter in annex.chapters:
        pre = chapter.preamble
        for label, indicators in (("主要指標", pre.key_indicators), ("参考指標", pre.reference_indicators)):
            for i, ind in enumerate(indicators):
                for n in ind.footnotes:
                    cited.add(str(n))
                    if str(n) not in annex.footnotes:
                        add("A-FOOTNOTE-UNDEFINED", Place(f"{chapter.no}-{label}-{i + 1}", label), None, found=n)
        for entry in pre.vision_footnotes or []:
            cited.update(str(n) for n in entry.footnotes)
    for number in annex.footnotes:
        if number not in cited:
            add("A-FOOTNOTE-UNUSED", Place(f"注{number}", "脚注"), None, found=number)
