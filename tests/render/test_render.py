"""annex render, Word side: the corpus master rendered through templates/annex.docx and read back
with python-docx — every chapter, section, row, bullet and footnote is where the published
layout puts it. (The PDF is tested in test_pdf.py; reading the docx back into a master in
test_docx_import.py.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from annex.master.importer import import_annex, read_annex_file
from annex.master.store import read_master
from annex.model.annex import COLUMN_LABELS, COLUMNS, MEASURE_LABEL, Annex
from annex.model.config import bundled_path, load_config, shipped_template
from annex.render import BODY_MARKER, LABELS, TemplateError, build_context, context_json, read_annex_docx, render_docx
from annex.render.context import ABBREVIATION_HEADERS, MAX_SUBROWS_PER_TABLE
from annex.workspace.layout import Workspace
from annex.workspace.master import import_into_workspace
from annex.workspace.render import render_year
from flows.cli import main

PROJECT_ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = shipped_template("annex.docx")
HEADER = [MEASURE_LABEL, COLUMN_LABELS["status"], COLUMN_LABELS["policy"]]


@pytest.fixture(scope="module")
def master() -> Annex:
    return import_annex(read_annex_file(bundled_path("annex_2025.json")), load_config(None).tags, 2025).annex


@pytest.fixture(scope="module")
def rendered(master, tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("render") / "annex.docx"
    context = build_context(master)
    render_docx(context, TEMPLATE, out)
    return context, out


@pytest.fixture(scope="module")
def document(rendered):
    return docx.Document(str(rendered[1]))


# -- reading helpers (python-docx objects; never table.cell(i, j), which is quadratic) ---------
def body_items(document):
    for child in document.element.body.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, document)
        elif child.tag == qn("w:tbl"):
            yield Table(child, document)


def style(paragraph: Paragraph) -> str:
    return paragraph.style.name


def cell_paragraphs(tc, document) -> list[Paragraph]:
    return [Paragraph(p, document) for p in tc.iterchildren(qn("w:p"))]


def table_rows(table: Table, document):
    """[(is_header, [cell paragraphs…], measure vMerge value)] per w:tr."""
    for tr in table._tbl.tr_lst:
        tcs = tr.tc_lst
        header = tr.trPr is not None and tr.trPr.find(qn("w:tblHeader")) is not None
        vmerge = tcs[0].tcPr.find(qn("w:vMerge")) if tcs[0].tcPr is not None else None
        vm = None if vmerge is None else (vmerge.get(qn("w:val")) or "continue")
        yield header, [cell_paragraphs(tc, document) for tc in tcs], vm


def read_rows(table: Table, document) -> list[dict]:
    """The 取組 of one table as printed: measure text and the paragraphs of each column."""
    rows: list[dict] = []
    for header, cells, vm in table_rows(table, document):
        if header:
            continue
        if vm in (None, "restart"):
            rows.append({"measure": "\n".join(p.text for p in cells[0]), "status": [], "policy": [], "subrows": 0})
        rows[-1]["subrows"] += 1
        for column, paragraphs in zip(COLUMNS, cells[1:]):
            rows[-1][column] += [p for p in paragraphs if p.text]
    return rows


def rendered_measure(row) -> str:
    tags = f"【{'、'.join(row.measure_tags)}】" if row.measure_tags else ""
    return f"{row.measure_marker or ''}{row.measure}{'（再掲）' if row.measure_relisted else ''}{tags}"


# -- the context --------------------------------------------------------------------------------
def test_context_is_json_and_building_it_is_pure(master):
    before = master.model_dump(mode="json")
    first, second = build_context(master), build_context(master)
    assert first == second
    assert json.loads(context_json(first)) == first
    assert master.model_dump(mode="json") == before
    bullets = [
        i
        for b in first["blocks"]
        if b["type"] == "table"
        for r in b["rows"]
        for s in r["subrows"]
        for c in COLUMNS
        for i in s[c]
        if i["kind"] == "bullet"
    ]
    assert len(bullets) == master.counts()["bullets"] == 461
    assert first["footnote_numbering"] == {"mode": "auto", "start": 165}
    assert [n["number"] for n in first["footnotes"]] == list(range(165, 173))


def test_every_table_is_short_and_a_long_section_is_cut_between_rows(master):
    context = build_context(master)
    for block in context["blocks"]:
        if block["type"] == "table":
            assert sum(len(r["subrows"]) for r in block["rows"]) <= max(
                MAX_SUBROWS_PER_TABLE, max(len(r["subrows"]) for r in block["rows"])
            )
    big = master.model_copy(deep=True)
    section = big.chapters[0].sections[0]
    template_row = section.rows[0]
    section.rows = []
    for i in range(60):  # 60 取組 × 9 sub-rows = 540 sub-rows in one section
        row = template_row.model_copy(deep=True)
        row.id = f"3-①-{i + 1:02d}"
        section.rows.append(row)
    tables = [b for b in build_context(big)["blocks"] if b["type"] == "table"]
    first_section_tables = tables[: len(tables) - sum(1 for c in master.chapters for s in c.sections) + 1]
    assert len(first_section_tables) >= 540 // MAX_SUBROWS_PER_TABLE
    assert all(sum(len(r["subrows"]) for r in t["rows"]) <= MAX_SUBROWS_PER_TABLE for t in first_section_tables)
    assert sum(len(t["rows"]) for t in first_section_tables) == 60


# -- the Word file ------------------------------------------------------------------------------
def test_chapters_sections_and_group_lines_in_order(master, document):
    """As published: the group line （戦略的に取り組むべき基盤技術） once, before its first section."""
    expected = []
    for chapter in master.chapters:
        expected.append(("heading 1", f"{chapter.no_raw}．{chapter.title}"))
        group = None
        for section in chapter.sections:
            if section.group and section.group != group:
                expected.append(("別添 節の区分", section.group))
            group = section.group
            expected.append(("heading 2", f"{section.no}　{section.title}"))
    assert sum(1 for kind, _ in expected if kind == "別添 節の区分") == 1  # chapter ４ (1)–(5): one group
    seen = [
        (style(p).lower() if style(p).startswith("Heading") else style(p), p.text)
        for p in document.paragraphs
        if style(p) in ("Heading 1", "Heading 2", "別添 節の区分")
    ]
    assert seen == expected


def test_preamble_labels_items_and_footnote_references(master, document):
    chapter = master.chapters[0]
    paragraphs = [p for p in document.paragraphs if style(p) in ("別添 ラベル", "別添 本文", "別添 目標・指標")]
    pre = chapter.preamble
    expected = [("別添 ラベル", LABELS["vision"])] + [("別添 本文", t) for t in pre.vision]
    expected += [("別添 ラベル", LABELS["goals"])] + [("別添 目標・指標", "・ " + t) for t in pre.goals]
    expected += [("別添 ラベル", LABELS["key_indicators"])] + [("別添 目標・指標", "・ " + i.text) for i in pre.key_indicators]
    expected += [("別添 ラベル", LABELS["reference_indicators"])] + [
        ("別添 目標・指標", "・ " + i.text) for i in pre.reference_indicators
    ]
    expected += [("別添 本文", t) for t in master.chapters[1].preamble.intro]
    assert [(style(p), p.text) for p in paragraphs] == expected
    # each indicator paragraph carries a real footnote reference
    indicators = [p for p in paragraphs if style(p) == "別添 目標・指標" and p._p.findall(".//" + qn("w:footnoteReference"))]
    assert len(indicators) == len(pre.key_indicators) + len(pre.reference_indicators) == 8


def test_footnotes_are_real_word_footnotes_numbered_as_published(master, rendered):
    _, path = rendered
    with zipfile.ZipFile(path) as zf:
        document_xml = zf.read("word/document.xml").decode()
        footnotes_xml = zf.read("word/footnotes.xml").decode()
        rels = zf.read("word/_rels/document.xml.rels").decode()
    assert "relationships/footnotes" in rels
    assert re.search(r'<w:footnotePr>.*<w:numStart w:val="165"/>.*</w:footnotePr>', document_xml)
    refs = re.findall(r'<w:footnoteReference w:id="(\d+)"/>', document_xml)
    assert len(refs) == 8 and len(set(refs)) == 8
    doc = docx.Document(str(path))
    notes_part = next(r.target_part for r in doc.part.rels.values() if r.reltype.endswith("/footnotes"))
    from lxml import etree

    root = etree.fromstring(notes_part.blob)
    texts = {}
    for note in root.iter(qn("w:footnote")):
        if note.get(qn("w:type")) in ("separator", "continuationSeparator"):
            continue
        assert note.find(".//" + qn("w:footnoteRef")) is not None  # the number is Word's own
        texts[note.get(qn("w:id"))] = "".join(t.text for t in note.iter(qn("w:t"))).removeprefix(" ")
    # displayed number = numStart + order of reference; the text is the master's footnote
    for order, xml_id in enumerate(refs):
        assert texts[xml_id] == master.footnotes[str(165 + order)]
    assert "<w:footnoteRef/>" in footnotes_xml


def test_three_column_tables_with_a_repeating_header_row(master, document):
    tables = [t for t in document.tables if len(t.columns) == 3]
    assert len(tables) == sum(len(c.sections) for c in master.chapters) == 12
    for table in tables:
        first = table._tbl.tr_lst[0]
        assert first.trPr.find(qn("w:tblHeader")) is not None
        assert [c.text for c in table.rows[0].cells] == HEADER
        assert table.style.name == "別添 取組表"
        assert sum(1 for tr in table._tbl.tr_lst if tr.trPr is not None and tr.trPr.find(qn("w:tblHeader")) is not None) == 1


def test_every_row_and_bullet_in_order_with_tags_and_relisted(master, document):
    tables = iter(t for t in document.tables if len(t.columns) == 3)
    for chapter in master.chapters:
        for section in chapter.sections:
            printed = read_rows(next(tables), document)
            assert [r["measure"] for r in printed] == [rendered_measure(r) for r in section.rows]
            for row, got in zip(section.rows, printed):
                for column in COLUMNS:
                    bullets = [p for p in got[column] if style(p) == "別添 項目"]
                    assert [p.text for p in bullets] == [b.rendered() for b in row.bullets(column)], row.id
                    for paragraph, bullet in zip(bullets, row.bullets(column)):
                        runs = {
                            r.style.name: r.text
                            for r in paragraph.runs
                            if r.style is not None and r.style.name.startswith("別添")
                        }
                        assert runs.get("別添 タグ") == (f"【{'、'.join(bullet.tags)}】" if bullet.tags else None)
                        assert runs.get("別添 再掲") == ("（再掲）" if bullet.relisted else None)


def test_measures_carry_their_marker_and_tags_in_a_merged_cell(master, document):
    tables = [t for t in document.tables if len(t.columns) == 3]
    restarts = sum(1 for t in tables for h, _, vm in table_rows(t, document) if not h and vm == "restart")
    assert restarts == master.counts()["rows"] == 33
    printed = [r for t in tables for r in read_rows(t, document)]
    markers = [r["measure"][0] for r in printed if r["measure"][0] in "〇○"]
    assert markers == [row.measure_marker for _, _, row in master.rows() if row.measure_marker]
    assert set(markers) == {"〇", "○"}  # the document uses both; each is printed as it was
    ai = next(r for r in printed if r["measure"].startswith("人工知能（ＡＩ）"))
    assert ai["subrows"] > 76  # status and policy bullets side by side in sub-rows, plus heading sub-rows


def test_subheadings_sit_in_their_column_in_place(master, document):
    tables = [t for t in document.tables if len(t.columns) == 3]
    printed = {r["measure"]: r for t in tables for r in read_rows(t, document)}
    for _, _section, row in master.rows():
        got = printed[rendered_measure(row)]
        for column in COLUMNS:
            headings = [p.text for p in got[column] if style(p).startswith("別添 小見出し")]
            assert headings == [s.text for s in (row.subheadings or []) if s.column == column], row.id
            if not headings:
                continue
            # each bullet sits under the heading it belongs to (the last one printed above it)
            current, under = None, []
            for p in got[column]:
                if style(p).startswith("別添 小見出し"):
                    current = p.text
                elif style(p) == "別添 項目":
                    under.append(current)
            assert under == [b.heading for b in row.bullets(column)], row.id
    ai = printed[rendered_measure(master.chapters[1].sections[0].rows[0])]
    levels = {p.text: style(p) for p in ai["status"] if style(p).startswith("別添 小見出し")}
    assert levels["＜ＡＩの安全・安心の確保＞"] == "別添 小見出し1" and levels["≪ＡＩの安全性の検討≫"] == "別添 小見出し2"


def test_empty_cells_show_a_lone_dash(master, document):
    tables = [t for t in document.tables if len(t.columns) == 3]
    printed = [r for t in tables for r in read_rows(t, document)]
    dashes = [(p.text, col) for r in printed for col in COLUMNS for p in r[col] if style(p) == "別添 空欄"]
    expected = [(m.marker, m.column) for _, _, row in master.rows() for m in (row.empty_cell_markers or [])]
    assert sorted(dashes) == sorted(expected) and len(dashes) == 5


def test_abbreviation_table_at_the_end_with_groups_and_abolished(master, document):
    items = list(body_items(document))
    last_table = [i for i in items if isinstance(i, Table)][-1]
    assert [c.text for c in last_table.rows[0].cells] == list(ABBREVIATION_HEADERS)
    rows = list(table_rows(last_table, document))[1:]
    groups = [cells[0][0].text for _, cells, _ in rows if len(cells) == 1]
    assert groups == ["内閣官房", "内閣府"]
    entries = [cells for _, cells, _ in rows if len(cells) == 2]
    assert [c[0][0].text for c in entries] == [a.abbr for a in master.abbreviations]
    for cells, abbr in zip(entries, master.abbreviations):
        names = [p.text for p in cells[1]]
        if abbr.abolished:
            assert names[-1].endswith("【廃止】")
            names[-1] = names[-1].removesuffix("【廃止】")
        assert names == abbr.names
        assert (style(cells[0][0]) == "別添 略称（内閣官房・内閣府）") == (abbr.parent is not None)


def test_a4_page_numbers_and_explicit_east_asian_fonts(rendered, document):
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    footer_xml = section.footer._element.xml
    assert "PAGE" in footer_xml
    with zipfile.ZipFile(rendered[1]) as zf:
        styles_xml = zf.read("word/styles.xml").decode()
    assert "Theme=" not in styles_xml  # theme fonts would override the named ones
    defaults = re.search(r"<w:rPrDefault>.*?</w:rPrDefault>", styles_xml, re.S).group(0)
    assert 'w:eastAsia="IPAexMincho"' in defaults and 'w:eastAsia="ja-JP"' in defaults
    heading = re.search(r'<w:style [^>]*w:styleId="Heading1".*?</w:style>', styles_xml, re.S).group(0)
    assert 'w:eastAsia="IPAexGothic"' in heading
    assert BODY_MARKER not in "".join(p.text for p in document.paragraphs)


# -- the template is the secretariat's: styles are found by name, not by id -----------------------
def _rewrite_template(tmp_path: Path, transform) -> Path:
    out = tmp_path / "restyled.docx"
    with zipfile.ZipFile(TEMPLATE) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith(".xml"):
                data = transform(info.filename, data.decode()).encode()
            zout.writestr(info.filename, data)
    return out


def test_a_template_resaved_by_japanese_word_still_renders_and_reads_back(master, tmp_path):
    """Japanese Word saves style ids like "1", "a3": the renderer must look styles up by name."""
    with zipfile.ZipFile(TEMPLATE) as zf:
        ids = re.findall(r'w:styleId="([^"]+)"', zf.read("word/styles.xml").decode())
    mapping = {old: f"a{i}" for i, old in enumerate(ids)}

    def rename(name: str, text: str) -> str:
        text = re.sub(r'w:styleId="([^"]+)"', lambda m: f'w:styleId="{mapping[m.group(1)]}"', text)
        text = re.sub(
            r'(<w:(?:basedOn|next|pStyle|rStyle|tblStyle) w:val=")([^"]+)"',
            lambda m: m.group(1) + mapping.get(m.group(2), m.group(2)) + '"',
            text,
        )
        # and make the body text larger, as a secretariat restyling in Word would
        return text.replace('<w:sz w:val="20"/><w:szCs w:val="20"/>', '<w:sz w:val="22"/><w:szCs w:val="22"/>')

    template = _rewrite_template(tmp_path, rename)
    out = tmp_path / "annex.docx"
    render_docx(build_context(master), template, out)
    with zipfile.ZipFile(out) as zf:
        assert 'w:pStyle w:val="Heading1"' not in zf.read("word/document.xml").decode()
        assert '<w:sz w:val="22"/>' in zf.read("word/styles.xml").decode()
    document = docx.Document(str(out))
    assert [p.text for p in document.paragraphs if p.style.name == "Heading 1"][0].startswith("３．")
    from annex.render.reader import read_annex_docx

    back = read_annex_docx(out)
    back.year = master.year
    assert back.model_dump(mode="json") == master.model_dump(mode="json")


def test_a_template_missing_a_style_is_refused_in_plain_japanese(master, tmp_path):
    template = _rewrite_template(
        tmp_path, lambda name, text: text.replace('w:val="別添 タグ"', 'w:val="Tags"') if name == "word/styles.xml" else text
    )
    with pytest.raises(TemplateError, match="必要なスタイルがありません: 別添 タグ"):
        render_docx(build_context(master), template, tmp_path / "x.docx")
    with pytest.raises(TemplateError, match="見つかりません"):
        render_docx(build_context(master), tmp_path / "none.docx", tmp_path / "x.docx")


def test_control_characters_are_dropped_and_reported(master, tmp_path):
    dirty = master.model_copy(deep=True)
    dirty.chapters[0].sections[0].rows[0].status[0].text = "制御\x07文字"
    context = build_context(dirty)
    assert any("制御文字 1 字" in w for w in context["warnings"])
    render_docx(context, TEMPLATE, tmp_path / "x.docx")
    texts = [
        "".join(t.text or "" for t in p.iter(qn("w:t")))
        for p in docx.Document(str(tmp_path / "x.docx")).element.body.iter(qn("w:p"))
    ]
    assert "・制御文字" in texts


def test_control_characters_in_any_field_are_dropped_and_reported(master, tmp_path):
    """Titles, sub-headings, footnotes and the abbreviation table reach Word too, not only bullets."""
    dirty = master.model_copy(deep=True)
    dirty.chapters[0].title = "章\x01題"
    dirty.chapters[0].sections[0].title = "節\x02題"
    dirty.footnotes[next(iter(dirty.footnotes))] = "脚\x03注"
    dirty.abbreviations[0].names = ["府\x04省"]
    context = build_context(dirty)
    assert len([w for w in context["warnings"] if "制御文字 1 字" in w]) == 4
    located = {w.split(":")[0] for w in context["warnings"]}
    assert {"３", "①", "略称 ＮＩＳＣ"} <= located and any(w.startswith("脚注 ") for w in located)
    render_docx(context, TEMPLATE, tmp_path / "x.docx")
    body = "".join(t.text or "" for t in docx.Document(str(tmp_path / "x.docx")).element.body.iter(qn("w:t")))
    assert "章題" in body and "節題" in body and "府省" in body


# -- render_year and the CLI (PDF switched off or LibreOffice hidden: test_pdf.py covers it) -------
@pytest.fixture
def workspace(tmp_path) -> Workspace:
    ws = Workspace.at(tmp_path / "ws")
    import_into_workspace(ws, bundled_path("annex_2025.json"), 2025)
    return ws


def test_render_year_without_libreoffice_still_delivers_the_docx_and_says_why(workspace, monkeypatch):
    stale = workspace.output(2025) / "annex.pdf"
    stale.write_bytes(b"%PDF-1.4 old")
    monkeypatch.setenv("ANNEX_SOFFICE", str(workspace.root / "no-such-soffice"))
    result = render_year(workspace, 2025)
    assert not result.pdf_produced and "LibreOffice" in result.pdf_reason and "出力済み" in result.pdf_reason
    assert result.docx_path == workspace.output(2025) / "annex.docx" and result.docx_path.exists()
    context = json.loads((workspace.output(2025) / "annex-context.json").read_text(encoding="utf-8"))
    assert context["counts"]["bullets"] == 461
    assert not stale.exists() and result.removed_stale_pdf
    assert not list(workspace.output(2025).glob(".annex-render-*"))  # scratch cleaned up
    assert len(docx.Document(str(result.docx_path)).tables) == 13


def test_cli_render_prints_what_it_wrote(workspace, capsys):
    main(["render", "--year", "2025", "-w", str(workspace.root), "--no-pdf"])
    out = capsys.readouterr().out
    assert "別添を出力しました（2025年度）" in out
    assert str(workspace.output(2025) / "annex.docx") in out and "annex-context.json" in out
    assert "PDF は作成していません" in out


def test_cli_render_without_a_master_is_one_japanese_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["render", "--year", "2031", "-w", str(tmp_path)])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("エラー:") and "master.json" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "output" / "2031").exists()


def test_the_shipped_template_matches_the_script_that_builds_it(tmp_path):
    """templates/annex.docx is what tools/make_annex_template.py builds: same styles, same page."""
    out = tmp_path / "annex.docx"
    subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "tools" / "make_annex_template.py"), str(out)], check=True, capture_output=True
    )

    def shape(path: Path):
        document = docx.Document(str(path))
        section = document.sections[0]
        styles = sorted(
            (
                int(s.type),
                s.name,
                getattr(getattr(s, "font", None), "size", None),
                s.element.xpath("string(w:rPr/w:rFonts/@w:eastAsia)"),
            )
            for s in document.styles
        )
        page = (
            section.page_width,
            section.page_height,
            section.left_margin,
            section.right_margin,
            section.top_margin,
            section.bottom_margin,
        )
        return styles, page, [p.text for p in document.paragraphs]

    assert shape(out) == shape(TEMPLATE), "templates/annex.docx is out of date: run python tools/make_annex_template.py"


def test_the_documents_title_subject_and_dates_are_this_years_and_the_runs(workspace):
    """Not the master's source name (English, last year's) nor the template's fixed date."""
    import datetime as dt

    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = render_year(workspace, 2025, pdf=False)
    props = docx.Document(str(result.docx_path)).core_properties
    assert props.title == workspace.config.title_for(2025) == "統合イノベーション戦略2025 別添"
    assert not re.search(r"[A-Za-z]", props.title) and re.search(r"[\u4e00-\u9fff]", props.subject)
    created = props.created if props.created.tzinfo else props.created.replace(tzinfo=dt.UTC)
    assert created >= before and props.modified == props.created
    # and the master's own source name still comes back on import
    assert read_annex_docx(result.docx_path).source == read_master(workspace.master_json(2025)).source
