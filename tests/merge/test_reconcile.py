"""再掲 reconciliation: links, figures on the bundled corpus, drift, chains, cycles, idempotence."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from merge_fixtures import annex, bullet, row

from annex.master.importer import import_annex, read_annex_file
from annex.merge.reconcile import LINK_KINDS, reconcile
from annex.model.config import bundled_path, load_config

CONFIG = load_config(None)


def corpus():
    return import_annex(read_annex_file(bundled_path("annex_2025.json")), CONFIG.tags, 2025).annex


def kinds(result, item_id):
    return [d.kind for d in result.decisions if d.item_id == item_id]


# -- the bundled corpus ------------------------------------------------------------------------


def test_corpus_relisted_figures():
    """The corpus is chapter ３ and chapter ４ (1)–(5) only, so most originals are elsewhere.

    40 （再掲） items = 37 bullets + 3 re-listed measures.
    - 5 link exactly to an unmarked bullet with the same text (3-②-03-P01 → 3-①-04-P01,
      3-⑥-03-P02 and 3-⑥-05-P03 → 3-⑤-04-P02, 4-（３）-01-P25 → 4-（３）-01-P02,
      4-（４）-01-P13 → 4-（３）-01-P04);
    - 7 match only other re-listed copies (3 groups: 2 + 2 + 3) — their original is outside;
    - 0 near matches at ratio ≥ 90 (the best candidate scores 77.5; the whole annex's two near
      pairs 「向け/向けて」「促進/推進」 lie in chapters this corpus does not hold);
    - 28 have no original here (25 bullets + the 3 measures).
    """
    result = reconcile(corpus(), threshold=CONFIG.settings.reconcile.near_match_threshold)
    f = result.figures
    assert f["relisted"] == 40 and f["measures"] == 3
    assert (f["exact"], f["copies_only"], f["near"], f["no_original"]) == (5, 7, 0, 28)
    assert f["exact_text"] == 5 and f["cycle_refused"] == 0 and f["drift_reverted"] == 0
    # whole rows re-listed carry their 実施状況 along without the mark: 6 texts, 14 bullets
    assert f["unmarked_duplicate"] == 6
    links = {d.item_id: d.original_id for d in result.of_kind("exact_text") if not d.measure}
    assert links == {
        "3-②-03-P01": "3-①-04-P01",
        "3-⑥-03-P02": "3-⑤-04-P02",
        "3-⑥-05-P03": "3-⑤-04-P02",
        "4-（３）-01-P25": "4-（３）-01-P02",
        "4-（４）-01-P13": "4-（３）-01-P04",
    }
    copies = {d.item_id: set(d.related_ids) for d in result.of_kind("orphan") if d.related_ids}
    assert copies["4-（１）-01-P33"] == {"4-（３）-01-P28", "4-（４）-01-P14"}
    assert len(copies) == 7


def test_corpus_reconcile_changes_no_text_and_sets_links():
    before = corpus()
    result = reconcile(before)
    after = result.annex
    assert [b.text for _, _, b in after.bullets()] == [b.text for _, _, b in before.bullets()]
    assert after.bullet_index()["3-②-03-P01"][2].relisted_of == "3-①-04-P01"
    assert reconcile(after).annex == after  # idempotent: links now come from the ids
    assert reconcile(after).figures["exact_id"] == 5


# -- linking rules -----------------------------------------------------------------------------


def test_text_match_uses_a_comparison_key_and_never_rewrites_the_original():
    a = annex(
        row("3-①-01", ["文"], policy=[bullet("ＡＩ人材の育成を推進。", ["文"], id="A")]),
        row("3-①-02", ["文"], policy=[bullet("AI 人材の育成を推進。", ["文"], id="R", relisted=True)]),
    )
    result = reconcile(a)
    index = result.annex.bullet_index()
    assert index["A"][2].text == "ＡＩ人材の育成を推進。"  # the original stays as written
    assert index["R"][2].relisted_of == "A"
    assert index["R"][2].text == "ＡＩ人材の育成を推進。"  # the re-listing takes the original's text
    assert kinds(result, "R") == ["exact_text", "drift_reverted"]


def test_near_match_is_proposed_not_applied():
    a = annex(
        row("3-①-01", ["文"], policy=[bullet("社会実装に向けた取組を推進。", ["文"], id="A")]),
        row("3-①-02", ["文"], policy=[bullet("社会実装に向けて取組を推進。", ["文"], id="R", relisted=True)]),
    )
    result = reconcile(a, threshold=90)
    (d,) = result.of_kind("near_match_proposed")
    assert (d.item_id, d.original_id) == ("R", "A") and d.score >= 90
    r = result.annex.bullet_index()["R"][2]
    assert r.relisted_of is None and r.text == "社会実装に向けて取組を推進。"
    assert reconcile(a, threshold=99).of_kind("orphan")[0].item_id == "R"


def test_id_link_wins_over_text_and_edited_relisting_is_reverted():
    a = annex(
        row("3-①-01", ["文"], policy=[bullet("元の記載。", ["文"], id="A"), bullet("別の記載。", ["文"], id="B")]),
        row("3-①-02", ["文"], policy=[bullet("別の記載。", ["文"], id="R", relisted=True, relisted_of="A")]),
    )
    result = reconcile(a)
    r = result.annex.bullet_index()["R"][2]
    assert (r.relisted_of, r.text) == ("A", "元の記載。")
    (drift,) = result.of_kind("drift_reverted")
    assert drift.before == "・別の記載。（再掲）【文】" and drift.after == "・元の記載。（再掲）【文】"


def test_edited_original_is_synced_into_every_relisting():
    previous = annex(
        row("3-①-01", ["文"], policy=[bullet("元の記載。", ["文", "経"], id="A")]),
        row("3-①-02", ["文"], policy=[bullet("元の記載。", ["文", "経"], id="R1", relisted=True, relisted_of="A")]),
        row("3-①-03", ["経"], policy=[bullet("元の記載。", ["文", "経"], id="R2", relisted=True, relisted_of="A")]),
    )
    edited = previous.model_copy(deep=True)
    edited.bullet_index()["A"][2].text = "新しい記載。"
    edited.bullet_index()["A"][2].tags = ["文"]
    result = reconcile(edited, previous=previous)
    index = result.annex.bullet_index()
    assert [index[i][2].text for i in ("A", "R1", "R2")] == ["新しい記載。"] * 3
    assert index["R2"][2].tags == ["文"]
    assert [d.item_id for d in result.of_kind("synced")] == ["R1", "R2"]
    assert not result.of_kind("drift_reverted")


def test_chain_resolves_to_the_root_and_cycle_is_refused():
    a = annex(
        row(
            "3-①-01",
            ["文"],
            policy=[
                bullet("元。", ["文"], id="A"),
                bullet("元。", ["文"], id="B", relisted=True, relisted_of="A"),
                bullet("元。", ["文"], id="C", relisted=True, relisted_of="B"),
                bullet("輪。", ["文"], id="X", relisted=True, relisted_of="Y"),
                bullet("輪2。", ["文"], id="Y", relisted=True, relisted_of="X"),
            ],
        ),
    )
    result = reconcile(a)
    index = result.annex.bullet_index()
    assert index["C"][2].relisted_of == "A"
    assert kinds(result, "C") == ["chain_resolved"]
    assert {d.item_id for d in result.of_kind("cycle_refused")} == {"X", "Y"}
    assert index["X"][2].relisted_of == "Y" and index["X"][2].text == "輪。" and index["Y"][2].text == "輪2。"
    assert reconcile(result.annex).annex == result.annex


def test_dangling_id_falls_back_to_text_and_says_so():
    a = annex(
        row(
            "3-①-01",
            ["文"],
            policy=[
                bullet("元。", ["文"], id="A"),
                bullet("元。", ["文"], id="R", relisted=True, relisted_of="GONE"),
            ],
        )
    )
    result = reconcile(a)
    (d,) = result.of_kind("exact_text")
    assert d.original_id == "A" and "GONE" in d.reason


def test_unmarked_duplicate_needs_two_rows():
    a = annex(
        row("3-①-01", ["文"], policy=[bullet("同じ。", ["文"], id="A"), bullet("同じ。", ["文"], id="A2")]),
        row("3-①-02", ["文"], policy=[bullet("同 じ。", ["文"], id="B")]),
    )
    (d,) = reconcile(a).of_kind("unmarked_duplicate")
    assert (d.item_id, d.related_ids) == ("A", ("A2", "B"))
    assert not reconcile(
        annex(row("3-①-01", ["文"], policy=[bullet("同じ。", ["文"], id="A"), bullet("同じ。", ["文"], id="A2")]))
    ).of_kind("unmarked_duplicate")


# -- properties --------------------------------------------------------------------------------

TEXTS = ["推進。", "ＡＩを推進。", "AI を推進。", "検討。", "検討する。", "実施。"]


@st.composite
def relisting_annexes(draw):
    n_rows = draw(st.integers(1, 4))
    ids = [f"{r}-{i}" for r in range(n_rows) for i in range(3)]
    rows = []
    for r in range(n_rows):
        policy = []
        for i in range(draw(st.integers(0, 3))):
            relisted = draw(st.booleans())
            policy.append(
                bullet(
                    draw(st.sampled_from(TEXTS)),
                    draw(st.lists(st.sampled_from(["文", "経", "総"]), min_size=1, max_size=2, unique=True)),
                    id=f"{r}-{i}",
                    relisted=relisted,
                    relisted_of=draw(st.none() | st.sampled_from(ids)) if relisted else None,
                )
            )
        rows.append(row(f"3-①-{r:02d}", ["文"], policy=policy))
    return annex(*rows)


@given(relisting_annexes())
@settings(max_examples=150, deadline=None)
def test_reconcile_is_idempotent_and_loses_nothing(a):
    once = reconcile(a)
    twice = reconcile(once.annex)
    assert twice.annex == once.annex
    assert not twice.of_kind("drift_reverted", "synced", "chain_resolved")
    # nothing lost: the same bullets, in the same places; text only ever copied from an original
    assert [(r.id, c, b.id) for r, c, b in once.annex.bullets()] == [(r.id, c, b.id) for r, c, b in a.bullets()]
    texts = {b.text for _, _, b in a.bullets()}
    assert {b.text for _, _, b in once.annex.bullets()} <= texts
    # every re-listing has exactly one link decision
    relisted = [b.id for _, _, b in a.bullets() if b.relisted]
    link_ids = [d.item_id for d in once.decisions if d.kind in LINK_KINDS]
    assert sorted(link_ids) == sorted(relisted)
    # a linked re-listing is identical to an unmarked or root original
    index = once.annex.bullet_index()
    for d in once.of_kind("exact_id", "exact_text", "chain_resolved"):
        b, original = index[d.item_id][2], index[d.original_id][2]
        assert b.relisted_of == d.original_id
        assert (b.text, b.tags) == (original.text, original.tags)
        assert original.relisted_of is None  # the root: chains are resolved
