"""The model: master.json → model → master.json is identical, for the corpus and generated annexes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annex.master.importer import parse_annex_json
from annex.model.annex import (
    Annex,
    Bullet,
    EmptyCellMarker,
    Row,
    assign_missing_ids,
    bullet_id,
    number_subrows,
)
from annex.model.config import bundled_path
from annex.model.errors import InputError

CORPUS_TEXT = bundled_path("annex_2025.json").read_text(encoding="utf-8")

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30)
tags = st.lists(st.sampled_from(["文", "経", "科技", "関係府省", "NISC", "総"]), max_size=3)
maybe = lambda s: st.none() | s  # noqa: E731


@st.composite
def cited(draw, of: str) -> tuple[list[int], list[int]]:
    """Footnote numbers and, for each, a random offset in ``of`` (in text order)."""
    numbers = draw(st.lists(st.integers(1, 300), max_size=3))
    offsets = sorted(draw(st.lists(st.integers(0, len(of)), min_size=len(numbers), max_size=len(numbers))))
    return numbers, offsets


@st.composite
def bullets(draw) -> Bullet:
    body = draw(text)
    numbers, offsets = draw(cited(body))
    return Bullet(
        text=body,
        tags=draw(tags),
        relisted=draw(st.booleans()),
        heading=draw(maybe(text)),
        heading_path=draw(maybe(st.lists(text, min_size=1, max_size=2))),
        footnotes=numbers or None,
        footnote_offsets=offsets or None,
        subrow=draw(maybe(st.integers(1, 9))),
        relisted_of=draw(maybe(text)),
        not_updated=draw(st.booleans()),
    )


@st.composite
def indicators(draw) -> dict:
    body = draw(text)
    numbers, offsets = draw(cited(body))
    return {"text": body, "footnotes": numbers, "footnote_offsets": offsets}


@st.composite
def annexes(draw) -> Annex:
    chapters = []
    for c in range(draw(st.integers(1, 2))):
        sections = []
        for s in range(draw(st.integers(1, 2))):
            rows = []
            for r in range(draw(st.integers(1, 3))):
                measure = draw(text)
                numbers, offsets = draw(cited(measure))
                rows.append(
                    {
                        "id": f"{c}-{s}-{r:02d}",
                        "measure": measure,
                        "measure_footnotes": numbers or None,
                        "measure_footnote_offsets": offsets or None,
                        "measure_tags": draw(tags),
                        "measure_kind": draw(st.sampled_from(["measure", "narrative"])),
                        "measure_marker": draw(st.sampled_from([None, "〇", "○"])),
                        "measure_relisted": draw(st.booleans()),
                        "status": draw(st.lists(bullets(), max_size=3)),
                        "policy": draw(st.lists(bullets(), max_size=3)),
                        "empty_cell_markers": draw(
                            maybe(
                                st.lists(
                                    st.builds(
                                        dict,
                                        column=st.sampled_from(["status", "policy"]),
                                        marker=st.sampled_from(["－", "―"]),
                                        subrow=st.integers(1, 9),
                                    ),
                                    min_size=1,
                                    max_size=2,
                                )
                            )
                        ),
                        "subheadings": draw(
                            maybe(st.lists(st.builds(dict, column=st.sampled_from(["status", "policy"]), text=text), max_size=2))
                        ),
                    }
                )
            sections.append(
                {
                    "no": str(s),
                    "title": draw(text),
                    "group": draw(maybe(text)),
                    "heading_style": draw(st.sampled_from([None, "mirrored", "col2"])),
                    "rows": rows,
                }
            )
        vision = draw(st.lists(text, max_size=2))
        vision_footnotes = []
        for k, paragraph in enumerate(vision):
            numbers, offsets = draw(cited(paragraph))
            if numbers:
                vision_footnotes.append({"paragraph": k, "footnotes": numbers, "offsets": offsets})
        preamble = {
            "vision": vision,
            "vision_footnotes": vision_footnotes or None,
            "key_indicators": draw(st.lists(indicators(), max_size=2)),
            "reference_indicators": draw(st.lists(indicators(), max_size=2)),
            "intro": draw(maybe(st.lists(text, max_size=1))),
        }
        chapters.append({"no": str(c), "no_raw": str(c), "title": draw(text), "preamble": preamble, "sections": sections})
    return Annex.model_validate(
        {
            "source": draw(text),
            "year": draw(maybe(st.integers(2020, 2040))),
            "chapters": chapters,
            "footnotes": draw(st.dictionaries(st.integers(1, 300).map(str), text, max_size=3)),
        }
    )


def test_corpus_round_trips_exactly():
    annex = parse_annex_json(CORPUS_TEXT, "corpus")
    assert annex.model_dump(mode="json") == json.loads(CORPUS_TEXT)
    again = parse_annex_json(annex.to_json(), "master")
    assert again.to_json() == annex.to_json()


def test_master_with_ids_round_trips_exactly():
    annex = parse_annex_json(CORPUS_TEXT, "corpus")
    assign_missing_ids(annex)
    text_once = annex.to_json()
    assert parse_annex_json(text_once, "master").to_json() == text_once


@settings(max_examples=60, deadline=None)
@given(annexes())
def test_generated_annexes_round_trip(annex: Annex):
    assign_missing_ids(annex)
    text_once = annex.to_json()
    back = parse_annex_json(text_once, "generated")
    assert back == annex
    assert back.to_json() == text_once


@settings(max_examples=60, deadline=None)
@given(annexes())
def test_master_json_is_the_json_module_form_with_defaults_omitted(annex: Annex):
    """master.json is written by pydantic's core (10× faster at a million bullets) but must stay the
    bytes of json.dumps(…, ensure_ascii=False, indent=1), every key of _omit_when_default left out
    while it holds its default, and present once it does not."""
    assign_missing_ids(annex)
    data = annex.model_dump(mode="json")
    assert annex.to_json() == json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    for _, _, bullet in annex.bullets():
        dumped = bullet.model_dump(mode="json")
        for key in type(bullet)._omit_when_default:
            assert (key in dumped) == (getattr(bullet, key) != type(bullet).model_fields[key].default)


def test_omitted_keys_come_back_when_set():
    bullet = Bullet(text="本文", tags=["文"])
    assert "subrow" not in bullet.model_dump() and "not_updated" not in bullet.model_dump()
    bullet.subrow, bullet.not_updated = 2, True
    assert bullet.model_dump()["subrow"] == 2 and bullet.model_dump()["not_updated"] is True


@settings(max_examples=60, deadline=None)
@given(annexes())
def test_json_is_pydantics_dump_and_a_deep_copy_shares_nothing(annex: Annex):
    assign_missing_ids(annex)
    # to_json walks the tree itself (fast at scale): it must write what pydantic's dump gives
    assert annex.to_json() == json.dumps(annex.model_dump(mode="json"), ensure_ascii=False, indent=1) + "\n"
    with tempfile.TemporaryDirectory() as folder:  # and the master.json written piece by piece holds the same
        annex.write_json(Path(folder) / "master.json")
        assert (Path(folder) / "master.json").read_bytes() == annex.to_json().encode("utf-8")
    before = annex.to_json()
    copy = annex.deep_copy()
    assert copy == annex and copy.to_json() == before
    for _, _, row in copy.rows():
        row.measure_tags.append("変更")
        for bullet in (*row.status, *row.policy):
            bullet.text += "（変更）"
            bullet.tags.append("変更")
    copy.footnotes["999"] = "変更"
    assert annex.to_json() == before  # the original is as it was


@settings(max_examples=40, deadline=None)
@given(annexes())
def test_ids_are_unique_and_never_reuse_retired_ones(annex: Annex):
    first_row = next(annex.rows(), None)
    retired = {bullet_id(first_row[2].id, "status", 1)} if first_row else set()
    assign_missing_ids(annex, retired)
    ids = [b.id for _, _, b in annex.bullets()]
    assert len(ids) == len(set(ids))
    assert not retired & set(ids)


def test_rendered_bullet_matches_the_published_notation():
    b = Bullet(text="ＡＩ戦略を推進。", tags=["科技", "文"], relisted=True)
    assert b.rendered() == "・ＡＩ戦略を推進。（再掲）【科技、文】"
    assert Bullet(text="検討。", tags=[]).rendered() == "・検討。"


def test_footnote_offsets_outside_the_text_or_unpaired_are_refused_with_their_place():
    doc = json.loads(CORPUS_TEXT)
    indicator = doc["chapters"][0]["preamble"]["key_indicators"][0]
    indicator["footnote_offsets"] = [len(indicator["text"]) + 1]
    with pytest.raises(InputError, match=r"chapters\[0\]\.preamble\.key_indicators\[0\].*本文.*外"):
        parse_annex_json(json.dumps(doc, ensure_ascii=False), "broken.json")
    indicator["footnote_offsets"] = [1, 2]
    with pytest.raises(InputError, match="脚注 1 件に対して位置が 2 件"):
        parse_annex_json(json.dumps(doc, ensure_ascii=False), "broken.json")


def test_a_row_without_sub_rows_gets_them_as_laid_out_before_and_new_bullets_join_their_neighbour():
    row = Row(
        id="1-1-01",
        measure="取組",
        status=[Bullet(text="甲"), Bullet(text="乙"), Bullet(text="丙", heading="＜Ａ＞")],
        policy=[Bullet(text="子"), Bullet(text="丑", heading="＜Ａ＞")],
        empty_cell_markers=[EmptyCellMarker(column="policy", marker="－")],
    )
    number_subrows(row)
    assert [b.subrow for b in row.status] == [1, 2, 3] and [b.subrow for b in row.policy] == [1, 3]
    assert row.empty_cell_markers[0].subrow == 2  # the policy cell beside 乙 was empty
    row.policy.insert(1, Bullet(text="新規"))
    row.status.append(Bullet(text="末尾の新規"))
    number_subrows(row)
    assert row.policy[1].subrow == 1 and row.status[-1].subrow == 3
