"""The template contract: what a ministry's workbook looks like, shared by distribute and validate.

The column labels are the contract with forty ministries; the validator finds columns by their
label, never by position, and reports a label that is missing or renamed.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from annex.model.annex import Annex, Chapter, Row, VisionFootnotes
from annex.model.labels import COLUMN_LABELS, MEASURE_LABEL

TEMPLATE_VERSION = "2026.3"  # bump when the layout below changes; older workbooks are "outdated"
# 2026.2: 章・節・基本計画 shown on a row's first line only (locked content, in the checksum)
# 2026.3: the live checks' チェック column after 対応 (前年度の記載 and 脚注 one column right)

SHEET_RESULT = "検証結果"  # first sheet of a feedback workbook
SHEET_ENTRY = "記入シート"
SHEET_GUIDE = "記入要領"
SHEET_LISTS = "リスト"  # hidden: valid values for the dropdowns
SHEET_META = "_annex"  # very hidden, protected: ministry, year, version, checksum

TITLE_ROW = 1  # 「統合イノベーション戦略2026 別添 記入シート（文）」
HEADER_ROW = 3
FIRST_DATA_ROW = HEADER_ROW + 1
HEADER_SEARCH_ROWS = 20  # a header moved within these rows is found and reported

ACTIONS = ("変更なし", "修正", "新規", "削除")
ACTION_UNCHANGED, ACTION_EDIT, ACTION_NEW, ACTION_DELETE = ACTIONS
RELISTED_VALUE = "再掲"

# 欄 values: the two table columns, and the secretariat's preamble blocks.
FIELD_STATUS = COLUMN_LABELS["status"]
FIELD_POLICY = COLUMN_LABELS["policy"]
PREAMBLE_FIELDS = {"goals": "目標", "key_indicators": "主要指標", "reference_indicators": "参考指標"}
TABLE_FIELDS = (FIELD_STATUS, FIELD_POLICY)
# 欄 values of the secretariat's quoted lines: text quoted from the Basic Plan, whose words never
# change here; only its ［注N］ marks may be moved, added or removed.
QUOTED_FIELDS = {"vision": "あるべき姿", "measure": MEASURE_LABEL}

Key = Literal[
    "item_id",
    "row_id",
    "chapter",
    "section",
    "measure",
    "field",
    "heading",
    "text",
    "tags",
    "relisted",
    "relisted_of",
    "action",
    "previous_text",
    "footnotes",
]


@dataclass(frozen=True)
class ColumnSpec:
    key: Key
    label: str
    editable: bool
    width: float
    help: str  # shown in 記入要領 and as the header's input message


# Widths: the sheet prints one page wide on A4 landscape, so every unit counts; ids and short
# codes wrap to two lines rather than widen their column. The last columns from PRINTED_UNTIL on
# are reference shown on screen, not printed (with them the print shrank to about 5 pt).
COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("item_id", "項目ID", False, 10, "記載の識別番号。変更しないでください（新規の行は空欄のまま）。"),
    ColumnSpec("row_id", "行ID", False, 8, "基本計画の取組の識別番号。新規の行でも、追加先の行の行IDが入っています。"),
    ColumnSpec("chapter", "章", False, 8, "参考（変更不可）。取組の最初の行にだけ表示しています。"),
    ColumnSpec("section", "節", False, 10, "参考（変更不可）。取組の最初の行にだけ表示しています。"),
    ColumnSpec("measure", MEASURE_LABEL, False, 30, "参考（変更不可）。取組の最初の行にだけ表示しています。"),
    ColumnSpec("field", "欄", True, 9, "実施状況・現状分析 / 今後の取組方針 から選択。"),
    ColumnSpec(
        "heading", "見出し", True, 14, "＜…＞ などの小見出し。入れ子の見出しは外側から順に1行ずつ（セル内で改行）。なければ空欄。"
    ),
    ColumnSpec("text", "記載内容", True, 56, "記載する文章。先頭の「・」、末尾の（再掲）と【担当府省】は書かないでください。"),
    ColumnSpec("tags", "担当府省", True, 8, "略称を「、」で区切って記入（例: 科技、文、経）。自府省を必ず含めてください。"),
    ColumnSpec("relisted", "再掲", True, 5, "他の箇所の記載の再掲であれば「再掲」を選択。"),
    ColumnSpec("relisted_of", "再掲元項目ID", True, 9, "再掲の場合、元の記載の項目ID（分かる場合）。"),
    ColumnSpec("action", "対応", True, 7, "変更なし / 修正 / 新規 / 削除 から選択。"),
    ColumnSpec("previous_text", "前年度の記載", False, 46, "参考（変更不可）。前年度に公表した文章。"),
    ColumnSpec(
        "footnotes",
        "脚注",
        False,
        24,
        "参考（変更不可）。記載内容の［注番号］が引用している脚注の本文。参照は記載内容の中で移動・削除できます。",
    ),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
PRINTED_UNTIL = "action"  # the print area ends with this column: チェック, 前年度の記載 and 脚注 stay on screen

# The live checks (annex.model.rules LiveCheck): a チェック column of formulas right after 対応, and
# the count of open problems above 記載内容. Not part of the contract the validator reads: a
# workbook without them (formulas deleted, another program) is judged exactly as one with them.
LIVE_KEY = "check"
LIVE_LABEL = "チェック"
LIVE_AFTER: Key = "action"
LIVE_WIDTH = 20
LIVE_HELP = "自動の確認結果（数式、変更不可）。記入中に見つかった問題を表示します。提出後の確認はこれとは別に行います。"
LIVE_MARK = "※"  # starts every problem the チェック column names; the count above counts them
# Every column of 記入シート in sheet order: the contract's, with チェック after 対応.
SHEET_KEYS: tuple[str, ...] = tuple(k for c in COLUMNS for k in ((c.key, LIVE_KEY) if c.key == LIVE_AFTER else (c.key,)))
ENTRY_COLUMNS = len(SHEET_KEYS)  # nothing right of the last one (preflight)
LABELS = tuple(c.label for c in COLUMNS)
LOCKED_KEYS = tuple(c.key for c in COLUMNS if not c.editable)

META_KEYS = ("ministry", "ministry_slug", "year", "template_version", "checksum", "generated_at", "source_master")


# 見出し of a nested heading: outermost first, one per line. A line break cannot clash with the
# brackets headings are written in (＜…＞ ≪…≫ 【…】), as the earlier " ＞ " did; parse_heading
# still reads that one, in workbooks already sent.
HEADING_SEPARATOR = "\n"
OLD_HEADING_SEPARATOR = " ＞ "


def heading_text(heading: str | None, heading_path: list[str] | None) -> str:
    """A bullet's 見出し as the sheets write it: the nested path, or the one heading, or ""."""
    return HEADING_SEPARATOR.join(heading_path or ([heading] if heading else []))


def parse_heading(text: str | None) -> tuple[str | None, list[str] | None]:
    """見出し as written → (heading, heading_path); the reverse of heading_text."""
    if not text or not text.strip():
        return None, None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split(HEADING_SEPARATOR)
    parts = [p.strip() for line in lines for p in line.split(OLD_HEADING_SEPARATOR) if p.strip()]
    return parts[-1], (parts if len(parts) > 1 else None)


def chapter_label(chapter) -> str:
    """章 as the sheets write it: 「３．一人ひとりの…」."""
    return f"{chapter.no_raw}．{chapter.title}"


def section_label(section) -> str:
    """節 as the sheets write it: 「① ＳＴＥＡＭ教育の…」."""
    return f"{section.no} {section.title}"


def join_tags(tags: Iterable[str]) -> str:
    return "、".join(tags)


def split_tags(cell: str | None) -> list[str]:
    """担当府省 as written (科技、文、経) → tags. Also accepts ，/,/・ and 【】 around the block."""
    if not cell:
        return []
    text = cell.strip().removeprefix("【").removesuffix("】")
    for sep in ("，", ",", "､"):
        text = text.replace(sep, "、")
    return [t.strip() for t in text.split("、") if t.strip()]


def locked_checksum(lines: Iterable[dict[str, str]]) -> str:
    """SHA-256 of the pre-filled read-only content, line by line, in sheet order.

    Each line is a mapping of LOCKED_KEYS to the cell text (missing → ""). The validator
    recomputes it from the workbook's pre-filled lines to tell a tampered or foreign workbook.
    """
    digest = hashlib.sha256()
    for line in lines:
        digest.update(json.dumps([line.get(k, "") or "" for k in LOCKED_KEYS], ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


# -- ids of the preamble items (目標 / 主要指標 / 参考指標), which only the secretariat edits ---------
PREAMBLE_ID_TOKENS = {"goals": "goals", "key_indicators": "key", "reference_indicators": "ref"}


def preamble_row_id(chapter: Chapter) -> str:
    return f"{chapter.no}-preamble"


def preamble_item_id(chapter: Chapter, kind: str, index: int) -> str:
    """Deterministic id of a preamble item: 3-goals-01, 3-key-02, 3-ref-03 (index from 1)."""
    return f"{chapter.no}-{PREAMBLE_ID_TOKENS[kind]}-{index:02d}"


def preamble_items(annex: Annex) -> dict[str, tuple[Chapter, str, int, str, list[int]]]:
    """Every preamble item by its id: (chapter, kind, index from 1, text, footnotes)."""
    items: dict[str, tuple[Chapter, str, int, str, list[int]]] = {}
    for chapter in annex.chapters:
        for kind in PREAMBLE_FIELDS:
            for i, entry in enumerate(getattr(chapter.preamble, kind), start=1):
                text, notes = (entry, []) if isinstance(entry, str) else (entry.text, list(entry.footnotes))
                items[preamble_item_id(chapter, kind, i)] = (chapter, kind, i, text, notes)
    return items


# -- ids of the quoted items (あるべき姿 paragraphs, 基本計画における具体的な取組) -------------------
@dataclass(frozen=True)
class QuotedItem:
    """A Basic Plan text the annex quotes, whose footnote marks only the secretariat places."""

    kind: Literal["vision", "measure"]
    chapter: Chapter
    row: Row | None  # the measure's row
    paragraph: int  # the vision paragraph's index (0 for a measure)
    text: str
    marks: tuple[tuple[int, int], ...]  # (footnote number, offset)

    @property
    def row_id(self) -> str:
        return self.row.id if self.row is not None else preamble_row_id(self.chapter)

    def place_marks(self, marks: Iterable[tuple[int, int]]) -> None:
        """Store marks (number, offset) where the model keeps them for this text."""
        numbers, offsets = [n for n, _ in marks], [o for _, o in marks]
        if self.row is not None:
            self.row.measure_footnotes, self.row.measure_footnote_offsets = numbers or None, offsets or None
            return
        preamble = self.chapter.preamble
        entries = [e for e in preamble.vision_footnotes or [] if e.paragraph != self.paragraph]
        if numbers:
            entries.append(VisionFootnotes(paragraph=self.paragraph, footnotes=numbers, offsets=offsets))
        preamble.vision_footnotes = sorted(entries, key=lambda e: e.paragraph) or None


def vision_item_id(chapter: Chapter, index: int) -> str:
    """3-vision-01: the chapter's first あるべき姿 paragraph (index from 1)."""
    return f"{chapter.no}-vision-{index:02d}"


def measure_item_id(row: Row) -> str:
    """3-（１）-01-measure: the row's 基本計画における具体的な取組."""
    return f"{row.id}-measure"


def quoted_items(annex: Annex) -> dict[str, QuotedItem]:
    """Every quoted text by its id, in document order: each chapter's vision paragraphs, then the
    measures of its rows."""
    items: dict[str, QuotedItem] = {}
    for chapter in annex.chapters:
        preamble = chapter.preamble
        for i, text in enumerate(preamble.vision):
            marks = tuple(preamble.vision_footnote_marks(i))
            items[vision_item_id(chapter, i + 1)] = QuotedItem("vision", chapter, None, i, text, marks)
        for section in chapter.sections:
            for row in section.rows:
                marks = tuple(row.measure_footnote_marks())
                items[measure_item_id(row)] = QuotedItem("measure", chapter, row, 0, row.measure, marks)
    return items


# -- footnote marks in 記載内容 ------------------------------------------------------------------
# A cell holds text, not superscripts: each footnote reference stands in the text as ［注174］,
# where the published annex prints ¹⁷⁴, so that a ministry keeps, moves or removes it where it
# stands. The 脚注 column beside it shows the notes' texts.
NOTE_MARK = "［注{number}］"
_NOTE_MARK_RE = re.compile(r"［注(\d+)］")
# What officers type instead: half-width brackets or digits, other brackets, a space, no closing bracket.
_NOTE_LIKE_RE = re.compile(r"[［\[〔【(（]\s*注\s*([0-9０-９]+)\s*[］\]〕】)）]?")


def marked_text(text: str, marks: Iterable[tuple[int, int]]) -> str:
    """text with ［注N］ inserted at each (number, offset)."""
    out, done = [], 0
    for number, offset in sorted(marks, key=lambda m: m[1]):
        offset = min(max(offset, done), len(text))
        out.append(text[done:offset] + NOTE_MARK.format(number=number))
        done = offset
    return "".join(out) + text[done:]


@dataclass(frozen=True)
class NoteMarks:
    text: str  # the text without its marks
    numbers: list[int]
    offsets: list[int]
    mangled: list[tuple[str, str]]  # (what was typed, the mark it should be) — left in the text as typed


def read_marks(text: str) -> NoteMarks:
    """The ［注N］ marks of a cell's text: the clean text, where each mark stands, and the marks
    typed in another form (reported, never repaired silently)."""
    numbers, offsets, mangled, clean, done = [], [], [], [], 0
    for match in _NOTE_MARK_RE.finditer(text):
        clean.append(text[done : match.start()])
        numbers.append(int(match.group(1)))
        offsets.append(sum(len(part) for part in clean))
        done = match.end()
    clean.append(text[done:])
    rest = "".join(clean)
    for match in _NOTE_LIKE_RE.finditer(rest):
        number = int(unicodedata.normalize("NFKC", match.group(1)))
        mangled.append((match.group(0), NOTE_MARK.format(number=number)))
    return NoteMarks(rest, numbers, offsets, mangled)


# -- markup an officer types into 記載内容, copying last year's look -------------------------------
# The annex adds the leading ・, the （再掲） and the 【tags】 block itself, and prints each ［注N］
# as a superscript: typed into the text they would be printed twice. Each is reported with the text
# as it should be; nothing is removed silently.
HALFWIDTH_KANA = "".join(chr(c) for c in range(0xFF61, 0xFFA0))  # ｡ … ﾟ: the validator's range and the live list
BULLET_CHARS = "・･•●◦‧∙"  # what officers type as a leading bullet (the live check lists the same)
LEADING_BULLET_RE = rf"^\s*[{BULLET_CHARS}]"
TRAILING_TAGS_RE = r"【[^【】]*】\s*$"
RELISTED_TYPED_RE = r"[（(]\s*再掲\s*[）)]"
SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
NOTE_NUMBER_RE = f"[{SUPERSCRIPT_DIGITS}]+"
_DIGIT_OF = str.maketrans(SUPERSCRIPT_DIGITS, "0123456789")


@dataclass(frozen=True)
class TypedMarkup:
    text: str  # the text as the annex wants it
    bullet: str | None  # the leading ・ as typed
    tags: list[str]  # the tags of a trailing 【…】 block
    relisted: bool  # a typed （再掲）
    notes: list[str]  # superscript numbers, as typed


def typed_markup(text: str) -> TypedMarkup:
    """What of the annex's own markup was typed into text, and the text without it (superscript
    numbers become ［注N］ marks)."""
    bullet = re.match(LEADING_BULLET_RE, text)
    rest = text[bullet.end() :].lstrip() if bullet else text
    tags: list[str] = []
    block = re.search(TRAILING_TAGS_RE, rest)
    if block:
        tags = split_tags(block.group(0))
        rest = rest[: block.start()].rstrip()
    relisted = re.search(RELISTED_TYPED_RE, rest) is not None
    rest = re.sub(RELISTED_TYPED_RE, "", rest)
    notes = re.findall(NOTE_NUMBER_RE, rest)
    rest = re.sub(NOTE_NUMBER_RE, lambda m: NOTE_MARK.format(number=int(m.group(0).translate(_DIGIT_OF))), rest)
    return TypedMarkup(rest, bullet.group(0).strip() if bullet else None, tags, relisted, notes)


# -- file names the officers see (templates and feedback attachments) -----------------------------
# Characters a Windows or macOS file name cannot hold, replaced by their full-width forms.
_UNSAFE_IN_NAMES = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in '\\/:*?"<>|'})


def ministry_file_name(ministry_name: str, year: int, what: str, tag: str = "") -> str:
    """文部科学省_2026別添記入シート.xlsx / 文部科学省_2026検証結果_1a2b3c4d.xlsx: the ministry and the
    year in the officers' words, so that nobody swaps two files by their slugs (npa-personnel /
    npa-police) when sending them."""
    return f"{ministry_name.translate(_UNSAFE_IN_NAMES)}_{year}{what}{'_' + tag if tag else ''}.xlsx"


def feedback_attachment_name(ministry_name: str, year: int, sha256: str) -> str:
    return ministry_file_name(ministry_name, year, "検証結果", sha256[:8])
