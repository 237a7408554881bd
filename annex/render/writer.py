"""Step 2 of rendering: a context (annex.render.context) → annex.docx, inside a copy of the template.

Two steps, each testable alone:

* ``build_context(annex)`` is pure. It makes every layout decision (which sub-heading sits in
  which cell, how status and policy bullets line up in sub-rows beside the merged measure cell,
  where a 「－」 goes, how tables are cut, how footnotes are numbered) and returns plain data
  that is saved as ``output/<Y>/annex-context.json``.
* ``render_docx(context, template, out)`` only translates that data into WordprocessingML,
  inside a copy of ``templates/annex.docx``. It sets no fonts, sizes or borders of its own: every
  paragraph, character and table style is looked up *by name* in the template, so the
  secretariat restyles the annex in Word (fonts, margins, heading styles, table style) without
  touching code. (Japanese Word rewrites style ids — 「見出し 1」 is saved as id "1" — so ids are
  never hard-coded.)

Why a direct-XML builder and not docxtpl: the layout needs vertically merged measure cells over
a variable number of sub-rows, real footnotes with their published numbers, nested sub-headings
and hidden id bookmarks. docxtpl's nested-loop vertical merge is a known open bug (docxtpl#618),
it has no footnote support, and building the XML directly is also the fastest measured route
(research/performance_baselines.md §6). The template still owns the look; the code owns only
the structure.

The reverse, ``annex.render.reader.read_annex_docx``, reads the same structure back, so a
secretariat can bootstrap a year from last year's Word file.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from lxml import etree

from annex.model.annex import RELISTED_MARK
from annex.model.errors import AnnexError, InputError
from annex.render.context import CONTEXT_SCHEMA
from annex.render.ooxml import (
    ABOLISHED_MARK,
    BODY_MARKER,
    CHARACTER_STYLES,
    CT_NS,
    FOOTNOTES_CT,
    FOOTNOTES_RT,
    ITEM_BULLET,
    PARAGRAPH_STYLES,
    PKG_REL_NS,
    R_NS,
    SOURCE_PREFIX,
    SUBHEADING_KEYS,
    TABLE_BULLET,
    TABLE_STYLES,
    W_NS,
    W,
    encode_bookmark,
    style_ids,
)

# the review copy's marks (w:highlight values): yellow catches the eye where nothing was updated
REVIEW_HIGHLIGHTS = {"not_updated": "yellow", "modified": "cyan", "added": "green"}
TEMPLATE_NAME = "annex.docx"
SUBJECT = "科学技術・イノベーション基本計画の実施状況と今後の取組方針（別添）"
# Column widths of the 取組 table, as shares of the text width (measure | status | policy).
TABLE_SHARES = (0.30, 0.35, 0.35)
ABBREVIATION_SHARES = (0.25, 0.75)


class TemplateError(InputError):
    """The Word template cannot be used (missing, not a .docx, a needed style deleted)."""


# ----------------------------------------------------------------------------------------------
# Step 2: fill the template
# ----------------------------------------------------------------------------------------------
def _t(text: str) -> str:
    """Runs' inner XML for text: tabs and line breaks become w:tab / w:br."""
    parts = []
    for i, line in enumerate(text.split("\n")):
        if i:
            parts.append("<w:br/>")
        for j, chunk in enumerate(line.split("\t")):
            if j:
                parts.append("<w:tab/>")
            if chunk:
                parts.append(f'<w:t xml:space="preserve">{escape(chunk)}</w:t>')
    return "".join(parts)


class _Writer:
    """Builds the body XML as one string (the fastest measured route; ~10 ms per 1,500 rows)."""

    def __init__(self, styles: dict[str, str], text_width: int, numbering: dict, notes: dict[int, str]):
        self.styles = styles  # key → style id in this template
        self.text_width = text_width
        self.numbering = numbering
        self.note_texts = notes
        self.parts: list[str] = []
        self.footnotes: list[tuple[int, int, str]] = []  # (xml id, number, text)
        self.bookmark_id = 0
        self.tables = 0

    # -- pieces ------------------------------------------------------------------------------
    def run(self, text: str, style: str | None = None, highlight: str | None = None) -> str:
        props = (f'<w:rStyle w:val="{self.styles[style]}"/>' if style else "") + (
            f'<w:highlight w:val="{highlight}"/>' if highlight else ""
        )
        rpr = f"<w:rPr>{props}</w:rPr>" if props else ""
        return f"<w:r>{rpr}{_t(text)}</w:r>"

    def marked(self, text: str, cites: list[dict], style: str | None = None, highlight: str | None = None) -> str:
        """Runs of text with each footnote reference at its offset (text[:offset] before it)."""
        out, done = [], 0
        for cite in sorted(cites, key=lambda c: c["offset"]):
            offset = min(max(cite["offset"], done), len(text))
            if offset > done:
                out.append(self.run(text[done:offset], style, highlight))
            out.append(self.footnote_runs([cite]))
            done = offset
        if done < len(text):
            out.append(self.run(text[done:], style, highlight))
        return "".join(out)

    def footnote_runs(self, cites: list[dict]) -> str:
        out = []
        ref = self.styles["footnote_ref"]
        for cite in cites:
            number = cite["number"]
            if cite["first"]:
                xml_id = len(self.footnotes) + 1
                self.footnotes.append((xml_id, number, self.note_texts.get(number, "")))
                if self.numbering["mode"] == "auto":
                    out.append(f'<w:r><w:rPr><w:rStyle w:val="{ref}"/></w:rPr><w:footnoteReference w:id="{xml_id}"/></w:r>')
                else:
                    out.append(
                        f'<w:r><w:rPr><w:rStyle w:val="{ref}"/></w:rPr><w:footnoteReference w:customMarkFollows="1" w:id="{xml_id}"/>'
                        f"<w:t>{number}</w:t></w:r>"
                    )
            else:  # a second citation of the same note: its number, styled as a reference
                out.append(f'<w:r><w:rPr><w:rStyle w:val="{ref}"/></w:rPr><w:t>{number}</w:t></w:r>')
        return "".join(out)

    def bookmark(self, kind: str, value: str | None) -> tuple[str, str]:
        name = encode_bookmark(kind, value) if value else None
        if not name:
            return "", ""
        self.bookmark_id += 1
        i = self.bookmark_id
        return f'<w:bookmarkStart w:id="{i}" w:name="{name}"/>', f'<w:bookmarkEnd w:id="{i}"/>'

    def para(self, style: str, inner: str, extra_ppr: str = "") -> str:
        return f'<w:p><w:pPr><w:pStyle w:val="{self.styles[style]}"/>{extra_ppr}</w:pPr>{inner}</w:p>'

    # -- blocks ------------------------------------------------------------------------------
    def block(self, block: dict) -> None:
        kind = block["type"]
        if kind == "chapter":
            self.parts.append(self.para("chapter", self.run(block["text"])))
        elif kind == "section":
            start, end = self.bookmark("g", "end") if block.get("ends_group") else ("", "")
            self.parts.append(self.para("section", start + self.run(block["text"]) + end))
        elif kind == "group":
            self.parts.append(self.para("group", self.run(block["text"])))
        elif kind == "label":
            self.parts.append(self.para("label", self.run(block["text"])))
        elif kind == "review":  # the review copy's legend, highlighted as the bullets it explains
            runs = "".join(
                self.run(part["text"], None, REVIEW_HIGHLIGHTS.get(part.get("review") or "")) for part in block["parts"]
            )
            self.parts.append(self.para("prose", runs))
        elif kind == "prose":
            self.parts.append(self.para("prose", self.marked(block["text"], block["footnotes"])))
        elif kind == "item":
            self.parts.append(self.para("item", self.run(ITEM_BULLET) + self.marked(block["text"], block["footnotes"])))
        elif kind == "table":
            self.table(block["rows"])
        else:  # pragma: no cover - the context is ours
            raise AnnexError(f"描画できない要素です: {kind}")

    def _tc(self, width: int, inner: str, extra: str = "") -> str:
        return f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{extra}</w:tcPr>{inner}</w:tc>'

    def _widths(self, shares: tuple[float, ...]) -> list[int]:
        widths = [int(self.text_width * s) for s in shares]
        widths[-1] = self.text_width - sum(widths[:-1])
        return widths

    def _table_open(self, style: str, widths: list[int]) -> str:
        grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
        return (
            f'<w:tbl><w:tblPr><w:tblStyle w:val="{self.styles[style]}"/><w:tblW w:w="{sum(widths)}" w:type="dxa"/>'
            '<w:tblLayout w:type="fixed"/>'
            '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" w:noHBand="1" w:noVBand="1"/>'
            f"</w:tblPr><w:tblGrid>{grid}</w:tblGrid>"
        )

    def _header_row(self, labels: list[str], widths: list[int]) -> str:
        cells = "".join(self._tc(w, self.para("table_header", self.run(t))) for w, t in zip(widths, labels))
        return f"<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>{cells}</w:tr>"

    def measure_cell(self, row: dict) -> str:
        m = row["measure"]
        style = "narrative" if row["kind"] == "narrative" else "measure"
        start, end = self.bookmark("r", row["id"])
        paragraphs = m["paragraphs"] or [""]
        out = []
        for i, text in enumerate(paragraphs):
            inner = ""
            if i == 0:
                inner += start
                if m["marker"]:
                    inner += self.run(m["marker"], "mark")
            inner += self.marked(text, m["footnotes"][i] if m.get("footnotes") else [])
            if i == len(paragraphs) - 1:
                if m["relisted"]:
                    inner += self.run(RELISTED_MARK, "relisted")
                if m["tags"]:
                    inner += self.run(f"【{'、'.join(m['tags'])}】", "tags")
                inner += end
            out.append(self.para(style, inner))
        return "".join(out)

    def cell_items(self, items: list[dict]) -> str:
        if not items:
            return self.para("bullet", "")
        out = []
        for item in items:
            if item["kind"] == "heading":
                out.append(self.para(SUBHEADING_KEYS[min(item["level"], 3) - 1], self.run(item["text"])))
            elif item["kind"] == "empty":
                out.append(self.para("empty", self.run(item["text"])))
            else:
                start, end = self.bookmark("b", item["id"])
                mark = REVIEW_HIGHLIGHTS.get(item.get("review") or "")  # only in the review copy
                inner = start + self.run(TABLE_BULLET, None, mark) + self.marked(item["text"], item["footnotes"], None, mark)
                if item["relisted"]:
                    inner += self.run(RELISTED_MARK, "relisted", mark)
                if item["tags"]:
                    inner += self.run(f"【{'、'.join(item['tags'])}】", "tags", mark)
                inner += end
                out.append(self.para("bullet", inner))
        return "".join(out)

    def table(self, rows: list[dict]) -> None:
        widths = self._widths(TABLE_SHARES)
        self.tables += 1
        out = [self._table_open("table", widths), self._header_row(self.column_labels, widths)]
        inner_border = '<w:tcBorders><w:top w:val="dotted" w:sz="4" w:space="0" w:color="auto"/></w:tcBorders>'
        for row in rows:
            for k, sub in enumerate(row["subrows"]):
                if k == 0:
                    measure = self._tc(widths[0], self.measure_cell(row), '<w:vMerge w:val="restart"/>')
                else:
                    measure = self._tc(widths[0], self.para("measure", ""), "<w:vMerge/>")
                extra = inner_border if k else ""
                status = self._tc(widths[1], self.cell_items(sub["status"]), extra)
                policy = self._tc(widths[2], self.cell_items(sub["policy"]), extra)
                out.append(f"<w:tr>{measure}{status}{policy}</w:tr>")
        out.append("</w:tbl>")
        self.parts.append("".join(out))

    def abbreviations(self, abbreviations: dict) -> None:
        if not abbreviations["rows"]:
            return
        widths = self._widths(ABBREVIATION_SHARES)
        self.parts.append(self.para("abbr_title", self.run(abbreviations["title"])))
        out = [self._table_open("abbr_table", widths), self._header_row(abbreviations["headers"], widths)]
        for row in abbreviations["rows"]:
            if row["kind"] == "group":
                cell = self._tc(sum(widths), self.para("abbr_group", self.run(row["text"])), '<w:gridSpan w:val="2"/>')
                out.append(f"<w:tr><w:trPr><w:cantSplit/></w:trPr>{cell}</w:tr>")
                continue
            abbr = self.para("abbr_member" if row["member"] else "abbr", self.run(row["abbr"]))
            names = row["names"] or [""]
            paras = []
            for i, name in enumerate(names):
                inner = self.run(name) if name else ""
                if row["abolished"] and i == len(names) - 1:
                    inner += self.run(ABOLISHED_MARK, "abolished")
                paras.append(self.para("abbr_name", inner))
            out.append(
                f"<w:tr><w:trPr><w:cantSplit/></w:trPr>{self._tc(widths[0], abbr)}{self._tc(widths[1], ''.join(paras))}</w:tr>"
            )
        out.append("</w:tbl>")
        self.parts.append("".join(out))

    # -- footnotes part ----------------------------------------------------------------------
    def footnote_xml(self) -> list[str]:
        ref, text_style = self.styles["footnote_ref"], self.styles["footnote_text"]
        out = []
        for xml_id, number, text in self.footnotes:
            mark = "<w:footnoteRef/>" if self.numbering["mode"] == "auto" else f"<w:t>{number}</w:t>"
            paragraphs = text.split("\n") or [""]
            paras = []
            for i, para in enumerate(paragraphs):
                lead = (
                    f'<w:r><w:rPr><w:rStyle w:val="{ref}"/></w:rPr>{mark}</w:r><w:r><w:t xml:space="preserve"> </w:t></w:r>'
                    if i == 0
                    else ""
                )
                paras.append(f'<w:p><w:pPr><w:pStyle w:val="{text_style}"/></w:pPr>{lead}{self.run(para) if para else ""}</w:p>')
            out.append(f'<w:footnote w:id="{xml_id}">{"".join(paras)}</w:footnote>')
        return out


def _xml(fragment: str) -> etree._Element:
    return etree.fromstring(f'<w:body xmlns:w="{W_NS}" xmlns:r="{R_NS}">{fragment}</w:body>'.encode())


def _resolve_styles(styles_xml: bytes, template: Path) -> dict[str, str]:
    by_name = style_ids(styles_xml)
    resolved, missing = {}, []
    for table, kind in ((PARAGRAPH_STYLES, "paragraph"), (CHARACTER_STYLES, "character"), (TABLE_STYLES, "table")):
        for key, (_, name) in table.items():
            found = by_name.get(name.lower())
            if found and found[1] == kind:
                resolved[key] = found[0]
            else:
                missing.append(name)
    if missing:
        raise TemplateError(
            f"テンプレート {template} に必要なスタイルがありません: {'、'.join(missing)}",
            hint="templates/annex.docx のスタイル名は変えずに書式だけを変更してください",
        )
    return resolved


def _text_width(sect_pr: etree._Element | None) -> int:
    """Text width in twips from the template's page size and margins (A4, 20 mm margins if unset)."""
    width, left, right = 11906, 1134, 1134
    if sect_pr is not None:
        pg_sz, pg_mar = sect_pr.find(f"{W}pgSz"), sect_pr.find(f"{W}pgMar")
        if pg_sz is not None and pg_sz.get(f"{W}w"):
            width = int(pg_sz.get(f"{W}w"))
        if pg_mar is not None:
            left = int(pg_mar.get(f"{W}left", left))
            right = int(pg_mar.get(f"{W}right", right))
    return max(width - left - right, 2000)


# zlib level 1: deflating document.xml at the default 6 took as long as building it, for a
# file a fifth smaller (S: 132 KB instead of 105 KB); Word and LibreOffice read either.
DOCX_ZIP_LEVEL = 1
_SPLICE = "annex-body-splice-point"  # a comment render_docx puts where the body goes (not if the template has it)


def _paragraph_text(p: etree._Element) -> str:
    return "".join(t.text or "" for t in p.iter(f"{W}t"))


@dataclass
class DocxInfo:
    path: Path
    tables: int
    footnotes: int
    paragraphs: int  # top-level pieces written into the body (paragraphs and tables)
    revisions: int = 0  # tracked changes written (annex-redline.docx only)


def render_docx(context: dict, template_path: Path, out_path: Path, *, writer_factory=None, build=None) -> DocxInfo:
    """Fill the Word template with a context from build_context and write out_path (a .docx).

    ``writer_factory`` and ``build`` let annex.render.redline fill the same template with its own
    body (tracked changes) while sharing everything else: styles, numbering, footnotes, properties."""
    template_path = Path(template_path)
    if not template_path.exists():
        raise TemplateError(f"Word テンプレート {template_path} が見つかりません")
    if context.get("schema") != CONTEXT_SCHEMA:
        raise InputError(f"別添の描画データの形式が違います（{context.get('schema')!r}、必要: {CONTEXT_SCHEMA}）")
    try:
        with zipfile.ZipFile(template_path) as zin:
            parts = {info.filename: zin.read(info.filename) for info in zin.infolist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise TemplateError(f"Word テンプレート {template_path} を開けません（{exc}）") from None
    for needed in ("word/document.xml", "word/styles.xml", "[Content_Types].xml", "word/_rels/document.xml.rels"):
        if needed not in parts:
            raise TemplateError(f"Word テンプレート {template_path} は .docx ではありません（{needed} がありません）")
    styles = _resolve_styles(parts["word/styles.xml"], template_path)

    document = etree.fromstring(parts["word/document.xml"])
    body = document.find(f"{W}body")
    sect_pr = body.find(f"{W}sectPr")
    numbering = context["footnote_numbering"]
    notes = {n["number"]: n["text"] for n in context["footnotes"]}
    writer = (writer_factory or _Writer)(styles, _text_width(sect_pr), numbering, notes)
    writer.column_labels = context["column_labels"]
    if build is not None:
        build(writer)
    else:
        for block in context["blocks"]:
            writer.block(block)
        writer.abbreviations(context["abbreviations"])
    # Word needs a paragraph between two tables (else it merges them) and after a final table
    pieces: list[str] = []
    for part in writer.parts:
        if part.startswith("<w:tbl>") and pieces and pieces[-1].startswith("<w:tbl>"):
            pieces.append("<w:p/>")
        pieces.append(part)
    if pieces and pieces[-1].startswith("<w:tbl>"):
        pieces.append("<w:p/>")

    # The generated body is spliced into the serialised template as text where the template's
    # own prefixes are ours (Word's w: and r:): parsing it into the tree only to serialise it
    # again was half the time of a render. Any other template gets the nodes parsed.
    marker = next((p for p in body.iter(f"{W}p") if _paragraph_text(p).strip() == BODY_MARKER), None)
    if marker is not None:
        parent, index = marker.getparent(), marker.getparent().index(marker)
        parent.remove(marker)
    else:  # no marker: the body goes at the end, before the final section properties
        parent = body
        index = body.index(sect_pr) if sect_pr is not None else len(body)
    splice = (
        document.nsmap.get("w") == W_NS and document.nsmap.get("r") == R_NS and _SPLICE.encode() not in parts["word/document.xml"]
    )
    if splice:
        parent.insert(index, etree.Comment(_SPLICE))
    else:
        for offset, node in enumerate(_xml("".join(pieces))):
            parent.insert(index + offset, node)

    # footnote numbering: the published numbers (e.g. 165–172) continue the whole annex's count
    if sect_pr is not None:
        old = sect_pr.find(f"{W}footnotePr")
        if old is not None:
            sect_pr.remove(old)
        if writer.footnotes and numbering["mode"] == "auto":
            pr = etree.Element(f"{W}footnotePr")
            etree.SubElement(pr, f"{W}numFmt").set(f"{W}val", "decimal")
            etree.SubElement(pr, f"{W}numStart").set(f"{W}val", str(numbering["start"]))
            # footnotePr must precede the other sectPr children except headers/footers references
            position = 0
            for i, child in enumerate(sect_pr):
                if child.tag in (f"{W}headerReference", f"{W}footerReference"):
                    position = i + 1
            sect_pr.insert(position, pr)
    serialised = etree.tostring(document, xml_declaration=True, encoding="UTF-8", standalone=True)
    if splice:
        before, _, after = serialised.partition(f"<!--{_SPLICE}-->".encode())
        serialised = b"".join((before, "".join(pieces).encode(), after))
    parts["word/document.xml"] = serialised
    _write_footnotes(parts, writer.footnote_xml())
    _set_properties(parts, context)

    out_path = Path(out_path)
    with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED, compresslevel=DOCX_ZIP_LEVEL) as zout:
        order = ["[Content_Types].xml"] + [n for n in parts if n != "[Content_Types].xml"]
        for name in order:
            zout.writestr(name, parts[name])
    return DocxInfo(out_path, writer.tables, len(writer.footnotes), len(pieces), getattr(writer, "revision", 0))


_SEPARATORS = (
    f'<w:footnotes xmlns:w="{W_NS}" xmlns:r="{R_NS}">'
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
    "<w:r><w:separator/></w:r></w:p></w:footnote>"
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
    "<w:r><w:continuationSeparator/></w:r></w:p></w:footnote></w:footnotes>"
)


def _footnotes_part_name(parts: dict[str, bytes]) -> str:
    rels = etree.fromstring(parts["word/_rels/document.xml.rels"])
    for rel in rels:
        if rel.get("Type") == FOOTNOTES_RT:
            return "word/" + rel.get("Target").lstrip("/").removeprefix("word/")
    # the template has no footnotes part (Word drops it from documents without notes): add one
    ids = {rel.get("Id") for rel in rels}
    new_id = next(f"rId{i}" for i in range(100, 10_000) if f"rId{i}" not in ids)
    etree.SubElement(rels, f"{{{PKG_REL_NS}}}Relationship", Id=new_id, Type=FOOTNOTES_RT, Target="footnotes.xml")
    parts["word/_rels/document.xml.rels"] = etree.tostring(rels, xml_declaration=True, encoding="UTF-8", standalone=True)
    types = etree.fromstring(parts["[Content_Types].xml"])
    etree.SubElement(types, f"{{{CT_NS}}}Override", PartName="/word/footnotes.xml", ContentType=FOOTNOTES_CT)
    parts["[Content_Types].xml"] = etree.tostring(types, xml_declaration=True, encoding="UTF-8", standalone=True)
    parts["word/footnotes.xml"] = _SEPARATORS.encode()
    return "word/footnotes.xml"


def _write_footnotes(parts: dict[str, bytes], notes: list[str]) -> None:
    name = _footnotes_part_name(parts)
    root = etree.fromstring(parts.get(name) or _SEPARATORS.encode())
    for note in list(root):
        if note.get(f"{W}type") in (None, "normal"):
            root.remove(note)
    for node in _xml("".join(notes)):
        root.append(node)
    parts[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def _set_properties(parts: dict[str, bytes], context: dict) -> None:
    """File > Properties (and the PDF's title): this year's title, the annex as subject, the run's
    date — never the template's own — and the master's source name for the reader."""
    name = "docProps/core.xml"
    if name not in parts:
        return
    root = etree.fromstring(parts[name])

    def put(ns: str, tag: str, text: str, **attrs: str) -> None:
        node = root.find(f"{{{ns}}}{tag}")
        if node is None:
            node = etree.SubElement(root, f"{{{ns}}}{tag}")
        node.text = text
        for key, value in attrs.items():
            node.set(key, value)

    put(DC, "title", context.get("title") or context["source"])
    put(DC, "subject", SUBJECT)
    put(DC, "description", SOURCE_PREFIX + context["source"])
    if context.get("created"):
        for tag in ("created", "modified"):
            put(DCTERMS, tag, context["created"], **{f"{{{XSI}}}type": "dcterms:W3CDTF"})
    parts[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
