"""The model: master.json → model → master.json is identical, for the corpus and generated annexes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from annex.config import bundled_path
from annex.model import Annex, Bullet, assign_missing_ids, bullet_id
from annex.importer import parse_annex_json

CORPUS_TEXT = bundled_path("annex_2025.json").read_text(encoding="utf-8")

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30)
tags = st.lists(st.sampled_from(["文", "経", "科技", "関係府省", "NISC", "総"]), max_size=3)
maybe = lambda s: st.none() | s  # noqa: E731

bullets = st.builds(
    Bullet,
    text=text,
    tags=tags,
    relisted=st.booleans(),
    heading=maybe(text),
    heading_path=maybe(st.lists(text, min_size=1, max_size=2)),
    footnotes=maybe(st.lists(st.integers(1, 300), max_size=2)),
    relisted_of=maybe(text),
    not_updated=st.booleans(),
)


@st.composite
def annexes(draw) -> Annex:
    chapters = []
    for c in range(draw(st.integers(1, 2))):
        sections = []
        for s in range(draw(st.integers(1, 2))):
            rows = []
            for r in range(draw(st.integers(1, 3))):
                rows.append(
                    {
                        "id": f"{c}-{s}-{r:02d}",
                        "measure": draw(text),
                        "measure_tags": draw(tags),
                        "measure_kind": draw(st.sampled_from(["measure", "narrative"])),
                        "measure_marker": draw(st.sampled_from([None, "〇", "○"])),
                        "measure_relisted": draw(st.booleans()),
                        "status": draw(st.lists(bullets, max_size=3)),
                        "policy": draw(st.lists(bullets, max_size=3)),
                        "subheadings": draw(maybe(st.lists(st.builds(dict, column=st.sampled_from(["status", "policy"]), text=text), max_size=2))),
                    }
                )
            sections.append({"no": str(s), "title": draw(text), "group": draw(maybe(text)), "heading_style": draw(st.sampled_from([None, "mirrored", "col2"])), "rows": rows})
        chapters.append({"no": str(c), "no_raw": str(c), "title": draw(text), "preamble": {"vision": draw(st.lists(text, max_size=2)), "intro": draw(maybe(st.lists(text, max_size=1)))}, "sections": sections})
    return Annex.model_validate({"source": draw(text), "year": draw(maybe(st.integers(2020, 2040))), "chapters": chapters, "footnotes": draw(st.dictionaries(st.integers(1, 300).map(str), text, max_size=3))})


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
