"""annex import of a Word file written by annex render: the same master comes back (bootstrap a
year from last year's published .docx)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annex.master.importer import import_annex, read_annex_file
from annex.model.annex import Annex, assign_missing_ids, assign_missing_positions
from annex.model.config import bundled_path, load_config, shipped_template
from annex.model.errors import InputError
from annex.render import build_context, render_docx
from annex.render.reader import read_annex_docx
from annex.workspace.layout import Workspace
from annex.workspace.master import import_into_workspace
from flows.cli import main

TEMPLATE = shipped_template("annex.docx")


@pytest.fixture(scope="module")
def master() -> Annex:
    return import_annex(read_annex_file(bundled_path("annex_2025.json")), load_config(None).tags, 2025).annex


def with_ids(annex: Annex) -> Annex:
    """A master always has ids and numbered sub-rows (import assigns them); ids ride in bookmarks
    through Word, sub-rows are the table's rows."""
    assign_missing_ids(annex)
    assign_missing_positions(annex)
    return annex


def round_trip(annex: Annex, path: Path) -> Annex:
    render_docx(build_context(annex), TEMPLATE, path)
    back = read_annex_docx(path)
    back.year = annex.year
    return back


def dump(annex: Annex, *, ids: bool = True) -> dict:
    data = annex.model_dump(mode="json")
    if not ids:
        for chapter in data["chapters"]:
            for section in chapter["sections"]:
                for row in section["rows"]:
                    for column in ("status", "policy"):
                        for bullet in row[column]:
                            bullet.pop("id", None)
    return data


def _edit_document(src: Path, dst: Path, edit) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "word/document.xml":
                data = edit(data.decode()).encode()
            zout.writestr(info.filename, data)
    return dst


def test_the_whole_corpus_round_trips_exactly_ids_included(master, tmp_path):
    back = round_trip(master, tmp_path / "annex.docx")
    assert back.counts() == master.counts()
    assert dump(back) == dump(master)


def test_without_the_hidden_ids_everything_but_bullet_ids_comes_back(master, tmp_path):
    """A Word file whose bookmarks were lost (copied, re-typed) still rebuilds the master, ids aside."""
    rendered = tmp_path / "annex.docx"
    render_docx(build_context(master), TEMPLATE, rendered)
    stripped = _edit_document(
        rendered, tmp_path / "stripped.docx", lambda xml: re.sub(r"<w:bookmark(Start|End) [^>]*/>", "", xml)
    )
    back = read_annex_docx(stripped)
    assert all(b.id is None for _, _, b in back.bullets())
    back.year = master.year
    assert dump(back, ids=False) == dump(master, ids=False)  # row ids come back from their position
    # and import gives them the same deterministic ids again
    again = import_annex(back, load_config(None).tags, 2025).annex
    assert dump(again) == dump(master)


def test_cli_import_of_the_rendered_word_file_rebuilds_the_same_master(tmp_path, capsys):
    first = Workspace.at(tmp_path / "a")
    import_into_workspace(first, bundled_path("annex_2025.json"), 2025)
    main(["render", "--year", "2025", "-w", str(first.root), "--no-pdf"])
    main(["import", str(first.output(2025) / "annex.docx"), "--year", "2025", "-w", str(tmp_path / "b")])
    out = capsys.readouterr().out
    assert "項目数: 入力 461 → 出力 461" in out and "新たに付けた項目ID: 0" in out
    second = Workspace.at(tmp_path / "b")
    assert json.loads(second.master_json(2025).read_text("utf-8")) == json.loads(first.master_json(2025).read_text("utf-8"))


def test_a_bullet_typed_in_word_is_read_from_its_printed_form(master, tmp_path):
    rendered = tmp_path / "annex.docx"
    render_docx(build_context(master), TEMPLATE, rendered)
    with zipfile.ZipFile(rendered) as zf:
        styles = zf.read("word/styles.xml").decode()
    bullet_style = re.search(r'w:styleId="([^"]+)"><w:name w:val="別添 項目"/>', styles).group(1)
    typed = f'<w:p><w:pPr><w:pStyle w:val="{bullet_style}"/></w:pPr><w:r><w:t>・新たに追記した項目。（再掲）【文、経】</w:t></w:r></w:p>'

    def add_to_first_status_cell(xml: str) -> str:
        # the first body row of the first table: its second cell gets one more paragraph
        table = xml.index("<w:tbl>")
        second_row = xml.index("<w:tr>", xml.index("</w:tr>", table))
        second_cell = xml.index("<w:tc>", xml.index("</w:tc>", second_row))
        end = xml.index("</w:tc>", second_cell)
        return xml[:end] + typed + xml[end:]

    edited = _edit_document(rendered, tmp_path / "edited.docx", add_to_first_status_cell)
    back = read_annex_docx(edited)
    status = back.chapters[0].sections[0].rows[0].status
    assert len(status) == len(master.chapters[0].sections[0].rows[0].status) + 1
    new = status[1]
    assert (new.id, new.text, new.relisted, new.tags) == (None, "新たに追記した項目。", True, ["文", "経"])
    result = import_annex(back, load_config(None).tags, 2025)
    assert result.ids_assigned == 1 and result.bullets_out == 462


EDGE = {
    "source": "端のケース",
    "abbreviations": [
        {"abbr": "ＮＩＳＣ", "names": ["内閣サイバーセキュリティセンター"], "parent": "内閣官房"},
        {"abbr": "人", "names": ["人事院"]},
        {"abbr": "子子", "names": ["子ども・子育て本部", "別名の部局"], "parent": "内閣府", "abolished": True},
        {"abbr": "文", "names": ["文部科学省", "スポーツ庁", "文化庁"]},
    ],
    "footnotes": {"7": "後から引かれる脚注", "3": "先に引かれる脚注\n二段落目", "9": "二度引かれる脚注"},
    "chapters": [
        {
            "no": "1",
            "no_raw": "１",
            "title": "見出し．ピリオド入り",
            "preamble": {
                "intro": ["前書き。"],
                "vision": ["一段落目。", "あるべき姿の水準を示す。"],
                "vision_footnotes": [{"paragraph": 1, "footnotes": [7], "offsets": [7]}],
                "key_indicators": [{"text": "指標Ａ", "footnotes": [7], "footnote_offsets": [3]}],
                "reference_indicators": [{"text": "指標Ｂの値", "footnotes": [3, 9], "footnote_offsets": [3, 3]}],
            },
            "sections": [
                {
                    "no": "（１）",
                    "title": "区分あり",
                    "group": "（区分）",
                    "rows": [
                        {
                            "id": "1-x-01",
                            "measure": "一段落目\n二段落目",
                            "measure_tags": ["文", "経"],
                            "measure_marker": "○",
                            "measure_relisted": True,
                            "measure_footnotes": [3, 9],
                            "measure_footnote_offsets": [2, 7],
                            "status": [
                                {"text": "タブ\tと改行\nを含む", "heading": None, "footnotes": [9], "footnote_offsets": [2]},
                                {"text": "末尾が【参考】で終わるがタグなし【参考】", "tags": []},
                            ],
                            "policy": [{"text": "（再掲）で終わる文（再掲）", "relisted": False, "tags": ["文"]}],
                            "empty_cell_markers": [{"column": "policy", "marker": "―"}, {"column": "status", "marker": "－"}],
                        },
                    ],
                },
                {
                    "no": "（２）",
                    "title": "区分なし",
                    "heading_style": "col3",
                    "rows": [
                        {
                            "id": "1-y-01",
                            "measure": "説明文の取組",
                            "measure_kind": "narrative",
                            "status": [
                                {"text": "前", "heading": None},
                                {"text": "甲", "heading": "＜Ａ＞", "heading_path": ["＜Ａ＞"]},
                                {"text": "乙", "heading": "≪ａ≫", "heading_path": ["＜Ａ＞", "≪ａ≫"]},
                            ],
                            "policy": [
                                {"text": "丙", "heading": "＜Ａ＞", "heading_path": ["＜Ａ＞"]},
                                {"text": "丁", "heading": "≪ａ≫", "heading_path": ["＜Ａ＞", "≪ａ≫"]},
                            ],
                            "subheadings": [
                                {"column": "policy", "text": "＜Ａ＞"},
                                {"column": "policy", "text": "≪ａ≫"},
                                {"column": "policy", "text": "＜見出しだけ＞"},
                            ],
                        },
                        {"id": "1-y-02", "measure": "空の取組", "status": [], "policy": []},
                    ],
                },
            ],
        }
    ],
}


def test_the_awkward_cases_round_trip(tmp_path):
    """Footnotes cited out of order and twice, 「－」 in both columns, headings of one column only,
    a sub-heading with nothing under it, tabs and line breaks, text that looks like a tag block,
    a section without a group after one with, abbreviations outside and inside the groups."""
    annex = with_ids(Annex.model_validate(EDGE))
    context = build_context(annex)
    assert context["footnote_numbering"]["mode"] == "custom"  # 7, 3, 9: not consecutive
    back = round_trip(annex, tmp_path / "edge.docx")
    assert dump(back) == dump(annex)


_TEXT = st.text(alphabet="あい漢字ＡＢab12　 ・、。（）【】「」＜＞≪≫－―〇○再掲\t\n", min_size=1, max_size=30).filter(
    lambda t: t.strip() == t and t.strip("\n\t") and not t.startswith("・")
)
_TAGS = st.lists(st.sampled_from(["文", "経", "科技", "関係府省", "ＡＭＥＤ室"]), max_size=3)


@st.composite
def _bullet(draw) -> dict:
    """A bullet, with footnote marks at random places in its text (mid-sentence or at its end)."""
    text = draw(_TEXT)
    numbers = draw(st.lists(st.integers(1, 400), max_size=2, unique=True))
    offsets = sorted(draw(st.lists(st.integers(0, len(text)), min_size=len(numbers), max_size=len(numbers))))
    out = {"text": text, "tags": draw(_TAGS), "relisted": draw(st.booleans())}
    return out | ({"footnotes": numbers, "footnote_offsets": offsets} if numbers else {})


_BULLET = _bullet()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.lists(_BULLET, max_size=4), st.lists(_BULLET, max_size=4), st.sampled_from(["〇", "○", None])),
        min_size=1,
        max_size=4,
    )
)
def test_any_bullets_round_trip(rows, tmp_path):
    cited = {n for status, policy, _ in rows for b in status + policy for n in b.get("footnotes", [])}
    annex = with_ids(
        Annex.model_validate(
            {
                "source": "性質テスト",
                "footnotes": {str(n): f"脚注{n}の本文" for n in cited},
                "chapters": [
                    {
                        "no": "3",
                        "no_raw": "３",
                        "title": "章",
                        "sections": [
                            {
                                "no": "①",
                                "title": "節",
                                "rows": [
                                    {
                                        "id": f"3-①-{i:02d}",
                                        "measure": "取組",
                                        "measure_marker": marker,
                                        "measure_kind": "measure" if marker else "narrative",
                                        "status": status,
                                        "policy": policy,
                                    }
                                    for i, (status, policy, marker) in enumerate(rows, 1)
                                ],
                            }
                        ],
                    }
                ],
            }
        )
    )
    assert dump(round_trip(annex, tmp_path / "p.docx")) == dump(annex)


def test_files_that_are_not_a_rendered_annex_are_refused_plainly(tmp_path):
    fake = tmp_path / "fake.docx"
    fake.write_text("これは Word ではありません", encoding="utf-8")
    with pytest.raises(InputError, match="Word ファイル（.docx）として開けません"):
        read_annex_file(fake)
    with pytest.raises(InputError, match="章の見出しが見つかりません"):
        read_annex_file(TEMPLATE)  # a valid .docx, but no annex in it


def test_a_long_section_cut_into_several_tables_reads_back_as_one_section(master, tmp_path):
    big = master.model_copy(deep=True)
    section = big.chapters[0].sections[0]
    first = section.rows[0]
    section.rows = []
    for i in range(40):  # 40 取組 × 9 sub-rows: more than one table's worth
        row = first.model_copy(deep=True)
        row.id = f"3-①-{i + 1:02d}"
        for bullet in row.status + row.policy:
            bullet.id = f"{row.id}-{bullet.id.rsplit('-', 1)[1]}"
        section.rows.append(row)
    path = tmp_path / "big.docx"
    back = round_trip(big, path)
    assert dump(back) == dump(big)
    with zipfile.ZipFile(path) as zf:
        body = zf.read("word/document.xml").decode()
    assert body.count("<w:tbl>") > 1 + 12 and "</w:tbl><w:tbl>" not in body  # cut, and never two tables touching
    assert body.rstrip().endswith("</w:sectPr></w:body></w:document>") and "</w:tbl><w:sectPr" not in body


def _style_id(docx: Path, name: str) -> str:
    with zipfile.ZipFile(docx) as zf:
        styles = zf.read("word/styles.xml").decode()
    return re.search(rf'w:styleId="([^"]+)"><w:name w:val="{name}"/>', styles).group(1)


@pytest.mark.parametrize("also", ["nothing else", "header style removed", "header relabelled"])
def test_a_header_row_without_repeat_as_header_is_still_the_header(tmp_path, also):
    """Unticking 「タイトル行の繰り返し」 in Word removes w:tblHeader: the header row is recognised by its
    labels or by its style, and is not read back as a 取組."""
    annex = with_ids(Annex.model_validate(EDGE))
    rendered = tmp_path / "annex.docx"
    render_docx(build_context(annex), TEMPLATE, rendered)
    header_style = _style_id(rendered, "別添 表の見出し行")

    def edit(xml: str) -> str:
        assert "<w:tblHeader/>" in xml
        xml = xml.replace("<w:tblHeader/>", "")
        if also == "header style removed":
            assert f'<w:pStyle w:val="{header_style}"/>' in xml
            xml = xml.replace(f'<w:pStyle w:val="{header_style}"/>', "")
        elif also == "header relabelled":
            assert ">基本計画における具体的な取組<" in xml
            xml = xml.replace(">基本計画における具体的な取組<", ">具体的な取組<").replace(">今後の取組方針<", ">今後の方針<")
        return xml

    back = read_annex_docx(_edit_document(rendered, tmp_path / "no_header_flag.docx", edit))
    back.year = annex.year
    assert dump(back) == dump(annex)


AUTO_NOTES = {
    "source": "自動番号の脚注",
    "footnotes": {"1": "一つ目の脚注", "2": "二つ目の脚注", "3": "三つ目の脚注"},
    "chapters": [
        {
            "no": "1",
            "no_raw": "１",
            "title": "章",
            "sections": [
                {
                    "no": "（１）",
                    "title": "節",
                    "rows": [
                        {
                            "id": "1-1-01",
                            "measure": "取組",
                            "status": [{"text": "甲", "footnotes": [1]}],
                            "policy": [{"text": "乙", "footnotes": [2]}],
                        },
                        {"id": "1-1-02", "measure": "次の取組", "status": [{"text": "丙", "footnotes": [3]}]},
                    ],
                }
            ],
        }
    ],
}


def test_auto_numbered_footnotes_in_a_table_without_header_row_are_counted_once(tmp_path):
    """A table whose header row was deleted in Word: its first row is a 取組 with auto-numbered
    footnotes, and looking at it (is this the 略称 table?) must not advance the numbering."""
    annex = with_ids(Annex.model_validate(AUTO_NOTES))
    context = build_context(annex)
    assert context["footnote_numbering"]["mode"] == "auto"
    rendered = tmp_path / "annex.docx"
    render_docx(context, TEMPLATE, rendered)

    def delete_header_row(xml: str) -> str:
        start = xml.index("<w:tr><w:trPr><w:cantSplit/><w:tblHeader/>")
        return xml[:start] + xml[xml.index("</w:tr>", start) + len("</w:tr>") :]

    back = read_annex_docx(_edit_document(rendered, tmp_path / "headless.docx", delete_header_row))
    back.year = annex.year
    assert dump(back) == dump(annex)
