"""Ownership (DESIGN.md §1) and tag resolution on the real corpus."""

from __future__ import annotations

import pytest

from annex.master.importer import import_annex, read_annex_file
from annex.model.annex import Bullet, Row
from annex.model.config import bundled_path, load_config
from annex.model.ownership import Ownership, bullet_owners, ministries_in_annex, row_owners


@pytest.fixture(scope="module")
def config():
    return load_config(None)


@pytest.fixture(scope="module")
def master(config):
    return import_annex(read_annex_file(bundled_path("annex_2025.json")), config.tags, 2025).annex


def test_tag_resolution(config):
    tags = config.tags
    assert tags.resolve("文").kind == "ministry"
    assert tags.resolve("関係府省").kind == "pseudo"
    assert tags.resolve("NISC").canonical == "ＮＩＳＣ"
    assert tags.resolve("AMED 室").canonical == "ＡＭＥＤ室"
    unknown = tags.resolve("文科")
    assert unknown.kind == "unknown" and unknown.suggestion == "文"
    assert tags.suggest("ＤＥＪＩ") is None or tags.suggest("ＤＥＪＩ") in tags.ministries


def test_policy_bullet_belongs_to_its_tags(config):
    row = Row(id="r", measure="m", measure_tags=["文"], policy=[Bullet(text="x", tags=["科技", "経"])])
    assert bullet_owners(row, "policy", row.policy[0], config.tags, "科技") == ["科技", "経"]


def test_status_bullet_belongs_to_its_tags_else_its_submitter_else_its_sub_row_else_row_owners(config):
    row = Row(
        id="r",
        measure="m",
        measure_tags=["文", "経", "総"],
        status=[
            Bullet(text="beside 経", subrow=1),
            Bullet(text="added", submitted_by="総", subrow=1),
            Bullet(text="beside nobody", subrow=2),
            Bullet(text="tagged", tags=["文"], subrow=1),
        ],
        policy=[Bullet(text="p", tags=["経", "関係府省"], subrow=1), Bullet(text="q", tags=["関係府省"], subrow=2)],
    )
    owners = [bullet_owners(row, "status", b, config.tags, "科技") for b in row.status]
    assert owners == [["経"], ["総"], ["文", "経", "総"], ["文"]]


def test_in_the_ai_row_a_status_bullet_is_owned_by_the_ministries_beside_it_not_by_the_whole_row(master, config):
    """4-（１）-01: about twenty ministries share the row, but 警察庁's 「警察活動の高度化…」 is 警察庁's."""
    row = master.row_index()["4-（１）-01"]
    owners = {b.text[:12]: bullet_owners(row, "status", b, config.tags, "科技") for b in row.status}
    police = next(o for text, o in owners.items() if text.startswith("警察活動の高度化"))
    assert police == ["警"]
    assert len(row_owners(row, config.tags, "科技")) > 10
    single = sum(1 for o in owners.values() if len(o) == 1)
    assert single > len(owners) / 2


def test_narrative_row_is_owned_by_its_bullets_tags(config):
    row = Row(
        id="r",
        measure="m",
        measure_kind="narrative",
        policy=[Bullet(text="x", tags=["経"]), Bullet(text="y", tags=["NISC", "文"])],
    )
    assert row_owners(row, config.tags, "科技") == ["ＮＩＳＣ", "文", "経"]


def test_pseudo_tag_only_falls_back_to_row_owners_then_secretariat(config):
    row = Row(id="r", measure="m", measure_tags=["関係府省"], policy=[Bullet(text="x", tags=["関係府省"])])
    assert bullet_owners(row, "policy", row.policy[0], config.tags, "科技") == ["科技"]


def test_every_bullet_of_the_corpus_has_an_owner_present_in_its_rows(master, config):
    rows = ministries_in_annex(master, config.tags, "科技")
    for row, column, bullet in master.bullets():
        owners = bullet_owners(row, column, bullet, config.tags, "科技")
        assert owners
        for owner in owners:
            assert owner in config.ministry_by_abbr
            assert row.id in rows[owner]
    assert {"文", "経", "科技", "ＮＩＳＣ", "個人"} <= set(rows)


def test_the_ownership_map_computed_once_answers_as_bullet_owners_does_for_every_bullet_and_row(master, config):
    ownership = Ownership.of(master, config.tags, "科技")
    for row, column, bullet in master.bullets():
        assert ownership.of_bullet(row, column, bullet) == bullet_owners(row, column, bullet, config.tags, "科技")
    assert ownership.rows == {row.id: row_owners(row, config.tags, "科技") for _, _, row in master.rows()}
    assert ownership.ministries() == set(ministries_in_annex(master, config.tags, "科技"))


def test_the_ownership_map_asks_again_about_a_bullet_it_does_not_hold(config):
    row = Row(id="r", measure="m", measure_tags=["文"], policy=[Bullet(id="r-P01", text="x", tags=["経"])])
    ownership = Ownership.of(_annex_of(row), config.tags, "科技")
    new = Bullet(text="新規", tags=[])  # no id: not in the annex the map was made of
    assert ownership.of_bullet(row, "policy", new) == ["文"]
    twin = Row(id="r2", measure="m", measure_tags=["総"], policy=[Bullet(id="r-P01", text="y", tags=[])])
    both = Ownership.of(_annex_of(row, twin), config.tags, "科技")  # one id on two bullets names neither alone
    assert both.of_bullet(row, "policy", row.policy[0]) == ["経"]
    assert both.of_bullet(twin, "policy", twin.policy[0]) == ["総"]


def _annex_of(*rows):
    from annex.model.annex import Annex, Chapter, Section

    section = Section(no="①", title="節", rows=list(rows))
    return Annex(source="test", chapters=[Chapter(no="1", no_raw="１．", title="章", sections=[section])])
