"""annex-redline.docx: this year's annex as real Word tracked changes against last year's.

One workspace merges the committed sample submissions (edited, new and deleted bullets, the
original of a re-listing edited) and renders; LibreOffice headless then accepts and rejects every
change of a redline that adds footnote, sub-row and 目標 changes on top, in ONE session: accepted
must read as this year's annex.docx, rejected as last year's. Another test reads the revisions
back and compares them with changes.xlsx and reconciliation.xlsx.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from docx_text import read_text
from lxml import etree
from revisions import accept_and_reject

from annex.master.store import read_master
from annex.model.annex import Bullet
from annex.render import build_context, render_docx
from annex.render.ooxml import decode_bookmark
from annex.render.redline import Author, redline_docx, tokens
from annex.workspace.layout import Workspace
from annex.workspace.render import render_year

ROOT = Path(__file__).resolve().parents[2]
YEAR = 2026
TEMPLATE = ROOT / "annex" / "templates" / "annex.docx"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def season(merged_samples):
    ws, _ = merged_samples  # conftest: the samples merged once for the session
    return ws, render_year(ws, YEAR, pdf=False)


def _revisions(path: Path) -> list[dict]:
    """Every tracked change of a document: kind (ins / del), where (paragraph mark, text or table
    row), author, date, and the bullet it belongs to (the hidden id bookmark around it; a
    paragraph mark tracked only because the next paragraph is new or deleted belongs to that one)."""
    with zipfile.ZipFile(path) as z:
        root = etree.fromstring(z.read("word/document.xml"))
    out = []
    waiting: list[dict] = []  # marks of a paragraph whose own content did not change
    for p in root.iter(f"{W}p"):
        current, own = None, []
        for node in p.iter():
            if node.tag == f"{W}bookmarkStart":
                decoded = decode_bookmark(node.get(f"{W}name"))
                if decoded and decoded[0] == "b":
                    current = decoded[1]
                    for rev in waiting:
                        rev["item"] = current
                    waiting = []
            elif node.tag in (f"{W}ins", f"{W}del"):
                parent = node.getparent().tag
                where = "mark" if parent == f"{W}rPr" else "row" if parent == f"{W}trPr" else "text"
                text = "".join(t.text or "" for t in node.iter(f"{W}t", f"{W}delText"))
                rev = {
                    "kind": node.tag[len(W) :],
                    "where": where,
                    "author": node.get(f"{W}author"),
                    "date": node.get(f"{W}date"),
                    "item": current,
                    "text": text,
                }
                own.append(rev)
                out.append(rev)
        if own and all(r["where"] == "mark" for r in own):  # the next paragraph's change
            waiting += own
        else:
            for rev in own:
                rev["item"] = rev["item"] or current
    for node in root.iter(f"{W}trPr"):
        for rev in node:
            if rev.tag in (f"{W}ins", f"{W}del"):
                out.append(
                    {"kind": rev.tag[len(W) :], "where": "row", "author": rev.get(f"{W}author"), "date": rev.get(f"{W}date")}
                )
    return out


def _untracked(path: Path) -> set[str]:
    """The bullets with text outside any revision (kept from last year)."""
    with zipfile.ZipFile(path) as z:
        root = etree.fromstring(z.read("word/document.xml"))
    out = set()
    for p in root.iter(f"{W}p"):
        current = None
        for node in p.iter(f"{W}bookmarkStart", f"{W}t"):
            if node.tag == f"{W}bookmarkStart":
                decoded = decode_bookmark(node.get(f"{W}name"))
                current = decoded[1] if decoded and decoded[0] == "b" else current
            elif current and node.text and not any(a.tag in (f"{W}ins", f"{W}del") for a in node.iterancestors()):
                out.add(current)
    return out


def _changes_rows(ws: Workspace) -> set[tuple[str, str, str]]:
    """(ministry, 新規 / 修正 / 削除, item id) of every table bullet changed, from changes.xlsx, and
    every re-listing that followed its edited original (reconciliation.xlsx), as its original's."""
    folder = ws.output(YEAR)
    changes = openpyxl.load_workbook(folder / "changes.xlsx")["変更"]
    rows = list(changes.iter_rows(values_only=True))
    head = rows[0]
    col = {name: head.index(name) for name in ("府省", "種別", "項目ID", "欄")}
    found = {
        (r[col["府省"]], r[col["種別"]], r[col["項目ID"]])
        for r in rows[1:]
        if r[col["欄"]] in ("実施状況・現状分析", "今後の取組方針")
    }
    by_item = {item: ministry for ministry, _, item in found}
    decisions = openpyxl.load_workbook(folder / "reconciliation.xlsx")["再掲"]
    drows = list(decisions.iter_rows(values_only=True))
    dcol = {name: drows[0].index(name) for name in ("判定", "項目ID", "元の項目ID")}
    for r in drows[1:]:
        if r[dcol["判定"]] == "元の記載の修正を反映":
            found.add((by_item[r[dcol["元の項目ID"]]], "修正", r[dcol["項目ID"]]))
    return found


def test_revisions_are_the_changes_of_changes_xlsx_by_their_ministry_and_submission(season):
    ws, rendered = season
    assert rendered.redline_path == ws.output(YEAR) / "annex-redline.docx"
    revisions = _revisions(rendered.redline_path)
    assert rendered.redline_revisions >= len(revisions) > 0
    per_item: dict[str, list[dict]] = {}
    for rev in revisions:
        assert rev["item"], f"a revision outside any bullet: {rev}"
        per_item.setdefault(rev["item"], []).append(rev)

    kept = _untracked(rendered.redline_path)

    def kind(item: str, revs: list[dict]) -> str:
        kinds = {r["kind"] for r in revs}
        if item not in kept and kinds == {"ins"}:
            return "新規"
        if item not in kept and kinds == {"del"}:
            return "削除"
        return "修正"

    abbr = re.compile(r"（([^（）]+)）$|^([^（）]+)$")  # 「文部科学省（文）」, or a name that is its own abbreviation
    read_back = set()
    for item, revs in per_item.items():
        authors = {r["author"] for r in revs}
        assert len(authors) == 1, f"{item}: {authors}"
        read_back.add((_abbr(abbr, authors.pop()), kind(item, revs), item))
    assert read_back == _changes_rows(ws)

    # each revision is dated with the arrival of the file it came from (ISO 8601, UTC)
    with ws.open_ledger() as ledger:
        arrivals = {e.ministry: e.received_at for e in ledger.entries(YEAR) if e.accepted}
    for rev in revisions:
        assert ISO.match(rev["date"]), rev
        ministry = _abbr(abbr, rev["author"])
        expected = arrivals[ministry].replace(tzinfo=arrivals[ministry].tzinfo or dt.UTC)
        assert dt.datetime.fromisoformat(rev["date"].replace("Z", "+00:00")) == expected.replace(microsecond=0)

    # an edited bullet is diffed inside the paragraph, by Japanese word-like tokens: 令和５→６ only
    edited = per_item["3-①-01-S09"]
    assert {r["where"] for r in edited} == {"text"}
    assert sorted(r["text"] for r in edited if r["kind"] == "del") == ["５", "６"]
    assert sorted(r["text"] for r in edited if r["kind"] == "ins") == ["６", "７"]


def _abbr(pattern, author: str) -> str:
    match = pattern.search(author)
    return match.group(1) or match.group(2)


def test_tokens_are_runs_of_one_script():
    assert tokens("令和５年度補正予算により、ＡＩ活用を推進。") == [
        "令和",
        "５",
        "年度補正予算",
        "により",
        "、",
        "ＡＩ",
        "活用",
        "を",
        "推進",
        "。",
    ]


def _more_changes(new_master, old_master):
    """Changes the samples do not make, as a merge could: a footnote mark moved, one added (a
    footnote new this year) and one removed, a footnote's text changed, a 目標 edited, a whole
    sub-row added, a whole sub-row deleted, a bullet deleted above another in its cell, and the
    last old bullet of a cell deleted where a new one follows."""
    annex = new_master.model_copy(deep=True)
    pre = annex.chapters[0].preamble
    first = pre.key_indicators[0]
    first.footnote_offsets = [first.footnote_offsets[0] - 5]  # moved
    pre.key_indicators[1].footnotes, pre.key_indicators[1].footnote_offsets = [], None  # removed
    pre.goals[0] = pre.goals[0].replace("探究力", "探究する力")
    annex.footnotes["167"] = annex.footnotes["167"] + "（令和７年度更新）"
    rows = {row.id: row for _, _, row in annex.rows()}
    grown = rows["3-③-01"]
    last = max(b.subrow for b in (*grown.status, *grown.policy))
    grown.status.append(Bullet(id="3-③-01-S90", text="新たな調査を令和８年度に実施。", subrow=last + 1))
    grown.policy.append(Bullet(id="3-③-01-P90", text="調査結果を踏まえ施策を見直す。", tags=["文"], subrow=last + 1))
    shrunk = rows["3-①-03"]
    gone = max(b.subrow for b in (*shrunk.status, *shrunk.policy))
    shrunk.status = [b for b in shrunk.status if b.subrow != gone]
    shrunk.policy = [b for b in shrunk.policy if b.subrow != gone]
    before = {b.id for _, _, b in old_master.bullets()}

    def two_kept(row, k):  # two bullets of last year in one cell
        return sum(b.subrow == k and b.id in before for b in row.policy) >= 2 and all(b.id in before for b in row.policy)

    crowded = next(r for r in rows.values() if any(two_kept(r, k) for k in range(1, 99)))
    subrow = next(k for k in range(1, 99) if two_kept(crowded, k))
    crowded.policy.remove(next(b for b in crowded.policy if b.subrow == subrow))  # the first of two in a cell
    # the last of last year's bullets in a cell deleted, a new one after it: the two share one paragraph
    replaced = rows["3-①-01"]
    assert [b.id for b in replaced.policy if b.subrow == 9] == ["3-①-01-P09", "3-①-01-P10"]  # P10: new in the samples
    replaced.policy = [b for b in replaced.policy if b.id != "3-①-01-P09"]
    cited = rows["3-①-02"].policy[0]  # cites a footnote new this year, inside its sentence
    cited.footnotes, cited.footnote_offsets = [900], [len(cited.text) - 1]
    annex.footnotes["900"] = "今年度から引用する資料。"
    return annex


def test_footnote_marks_added_moved_and_removed_are_tracked_with_their_notes(season, tmp_path):
    ws, _ = season
    last = read_master(ws.output(YEAR - 1) / "master.json")
    old = build_context(last)
    new = build_context(_more_changes(read_master(ws.output(YEAR) / "master.json"), last))
    redline = tmp_path / "annex-redline.docx"
    redline_docx(old, new, TEMPLATE, redline, {}, Author("科技", "2026-05-29T08:00:00Z"))
    with zipfile.ZipFile(redline) as z:
        document = etree.fromstring(z.read("word/document.xml"))
        notes = etree.fromstring(z.read("word/footnotes.xml"))
    tracked: dict[str, list[str]] = {"ins": [], "del": []}
    for kind in tracked:
        for rev in document.iter(f"{W}{kind}"):
            for ref in rev.iter(f"{W}footnoteReference"):
                tracked[kind].append("".join(t.text for t in ref.getparent().iter(f"{W}t", f"{W}delText")))
    assert sorted(tracked["ins"]) == ["165", "900"]  # moved (its new place) and new
    assert sorted(tracked["del"]) == ["165", "166"]  # moved (its old place) and removed
    bodies = {"".join(t.text for t in n.iter(f"{W}t")) for n in notes.iter(f"{W}footnote")}
    assert any(b.endswith("今年度から引用する資料。") for b in bodies)
    assert any("リカレント教育" in b for b in bodies)  # the removed mark's note stays until accepted


def test_libreoffice_accepting_all_gives_this_year_and_rejecting_all_last_year(season, tmp_path):
    """Footnote marks too: moved, added (in a table cell), removed (in a paragraph, and in a table
    cell: a note only last year cited), each a custom mark tracked inside its w:ins / w:del."""
    ws, rendered = season
    last = read_master(ws.output(YEAR - 1) / "master.json")
    new = build_context(_more_changes(read_master(ws.output(YEAR) / "master.json"), last))
    last = last.model_copy(deep=True)
    kept = {row.id: row for _, _, row in last.rows()}["3-①-02"].policy[1]  # unchanged this year
    kept.footnotes, kept.footnote_offsets = [901], [3]
    last.footnotes["901"] = "前年度だけ引用した資料。"
    old = build_context(last)
    render_docx(old, TEMPLATE, tmp_path / "last.docx")
    render_docx(new, TEMPLATE, tmp_path / "this.docx")
    redline = tmp_path / "annex-redline.docx"
    redline_docx(old, new, TEMPLATE, redline, {}, Author("科学技術・イノベーション推進事務局（科技）", "2026-05-29T08:00:00Z"))
    kinds = {(r["kind"], r["where"]) for r in _revisions(redline)}
    assert {("ins", "row"), ("del", "row"), ("ins", "mark"), ("del", "mark"), ("ins", "text"), ("del", "text")} <= kinds
    with zipfile.ZipFile(redline) as z:
        notes = z.read("word/footnotes.xml").decode()
        document = etree.fromstring(z.read("word/document.xml"))
    assert "（令和７年度更新）</w:t></w:r></w:ins>" in notes  # a footnote's text changed
    marks = {
        kind: sorted(
            "".join(t.text for t in ref.getparent().iter(f"{W}t", f"{W}delText"))
            for rev in document.iter(f"{W}{kind}")
            for ref in rev.iter(f"{W}footnoteReference")
        )
        for kind in ("ins", "del")
    }
    assert marks == {"ins": ["165", "900"], "del": ["165", "166", "901"]}

    accepted, rejected = accept_and_reject(redline, tmp_path)
    this_year, last_year = read_text(tmp_path / "this.docx"), read_text(tmp_path / "last.docx")
    assert read_text(accepted) == this_year
    assert read_text(rejected) == last_year
    assert this_year != last_year
    for number in (165, 166, 900, 901):  # the marks are among what differs, and came out right
        assert any(f"［注{number}］" in p for p in this_year[0] + last_year[0])
    assert 900 in this_year[1] and 900 not in last_year[1]
    assert {166, 901} <= set(last_year[1]) and not {166, 901} & set(this_year[1])


def test_without_last_years_master_there_is_no_redline_and_an_old_one_is_removed(tmp_path, capsys):
    from annex.model.config import bundled_path
    from annex.workspace.master import import_into_workspace
    from flows.cli import main

    ws = Workspace.at(tmp_path / "ws")
    import_into_workspace(ws, bundled_path("annex_2025.json"), 2025)  # the first year: no master(2024)
    stale = ws.output(2025) / "annex-redline.docx"
    stale.write_bytes(b"from an earlier render")
    with pytest.raises(SystemExit) as done:
        main(["render", "--year", "2025", "--no-pdf", "--workspace", str(ws.root)])
        raise SystemExit(0)
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert "変更履歴（annex-redline.docx）は作成していません: 2024年度のマスターがありません" in out
    assert not stale.exists()
