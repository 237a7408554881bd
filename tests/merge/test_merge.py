"""Merge: ownership, conflicts, placement, 未更新, preamble, and the properties of issue 5
(nothing lost, idempotent, independent of the order submissions arrived in)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from merge_fixtures import STATUS, annex, bullet, line, row, submission

from annex.merge.merge import merge
from annex.model.config import load_config
from annex.model.ownership import bullet_owners

CONFIG = load_config(None)


def previous():
    return annex(
        row(
            "3-①-01",
            ["文", "経"],
            status=[bullet("現状。", [], id="3-①-01-S01")],
            policy=[
                bullet("共管の方針。", ["文", "経"], id="3-①-01-P01"),
                bullet("文の方針。", ["文"], id="3-①-01-P02"),
                bullet("経の方針。", ["経"], id="3-①-01-P03"),
            ],
        ),
        row(
            "3-①-02",
            ["総"],
            policy=[
                bullet("共管の方針。", ["文", "経"], id="3-①-02-P01", relisted=True),
                bullet("総の方針。", ["総"], id="3-①-02-P02"),
            ],
        ),
    )


def texts(a, row_id, column="policy"):
    return [b.text for b in a.row_index()[row_id].bullets(column)]


def test_edit_delete_add_by_owners():
    subs = {
        "文": submission(
            "文",
            line("修正", item_id="3-①-01-P02", text="文の方針（改）。", tags=["文"]),
            line("新規", row_id="3-①-01", text="文の新しい方針。", tags=["文"]),
        ),
        "経": submission("経", line("削除", item_id="3-①-01-P03")),
    }
    result = merge(previous(), subs, CONFIG, year=2026)
    a = result.annex
    assert texts(a, "3-①-01") == ["共管の方針。", "文の方針（改）。", "文の新しい方針。"]
    assert a.retired_ids == ["3-①-01-P03"]
    assert result.counts() | {} == {
        "added": 1,
        "modified": 1,
        "deleted": 1,
        "not_updated": 1,
        "carried": 4,
        "preamble": 0,
        "conflicts": 0,
        "not_merged": 0,
    }
    p02 = a.bullet_index()["3-①-01-P02"][2]
    assert (p02.provenance.file, p02.provenance.sheet, p02.provenance.cell, p02.provenance.ministry) == (
        "文.xlsx",
        "記入シート",
        "H4",
        "文",
    )
    assert a.bullet_index()["3-①-02-P02"][2].not_updated  # 総 did not submit
    assert result.carried_over == ["総"]


def test_conflict_first_listed_owner_wins_and_both_versions_are_kept():
    subs = {
        "経": submission("経", line("修正", item_id="3-①-01-P01", text="経の版。", tags=["文", "経"])),
        "文": submission("文", line("修正", item_id="3-①-01-P01", text="文の版。", tags=["文", "経"])),
    }
    result = merge(previous(), subs, CONFIG, year=2026)
    (c,) = result.conflicts
    assert c.winner == "文" and c.item_id == "3-①-01-P01"
    assert {v.ministry: v.rendered for v in c.versions} == {"文": "・文の版。【文、経】", "経": "・経の版。【文、経】"}
    assert result.conflicts_of("経") == [c] and result.conflicts_of("文") == [c] and not result.conflicts_of("総")
    assert result.annex.bullet_index()["3-①-01-P01"][2].text == "文の版。"
    lost = [o for o in result.outcomes if o.outcome == "conflict_lost"]
    assert [(o.ministry, o.item_id) for o in lost] == [("経", "3-①-01-P01")]
    # the re-listing in 3-①-02 follows its (edited) original
    assert result.annex.bullet_index()["3-①-02-P01"][2].text == "文の版。"
    assert [d.kind for d in result.decisions if d.item_id == "3-①-02-P01"] == ["exact_text", "synced"]


def test_same_edit_by_two_owners_is_no_conflict():
    edit = dict(item_id="3-①-01-P01", text="同じ版。", tags=["文", "経"])
    result = merge(
        previous(), {"文": submission("文", line("修正", **edit)), "経": submission("経", line("修正", **edit))}, CONFIG
    )
    assert not result.conflicts and result.counts()["modified"] == 1


def test_non_owner_lines_are_not_merged_with_a_reason():
    subs = {
        "総": submission(
            "総",
            line("修正", item_id="3-①-01-P02", text="乗っ取り。", tags=["文"]),
            line("新規", row_id="3-①-01", text="他府省名義。", tags=["文"]),
            line("修正", item_id="NOPE", text="x", tags=["総"]),
        )
    }
    result = merge(previous(), subs, CONFIG)
    assert [o.outcome for o in result.outcomes] == ["not_merged"] * 3
    assert "担当府省は 文" in result.outcomes[0].reason
    assert texts(result.annex, "3-①-01") == texts(previous(), "3-①-01")


def test_unchanged_action_with_edited_text_counts_as_an_edit():
    subs = {"総": submission("総", line("変更なし", item_id="3-①-02-P02", text="総の方針（改）。", tags=["総"]))}
    result = merge(previous(), subs, CONFIG)
    (change,) = [c for c in result.changes if c.kind == "modified"]
    assert change.new == "・総の方針（改）。【総】" and "修正として反映" in change.note


def test_editing_a_relisting_alone_is_reverted_as_drift():
    subs = {"文": submission("文", line("修正", item_id="3-①-02-P01", text="再掲だけ変えた。", tags=["文", "経"], relisted=True))}
    result = merge(previous(), subs, CONFIG)
    assert result.annex.bullet_index()["3-①-02-P01"][2].text == "共管の方針。"
    (o,) = result.outcomes
    assert o.outcome == "drift_reverted" and "元の記載" in o.reason
    assert not [c for c in result.changes if c.kind == "modified"]
    assert any(d.kind == "drift_reverted" and d.item_id == "3-①-02-P01" for d in result.decisions)


def test_new_status_bullet_gets_submitted_by_and_goes_after_the_ministrys_last_bullet():
    prev = annex(
        row(
            "3-①-01",
            ["文", "経"],
            status=[
                bullet("文の現状。", [], id="S1", submitted_by="文"),
                bullet("経の現状。", [], id="S2", submitted_by="経"),
                bullet("文の現状2。", [], id="S3", submitted_by="文"),
                bullet("経の現状2。", [], id="S4", submitted_by="経"),
            ],
        )
    )
    subs = {
        "経": submission(
            "経",
            line("新規", row_id="3-①-01", field=STATUS, text="経の新1。"),
            line("新規", row_id="3-①-01", field=STATUS, text="経の新2。"),
        ),
        "文": submission("文", line("新規", row_id="3-①-01", field=STATUS, text="文の新。")),
    }
    a = merge(prev, subs, CONFIG).annex
    assert texts(a, "3-①-01", "status") == [
        "文の現状。",
        "経の現状。",
        "文の現状2。",
        "文の新。",
        "経の現状2。",
        "経の新1。",
        "経の新2。",
    ]
    new = a.row_index()["3-①-01"].status[3]
    assert new.submitted_by == "文" and new.id == "3-①-01-S01"


def test_deleted_ids_are_never_reused():
    prev = annex(row("3-①-01", ["文"], policy=[bullet("一。", ["文"], id="3-①-01-P01"), bullet("二。", ["文"], id="3-①-01-P02")]))
    prev.retired_ids = ["3-①-01-P03"]
    subs = {"文": submission("文", line("削除", item_id="3-①-01-P02"), line("新規", row_id="3-①-01", text="三。", tags=["文"]))}
    a = merge(prev, subs, CONFIG).annex
    assert [b.id for b in a.row_index()["3-①-01"].policy] == ["3-①-01-P01", "3-①-01-P04"]
    assert a.retired_ids == ["3-①-01-P02", "3-①-01-P03"]


def test_preamble_only_from_the_secretariat():
    prev = previous()
    prev.chapters[0].preamble.goals = ["目標一。", "目標二。"]
    subs = {
        "科技": submission(
            "科技",
            line("修正", item_id="3-goals-02", field="目標", text="目標二（改）。"),
            line("新規", row_id="3-preamble", field="主要指標", text="新しい指標。"),
        ),
        "文": submission("文", line("修正", item_id="3-goals-01", field="目標", text="文が書いた目標。")),
    }
    result = merge(prev, subs, CONFIG)
    preamble = result.annex.chapters[0].preamble
    assert preamble.goals == ["目標一。", "目標二（改）。"]
    assert [i.text for i in preamble.key_indicators] == ["新しい指標。"]
    assert [o.outcome for o in result.outcomes] == ["applied", "applied", "not_merged"]
    from annex.merge.reports import change_sheets

    sheets = change_sheets(result, CONFIG, {"科技": "科技.xlsx", "文": "文.xlsx"})
    overview = sheets[0]
    not_applied = list(sheets[3].rows)  # 反映しなかった行: the one line left out, not the two applied
    assert sheets[3].title == "反映しなかった行" and [r[5] for r in not_applied] == ["反映せず"] and not_applied[0][6]
    rows = list(overview.rows)
    total, body = rows[-1], rows[:-1]
    assert total[0] == "合計" and all(total[c] == sum(r[c] for r in body) for c in range(3, len(total)))
    assert total[list(overview.headers).index("前文（目標・指標）の変更")] == 2


def test_preamble_items_are_told_apart_by_id_even_when_their_text_is_the_same_object():
    prev = previous()
    same = "同じ目標。"
    prev.chapters[0].preamble.goals = [same, same]  # one str object twice: identity must not be the key
    subs = {
        "科技": submission(
            "科技",
            line("削除", item_id="3-goals-01", field="目標", text=same),
            line("修正", item_id="3-goals-02", field="目標", text="残った目標（改）。"),
        )
    }
    result = merge(prev, subs, CONFIG)
    assert result.annex.chapters[0].preamble.goals == ["残った目標（改）。"]


# -- properties --------------------------------------------------------------------------------

MINISTRIES = ["科技", "総", "文", "経"]
TEXTS = ["推進。", "検討。", "実施。", "強化。", "支援。"]


@st.composite
def scenarios(draw):
    rows = []
    for r in range(draw(st.integers(1, 3))):
        measure_tags = draw(st.lists(st.sampled_from(MINISTRIES), min_size=1, max_size=2, unique=True))
        status = [
            bullet(draw(st.sampled_from(TEXTS)), [], id=f"3-①-{r:02d}-S{i + 1:02d}") for i in range(draw(st.integers(0, 2)))
        ]
        policy = [
            bullet(
                draw(st.sampled_from(TEXTS)),
                draw(st.lists(st.sampled_from(MINISTRIES), min_size=1, max_size=2, unique=True)),
                id=f"3-①-{r:02d}-P{i + 1:02d}",
                relisted=draw(st.booleans()),
            )
            for i in range(draw(st.integers(0, 3)))
        ]
        rows.append(row(f"3-①-{r:02d}", measure_tags, status=status, policy=policy))
    prev = annex(*rows)
    located = list(prev.bullets())
    subs = {}
    for ministry in draw(st.lists(st.sampled_from(MINISTRIES), unique=True)):
        lines = []
        for r, c, b in located:
            action = draw(st.sampled_from(["変更なし", "変更なし", "修正", "削除"]))
            field = STATUS if c == "status" else "今後の取組方針"
            text = draw(st.sampled_from(TEXTS + ["新しい文。"])) if action == "修正" else b.text
            lines.append(line(action, item_id=b.id, row_id=r.id, field=field, text=text, tags=b.tags, relisted=b.relisted))
        for _ in range(draw(st.integers(0, 2))):
            r = draw(st.sampled_from([x for _, _, x in prev.rows()]))
            field = draw(st.sampled_from([STATUS, "今後の取組方針"]))
            lines.append(
                line(
                    "新規",
                    row_id=r.id,
                    field=field,
                    text=draw(st.sampled_from(TEXTS)),
                    tags=[] if field == STATUS else [draw(st.sampled_from(MINISTRIES))],
                )
            )
        subs[ministry] = submission(ministry, *lines)
    return prev, subs


@given(scenarios(), st.randoms(use_true_random=False))
@settings(max_examples=120, deadline=None)
def test_merge_loses_nothing_is_idempotent_and_order_independent(scenario, rnd):
    prev, subs = scenario
    untouched = prev.to_json()
    result = merge(prev, subs, CONFIG, year=2026)
    master = result.annex
    index = master.bullet_index()
    kinds_of = {}
    for change in result.changes:
        kinds_of.setdefault(change.item_id, set()).add(change.kind)
    decided = {d.item_id for d in result.decisions if d.kind in ("synced", "drift_reverted")}

    # every bullet of master(Y-1) is in master(Y), or deleted with a change record
    for _, _, b in prev.bullets():
        assert b.id in index or "deleted" in kinds_of.get(b.id, set())
        if b.id not in index:
            assert b.id in master.retired_ids
    # every submitted line has exactly one outcome, and the outcome holds
    assert len(result.outcomes) == sum(len(s.lines) for s in subs.values())
    for o in result.outcomes:
        sub_line = next(ln for ln in subs[o.ministry].lines if ln.excel_row == o.excel_row)
        if o.outcome == "applied" and o.action == "削除":
            assert o.item_id not in index
        elif o.outcome == "applied":
            assert index[o.item_id][2].text == sub_line.text or o.item_id in decided
        elif o.outcome == "conflict_lost":
            assert any(o.ministry in c.ministries and c.item_id == o.item_id for c in result.conflicts)
        elif o.outcome in ("not_merged", "drift_reverted"):
            assert o.reason
        if o.outcome in ("applied", "conflict_lost") and o.action != "新規":
            r, c, b = prev.bullet_index()[o.item_id]
            assert o.ministry in bullet_owners(r, c, b, CONFIG.tags, CONFIG.secretariat.abbr)
    # ids: unique, and never a retired one
    ids = [b.id for _, _, b in master.bullets()]
    assert len(ids) == len(set(ids)) and all(ids)
    assert not set(ids) & set(master.retired_ids or [])
    # 未更新 exactly where no owner submitted
    for _, _, b in master.bullets():
        if b.id in prev.bullet_index():
            pr, pc, pb = prev.bullet_index()[b.id]
            owners = bullet_owners(pr, pc, pb, CONFIG.tags, CONFIG.secretariat.abbr)
            assert b.not_updated == (not set(owners) & set(subs))
    # idempotent and independent of arrival order
    again = merge(prev, subs, CONFIG, year=2026)
    assert again.annex.to_json() == master.to_json()
    keys = list(subs)
    rnd.shuffle(keys)
    shuffled = merge(prev, {k: subs[k] for k in keys}, CONFIG, year=2026)
    assert shuffled.annex.to_json() == master.to_json()
    assert shuffled.changes == result.changes and shuffled.conflicts == result.conflicts
    assert shuffled.outcomes == result.outcomes and shuffled.decisions == result.decisions
    # master(Y-1) is never changed, unless handed over: then master(Y) is made in it, the same
    assert prev.to_json() == untouched
    handed = merge(prev.deep_copy(), subs, CONFIG, year=2026, own_previous=True)
    assert handed.annex.to_json() == master.to_json() and handed.ownership == result.ownership
    assert handed.changes == result.changes and handed.conflicts == result.conflicts
    assert handed.outcomes == result.outcomes and handed.decisions == result.decisions


def _subrow_annex():
    """A row of three ministries; each status bullet beside the policy bullet it reports on."""
    return annex(
        row(
            "3-①-01",
            ["文", "経", "総"],
            status=[
                bullet("共管の現状。", [], id="3-①-01-S01", subrow=1),
                bullet("総の現状。", [], id="3-①-01-S02", subrow=2),
            ],
            policy=[
                bullet("共管の方針。", ["文", "経"], id="3-①-01-P01", subrow=1),
                bullet("総の方針。", ["総"], id="3-①-01-P02", subrow=2),
            ],
        )
    )


def test_a_status_bullet_is_edited_only_by_the_ministries_beside_it_and_a_shared_one_can_conflict():
    prev = _subrow_annex()
    subs = {
        "文": submission("文", line("修正", item_id="3-①-01-S01", field=STATUS, text="文の現状。")),
        "経": submission("経", line("修正", item_id="3-①-01-S01", field=STATUS, text="経の現状。")),
        "総": submission("総", line("修正", item_id="3-①-01-S01", field=STATUS, text="総の乗っ取り。")),
    }
    result = merge(prev, subs, CONFIG, year=2026)
    (c,) = result.conflicts
    assert c.item_id == "3-①-01-S01" and c.winner == "文"
    s01 = result.annex.bullet_index()["3-①-01-S01"][2]
    assert s01.text == "文の現状。"
    assert s01.submitted_by is None  # the edit keeps its owners: those beside it, 文 and 経
    assert bullet_owners(*result.annex.bullet_index()["3-①-01-S01"], CONFIG.tags, "科技") == ["文", "経"]
    refused = [o for o in result.outcomes if o.ministry == "総"]
    assert [o.outcome for o in refused] == ["not_merged"]


def test_a_new_status_bullet_records_its_ministry_as_owner_and_joins_its_sub_row():
    result = merge(
        _subrow_annex(),
        {"総": submission("総", line("新規", row_id="3-①-01", field=STATUS, text="総の新しい現状。", tags=[]))},
        CONFIG,
        year=2026,
    )
    row_ = result.annex.row_index()["3-①-01"]
    new = next(b for b in row_.status if b.text == "総の新しい現状。")
    assert new.submitted_by == "総" and new.subrow == 2  # after 総's bullet, beside 総's policy
    assert bullet_owners(row_, "status", new, CONFIG.tags, "科技") == ["総"]
    again = type(result.annex).model_validate_json(result.annex.to_json())
    assert again.row_index()["3-①-01"].status[-1].submitted_by == "総"  # master.json keeps the owner


def test_ownership_is_computed_once_for_each_bullet_of_master_y_minus_1_not_per_line(monkeypatch):
    """Issue 13: the merge, its placement of 新規 bullets and its 未更新 list share one ownership
    map of master(Y-1); only a 新規 bullet (in no master yet) is asked about on its own."""
    import importlib

    import annex.model.ownership as ownership_module

    merge_module = importlib.import_module("annex.merge.merge")  # the module: annex.merge exports the function
    asked: list[str | None] = []
    original = ownership_module.bullet_owners

    def counting(row, column, bullet, *args, **kwargs):
        asked.append(bullet.id)
        return original(row, column, bullet, *args, **kwargs)

    monkeypatch.setattr(ownership_module, "bullet_owners", counting)
    monkeypatch.setattr(merge_module, "bullet_owners", counting)
    subs = {
        "文": submission(
            "文",
            line("修正", item_id="3-①-01-P02", text="文の方針（改）。", tags=["文"]),
            line("新規", row_id="3-①-01", text="文の新しい方針。", tags=["文"]),
            line("新規", row_id="3-①-01", text="文のもう一つの方針。", tags=["文"]),
        ),
        "経": submission("経", line("削除", item_id="3-①-01-P03")),
    }
    prev = previous()
    result = merge(prev, subs, CONFIG, year=2026)
    master_ids = [b.id for _, _, b in prev.bullets()]
    assert sorted(i for i in asked if i is not None) == sorted(master_ids)  # each once
    assert asked.count(None) == 2  # the two 新規 bullets, before they get ids
    assert texts(result.annex, "3-①-01") == ["共管の方針。", "文の方針（改）。", "文の新しい方針。", "文のもう一つの方針。"]
