"""Read an annex back from a Word file written by ``annex render`` (bootstrap a year from last
year's published .docx).

The reader follows the document, not hidden data: chapter and section headings, the labelled
opening parts, every 取組 table (a new 取組 wherever the measure cell starts a vertical merge),
sub-headings, bullets, 「－」 cells, footnotes and the abbreviation table. Structure is
recognised by the *names* of the template's styles (so a template restyled in Word still reads
back) and by run styles that mark 【tags】, （再掲） and the 〇 marker. Row and bullet ids travel
in hidden bookmarks (``_r…`` / ``_b…``); where one is missing (a bullet typed in Word) the
bullet gets a new id on import and a row gets its positional id.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from annex.model.annex import (
    COLUMN_LABELS,
    COLUMNS,
    MEASURE_LABEL,
    Abbreviation,
    Annex,
    Bullet,
    Chapter,
    EmptyCellMarker,
    Indicator,
    Row,
    Section,
    Subheading,
    VisionFootnotes,
)
from annex.model.contract import split_tags
from annex.model.errors import InputError
from annex.render.ooxml import (
    ABOLISHED_MARK,
    CHARACTER_STYLES,
    EMPTY_MARKERS,
    FOOTNOTES_RT,
    ITEM_BULLET,
    PARAGRAPH_STYLES,
    SOURCE_PREFIX,
    TABLE_BULLET,
    W,
    decode_bookmark,
    footnote_key,
    style_ids,
)

MAX_PART_BYTES = 256 * 1024 * 1024  # an inflated document.xml beyond this is not an annex
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)
_TAIL = re.compile(r"^(?P<text>.*?)(?P<relisted>（再掲）)?(?:【(?P<tags>[^【】]*)】)?$", re.S)
_HEADER_LABELS = [MEASURE_LABEL, *(COLUMN_LABELS[c] for c in COLUMNS)]  # the 取組 table's header row


def _run_text(r: etree._Element) -> str:
    """The text of one w:r: w:t, with w:tab as a tab and w:br / w:cr as a line break."""
    return "".join(
        (c.text or "") if c.tag == f"{W}t" else "\t" if c.tag == f"{W}tab" else "\n" if c.tag in (f"{W}br", f"{W}cr") else ""
        for c in r
    )


def _is_deleted(r: etree._Element) -> bool:
    return any(a.tag in (f"{W}del", f"{W}moveFrom") for a in r.iterancestors())


def _text(p: etree._Element) -> str:
    """A paragraph's visible text (w:footnoteReference runs left out); unlike _Reader.para, no side effects."""
    return "".join(_run_text(r) for r in p.iter(f"{W}r") if not _is_deleted(r) and r.find(f"{W}footnoteReference") is None)


@dataclass
class _Run:
    style: str | None  # key of CHARACTER_STYLES, or None
    text: str


@dataclass
class _Para:
    style: str | None  # key of PARAGRAPH_STYLES, or None
    runs: list[_Run] = field(default_factory=list)
    cites: list[int] = field(default_factory=list)
    cite_at: list[tuple[int, int]] = field(default_factory=list)  # (offset in plain(), in text()) of each cite
    bookmarks: list[tuple[str, str]] = field(default_factory=list)

    def plain(self) -> str:
        return "".join(r.text for r in self.runs if r.style is None)

    def text(self) -> str:
        return "".join(r.text for r in self.runs)

    def styled(self, key: str) -> list[str]:
        return [r.text for r in self.runs if r.style == key]

    def bookmark(self, kind: str) -> str | None:
        return next((value for k, value in self.bookmarks if k == kind), None)

    def cite(self, number: int) -> None:
        self.cites.append(number)
        self.cite_at.append((len(self.plain()), len(self.text())))

    def offsets(self, skip: int = 0, limit: int | None = None, plain: bool = True) -> list[int] | None:
        """Where each cite stands in the paragraph's text less its first ``skip`` characters."""
        if not self.cites:
            return None
        out = [max(0, (p if plain else t) - skip) for p, t in self.cite_at]
        return [min(o, limit) for o in out] if limit is not None else out


class _Reader:
    def __init__(self, path: Path):
        self.path = path
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError):
            raise InputError(f"{path}: Word ファイル（.docx）として開けません") from None
        with zf:
            self.names = set(zf.namelist())
            if "word/document.xml" not in self.names:
                raise InputError(f"{path}: Word ファイル（.docx）ではありません（本文 word/document.xml がありません）")
            for info in zf.infolist():
                if info.file_size > MAX_PART_BYTES:
                    raise InputError(f"{path}: {info.filename} が大きすぎます（展開後 {info.file_size // 2**20} MB）")
            self.document = self._xml(zf, "word/document.xml")
            styles = self._xml(zf, "word/styles.xml") if "word/styles.xml" in self.names else None
            self.footnote_root = None
            rels_name = "word/_rels/document.xml.rels"
            if rels_name in self.names:
                for rel in self._xml(zf, rels_name):
                    if rel.get("Type") == FOOTNOTES_RT:
                        target = "word/" + rel.get("Target").lstrip("/").removeprefix("word/")
                        if target in self.names:
                            self.footnote_root = self._xml(zf, target)
            self.title = None
            if "docProps/core.xml" in self.names:
                core = self._xml(zf, "docProps/core.xml")
                title = core.find("{http://purl.org/dc/elements/1.1/}title")
                described = core.find("{http://purl.org/dc/elements/1.1/}description")
                if described is not None and (described.text or "").startswith(SOURCE_PREFIX):
                    self.title = described.text[len(SOURCE_PREFIX) :]  # the master's source, written by render
                elif title is not None and title.text:
                    self.title = title.text
        self.paragraph_keys: dict[str, str] = {}
        self.character_keys: dict[str, str] = {}
        if styles is not None:
            by_name = style_ids(etree.tostring(styles))
            for key, (_, name) in PARAGRAPH_STYLES.items():
                if name.lower() in by_name:
                    self.paragraph_keys[by_name[name.lower()][0]] = key
            for key, (_, name) in CHARACTER_STYLES.items():
                if name.lower() in by_name:
                    self.character_keys[by_name[name.lower()][0]] = key
        self.num_start = 1
        for pr in self.document.iter(f"{W}footnotePr"):
            start = pr.find(f"{W}numStart")
            if start is not None:
                self.num_start = int(start.get(f"{W}val"))
        self.auto_count = 0
        self.note_numbers: dict[str, int] = {}  # footnote xml id → displayed number

    def _xml(self, zf: zipfile.ZipFile, name: str) -> etree._Element:
        try:
            return etree.fromstring(zf.read(name), _PARSER)
        except etree.XMLSyntaxError as exc:
            raise InputError(f"{self.path}: {name} が壊れています（{exc.msg}）") from None

    # -- paragraphs --------------------------------------------------------------------------
    def paragraph_style(self, p: etree._Element) -> str | None:
        """Key of PARAGRAPH_STYLES of a paragraph, or None."""
        ppr = p.find(f"{W}pPr")
        if ppr is not None and ppr.find(f"{W}pStyle") is not None:
            return self.paragraph_keys.get(ppr.find(f"{W}pStyle").get(f"{W}val"))
        return None

    def para(self, p: etree._Element) -> _Para:
        """A paragraph's runs, citations and bookmarks. Numbers auto-numbered footnotes as it meets
        them: call it once per paragraph, in document order (use _text to just look)."""
        out = _Para(self.paragraph_style(p))
        for node in p.iter(f"{W}r", f"{W}bookmarkStart"):
            if node.tag == f"{W}bookmarkStart":
                decoded = decode_bookmark(node.get(f"{W}name", ""))
                if decoded:
                    out.bookmarks.append(decoded)
                continue
            if _is_deleted(node):
                continue  # tracked deletions are not text
            rpr = node.find(f"{W}rPr")
            rstyle = None
            if rpr is not None and rpr.find(f"{W}rStyle") is not None:
                rstyle = self.character_keys.get(rpr.find(f"{W}rStyle").get(f"{W}val"))
            ref = node.find(f"{W}footnoteReference")
            text = _run_text(node)
            if ref is not None:
                if ref.get(f"{W}customMarkFollows") in ("1", "true", "on"):
                    number = int(re.sub(r"\D", "", text) or 0)
                else:
                    number = self.num_start + self.auto_count
                    self.auto_count += 1
                self.note_numbers[ref.get(f"{W}id")] = number
                out.cite(number)
                continue
            if rstyle == "footnote_ref":
                if text.strip().isdigit():  # a second citation of a footnote, printed as its number
                    out.cite(int(text.strip()))
                continue
            if text:
                out.runs.append(_Run(rstyle, text))
        return out

    def footnotes(self) -> dict[str, str]:
        notes: dict[str, str] = {}
        if self.footnote_root is None:
            return notes
        for note in self.footnote_root.iter(f"{W}footnote"):
            xml_id = note.get(f"{W}id")
            if xml_id not in self.note_numbers:
                continue
            paragraphs = []
            for i, p in enumerate(note.iter(f"{W}p")):
                parts = []
                for r in p.iter(f"{W}r"):
                    if r.find(f"{W}footnoteRef") is not None:
                        continue
                    rpr = r.find(f"{W}rPr")
                    if rpr is not None and rpr.find(f"{W}rStyle") is not None:
                        if self.character_keys.get(rpr.find(f"{W}rStyle").get(f"{W}val")) == "footnote_ref":
                            continue  # the custom mark
                    parts.append(_run_text(r))
                text = "".join(parts)
                if i == 0 and text.startswith(" "):
                    text = text[1:]  # the space the renderer puts after the number
                paragraphs.append(text)
            notes[str(self.note_numbers[xml_id])] = "\n".join(paragraphs)
        return dict(sorted(notes.items(), key=lambda kv: footnote_key(kv[0])))


# ----------------------------------------------------------------------------------------------
def _strip_prefix(text: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def _tail(para: _Para, structured: bool) -> tuple[str, bool, list[str], bool]:
    """(text, relisted, tags, styled) of a bullet or measure paragraph; styled: the text is plain()
    (tags and （再掲） in their own runs), else it was read from the printed form (text())."""
    tags_runs, relisted_runs = para.styled("tags"), para.styled("relisted")
    if tags_runs or relisted_runs or structured:
        return para.plain(), bool(relisted_runs), split_tags("".join(tags_runs)), True
    match = _TAIL.match(para.text())  # typed by hand in Word: read the printed form
    return match.group("text"), bool(match.group("relisted")), split_tags(match.group("tags")), False


def _cell_items(paragraphs: list[_Para]) -> list[tuple[str, object]]:
    items: list[tuple[str, object]] = []
    for para in paragraphs:
        text = para.text()
        if para.style in ("sub1", "sub2", "sub3"):
            items.append(("heading", (int(para.style[-1]), text)))
        elif para.style == "empty" or (para.style is None and text.strip() in EMPTY_MARKERS):
            items.append(("empty", text.strip()))
        elif text.strip() or para.cites:
            if para.style is None and re.fullmatch(r"[＜<≪].*[＞>≫]", text.strip()):
                items.append(("heading", (2 if text.startswith("≪") else 1, text.strip())))
                continue
            structured = para.bookmark("b") is not None
            full, relisted, tags, styled = _tail(para, structured)
            body = _strip_prefix(full, (TABLE_BULLET,))
            bullet = Bullet(id=para.bookmark("b"), text=body, tags=tags, relisted=relisted)
            if para.cites:
                bullet.footnotes = list(para.cites)
                bullet.footnote_offsets = para.offsets(len(full) - len(body), len(body), plain=styled)
            items.append(("bullet", bullet))
    return items


def _build_row(measure: list[_Para], subrows: list[dict[str, list]], fallback_id: str) -> Row:
    first = measure[0] if measure else _Para(None)
    last = measure[-1] if measure else _Para(None)
    kind = "narrative" if first.style == "narrative" else "measure"
    row_id = next((p.bookmark("r") for p in measure if p.bookmark("r")), None) or fallback_id
    marks = first.styled("mark")
    marker = "".join(marks) or None
    texts = [p.plain() for p in measure]
    if not marks and row_id == fallback_id and texts and texts[0][:1] in ("〇", "○") and kind == "measure":
        marker, texts[0] = texts[0][0], texts[0][1:]
    stripped = len(marker or "") if not marks and marker else 0  # a typed 〇 taken off the first paragraph
    structured = any(p.bookmark("r") for p in measure)
    _, relisted, tags, _ = _tail(last, structured)
    if not (last.styled("tags") or last.styled("relisted")) and not structured and texts:
        texts[-1], relisted, tags, _ = _tail(_Para(None, [_Run(None, texts[-1])]), False)
    numbers, offsets, start = [], [], 0
    for i, (para, text) in enumerate(zip(measure, texts)):
        numbers += para.cites
        offsets += [start + o for o in para.offsets(stripped if i == 0 else 0, len(text)) or []]
        start += len(text) + 1
    row = Row(
        id=row_id,
        measure="\n".join(texts),
        measure_tags=tags,
        measure_kind=kind,
        measure_marker=marker,
        measure_relisted=relisted,
        measure_footnotes=numbers or None,
        measure_footnote_offsets=offsets or None,
    )

    printed = {c: any(kind == "heading" for kind, _ in (item for sub in subrows for item in sub[c])) for c in COLUMNS}
    path: dict[str, list[str]] = {c: [] for c in COLUMNS}
    subheadings: dict[str, list[Subheading]] = {c: [] for c in COLUMNS}
    markers: list[EmptyCellMarker] = []
    number = 0  # the published sub-row: a table row with a bullet or a 「－」 (heading rows are not)

    def heading(column: str, value: tuple[int, str]) -> None:
        level, text = value
        path[column] = path[column][: level - 1] + [text]
        subheadings[column].append(Subheading(column=column, text=text))

    for sub in subrows:
        if any(kind_ in ("bullet", "empty") for column in COLUMNS for kind_, _ in sub[column]):
            number += 1
        for column in COLUMNS:  # sub-headings before a cell's first bullet head both columns' bullets
            for kind_, value in sub[column]:
                if kind_ != "heading":
                    break
                heading(column, value)
        for column in COLUMNS:
            other = "policy" if column == "status" else "status"
            leading = True
            for kind_, value in sub[column]:
                if kind_ == "heading":
                    if not leading:
                        heading(column, value)  # a sub-heading inside the cell
                    continue
                leading = False
                if kind_ == "empty":
                    markers.append(EmptyCellMarker(column=column, marker=value, subrow=number))
                elif kind_ == "bullet":
                    own = path[column] if printed[column] else path[other] if printed[other] else []
                    if own:
                        value.heading = own[-1]
                        value.heading_path = list(own)
                    value.subrow = number
                    row.bullets(column).append(value)
    listed = subheadings["status"] + subheadings["policy"]
    row.subheadings = listed or None
    row.empty_cell_markers = markers or None
    return row


def _cells(tr: etree._Element) -> list[etree._Element]:
    return [tc for tc in tr if tc.tag == f"{W}tc"]


def _is_header(reader: _Reader, tr: etree._Element) -> bool:
    """A table's header row: marked 「タイトル行の繰り返し」 (w:tblHeader), or — that box unticked in
    Word — carrying the 取組 table's three column labels, or written in the table-header style."""
    trpr = tr.find(f"{W}trPr")
    if trpr is not None and trpr.find(f"{W}tblHeader") is not None:
        return True
    cells = _cells(tr)
    if ["".join(_text(p) for p in tc.iter(f"{W}p")).strip() for tc in cells] == _HEADER_LABELS:
        return True
    styles = [reader.paragraph_style(p) for tc in cells for p in tc.iter(f"{W}p") if _text(p).strip()]
    return bool(styles) and all(style == "table_header" for style in styles)


def _vmerge(tc: etree._Element) -> str | None:
    tcpr = tc.find(f"{W}tcPr")
    node = tcpr.find(f"{W}vMerge") if tcpr is not None else None
    if node is None:
        return None
    return node.get(f"{W}val") or "continue"


def read_annex_docx(path: Path) -> Annex:
    """The annex in a Word file written by annex render, as an Annex (ids where the file has them)."""
    path = Path(path)
    reader = _Reader(path)
    body = reader.document.find(f"{W}body")
    chapters: list[Chapter] = []
    abbreviations: list[Abbreviation] = []
    chapter: Chapter | None = None
    section: Section | None = None
    part: str | None = None
    group: str | None = None
    for node in body:
        if node.tag == f"{W}p":
            para = reader.para(node)
            text = para.text()
            if para.style == "chapter":
                no_raw, _, title = text.partition("．")
                chapter = Chapter(no=unicodedata.normalize("NFKC", no_raw).strip(), no_raw=no_raw, title=title)
                chapters.append(chapter)
                section, part, group = None, None, None
            elif chapter is None:
                continue  # the template's own text before the annex
            elif para.style == "label":
                part = (
                    "vision"
                    if "あるべき姿" in text
                    else "key_indicators"
                    if ("主要な数値目標" in text or "主要指標" in text)
                    else "reference_indicators"
                    if ("現状データ" in text or "参考指標" in text)
                    else "goals"
                    if "目標" in text
                    else None
                )
            elif para.style == "prose":
                if part in (None, "intro"):
                    chapter.preamble.intro = (chapter.preamble.intro or []) + [text]
                else:
                    pre = chapter.preamble
                    if para.cites:
                        entry = VisionFootnotes(
                            paragraph=len(pre.vision), footnotes=list(para.cites), offsets=para.offsets(plain=False)
                        )
                        pre.vision_footnotes = (pre.vision_footnotes or []) + [entry]
                    pre.vision.append(text)
            elif para.style == "item":
                item = _strip_prefix(text, (ITEM_BULLET, TABLE_BULLET))
                if part == "goals":
                    chapter.preamble.goals.append(item)
                elif part in ("key_indicators", "reference_indicators"):
                    offsets = para.offsets(len(text) - len(item), len(item), plain=False)
                    getattr(chapter.preamble, part).append(
                        Indicator(text=item, footnotes=list(para.cites), footnote_offsets=offsets)
                    )
            elif para.style == "group":
                group = text
            elif para.style == "section":
                match = re.match(r"(\S+)\s(.*)", text, re.S)  # 「①　ＳＴＥＡＭ教育の…」
                no, title = (match.group(1), match.group(2)) if match else (text, "")
                if para.bookmark("g") == "end":  # the group ended before this section (render marks it)
                    group = None
                section = Section(no=no, title=title, group=group)  # a group line heads every section after it
                chapter.sections.append(section)
        elif node.tag == f"{W}tbl":
            rows = [tr for tr in node if tr.tag == f"{W}tr"]
            first = [_text(p).strip() for p in rows[0].iter(f"{W}p")] if rows else []
            if first[:1] == ["略称"]:
                abbreviations.extend(_abbreviations(reader, rows))
            elif section is not None:
                _read_rows_table(reader, rows, chapter, section)
    if not chapters:
        raise InputError(f"{path}: annex render が出力した別添の Word ファイルではありません（章の見出しが見つかりません）")
    for chapter in chapters:
        for section in chapter.sections:
            section.heading_style = _heading_style(section)
    return Annex(
        source=reader.title or path.stem,
        abbreviations=abbreviations,
        chapters=chapters,
        footnotes=reader.footnotes(),
    )


def _heading_style(section: Section) -> str | None:
    columns = {s.column for row in section.rows for s in (row.subheadings or [])}
    if columns == {"status", "policy"}:
        return "mirrored"
    if columns == {"status"}:
        return "col2"
    if columns == {"policy"}:
        return "col3"
    return None


def _read_rows_table(reader: _Reader, rows: list, chapter: Chapter, section: Section) -> None:
    current: tuple[list[_Para], list[dict]] | None = None

    def flush() -> None:
        if current is not None:
            fallback = f"{chapter.no}-{section.no}-{len(section.rows) + 1:02d}"
            section.rows.append(_build_row(current[0], current[1], fallback))

    for tr in rows:
        if _is_header(reader, tr):
            continue
        cells = _cells(tr)
        if len(cells) < 3:
            continue
        paras = [[reader.para(p) for p in tc.iter(f"{W}p")] for tc in cells[:3]]
        if _vmerge(cells[0]) in (None, "restart"):
            flush()
            current = (paras[0], [])
        elif current is None:
            current = ([], [])
        current[1].append({"status": _cell_items(paras[1]), "policy": _cell_items(paras[2])})
    flush()


def _abbreviations(reader: _Reader, rows: list) -> list[Abbreviation]:
    out: list[Abbreviation] = []
    group: str | None = None
    for tr in rows:
        if _is_header(reader, tr):
            continue
        cells = _cells(tr)
        if len(cells) == 1:
            group = reader.para(cells[0].find(f"{W}p")).text().strip() or None
            continue
        if len(cells) < 2:
            continue
        abbr_paras = [reader.para(p) for p in cells[0].iter(f"{W}p")]
        abbr = "".join(p.text() for p in abbr_paras).strip()
        if abbr == "略称":
            continue
        member = any(p.style == "abbr_member" for p in abbr_paras)
        names, abolished = [], False
        for p in (reader.para(p) for p in cells[1].iter(f"{W}p")):
            text = p.plain()
            if p.styled("abolished"):
                abolished = True
            elif text.endswith(ABOLISHED_MARK):
                text, abolished = text[: -len(ABOLISHED_MARK)], True
            if text:
                names.append(text)
        parent = group if member and group in ("内閣官房", "内閣府") else None
        out.append(Abbreviation(abbr=abbr, names=names, parent=parent, abolished=abolished))
    return out
