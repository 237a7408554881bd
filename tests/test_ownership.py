"""Ownership (DESIGN.md §1) and tag resolution on the real corpus."""

from __future__ import annotations

import pytest

from annex.model.config import bundled_path, load_config
from annex.master.importer import import_annex, read_annex_file
from annex.model.annex import Bullet, Row
from annex.model.ownership import bullet_owners, ministries_in_annex, row_owners


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


def test_status_bullet_belongs_to_submitter_else_row_owners(config):
    row = Row(id="r", measure="m", measure_tags=["文", "経"], status=[Bullet(text="x"), Bullet(text="y", submitted_by="経")])
    assert bullet_owners(row, "status", row.status[0], config.tags, "科技") == ["文", "経"]
    assert bullet_owners(row, "status", row.status[1], config.tags, "科技") == ["経"]


def test_narrative_row_is_owned_by_its_bullets_tags(config):
    row = Row(id="r", measure="m", measure_kind="narrative", policy=[Bullet(text="x", tags=["経"]), Bullet(text="y", tags=["NISC", "文"])])
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
