"""Which version counts: two versions of one ministry's return in submissions/ — the newest by the
time received, then by the time saved inside the workbook, is merged; the secretariat and the
ministry are told which one was used and which was set aside."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from annex.intake.versions import saved_at
from annex.merge.merge import CHANGE_LABELS
from annex.model.config import JST
from annex.model.errors import InputError
from annex.workspace.audit import audit_lines
from annex.workspace.layout import Workspace
from annex.workspace.merge import merge_year

pytestmark = pytest.mark.reliability  # issue 14's fault catalogue

ROOT = Path(__file__).resolve().parents[2]
# the sample return of 外務 (its texts edited); two copies saved at different times are two versions
# with the same content: the master's provenance (SHA-256) tells which one was merged
EDITED = ROOT / "submissions" / "2026" / "外務省_別添記入シート.xlsx"


def with_saved_time(source: Path, target: Path, when: dt.datetime) -> Path:
    """A copy whose docProps/core.xml says it was saved at ``when`` (as Excel writes it, in UTC)."""
    stamp = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + stamp.encode() + rb"\g<2>", data
                )
            out.writestr(info, data)
    return target


def test_the_version_saved_last_is_merged_even_when_its_name_sorts_first(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    inbox = ws.submissions(2026)
    inbox.mkdir(parents=True)
    # the newer one sorts first by name, so neither name order nor validation order can pick it
    newer = with_saved_time(EDITED, inbox / "外務省_a.xlsx", dt.datetime(2026, 5, 27, 18, 0, tzinfo=JST))
    older = with_saved_time(EDITED, inbox / "外務省_b.xlsx", dt.datetime(2026, 5, 20, 9, 0, tzinfo=JST))
    assert saved_at(newer) > saved_at(older)

    summary = merge_year(ws, 2026)

    assert summary.merged_files == {"外": "外務省_a.xlsx"}
    master = json.loads(ws.master_json(2026).read_text(encoding="utf-8"))
    shas = {
        b["provenance"]["sha256"]
        for ch in master["chapters"]
        for s in ch.get("sections", [])
        for r in s.get("rows", [])
        for b in [*r.get("status", []), *r.get("policy", [])]
        if b.get("provenance", {}).get("sha256")
    }
    [choice] = summary.versions
    assert choice.ministry == "外" and choice.used.name == "外務省_a.xlsx"
    assert [v.name for v in choice.set_aside] == ["外務省_b.xlsx"]
    assert shas == {choice.used.entry.sha256}  # every changed bullet came from the newer version
    line = choice.line()
    assert "統合に使用 「外務省_a.xlsx」" in line and "「外務省_b.xlsx」" in line and "より新しい受理済みの版" in line
    assert "2026年5月27日" in line and "18:00" in line  # the saved time, in Japan time
    as_json = choice.to_dict()  # run.json: a file for programs, times in ISO 8601
    assert as_json["used"]["saved_at"] == "2026-05-27T09:00:00+00:00" and as_json["set_aside"][0]["reason"] == "older"

    # the ministry: both of its feedback workbooks say which one was used
    folder = ws.output(2026) / "feedback"
    for version, used in ((choice.used, True), (choice.set_aside[0], False)):
        [path] = folder.glob(f"*-{version.entry.sha256[:12]}.xlsx")
        sheet = openpyxl.load_workbook(path)["提出版"]
        texts = [str(c.value or "") for row in sheet.iter_rows() for c in row]
        assert ("このファイルを別添の統合に使用しました" in sheet["A2"].value) is used
        assert any("外務省_a.xlsx" in t for t in texts) and any("外務省_b.xlsx" in t for t in texts)
        assert "統合に使用した版" in texts and "使用せず（より新しい受理済みの版があるため）" in texts

    # annex audit: one changed bullet traced back, from the ledger, to the version merged
    changed = next(c for c in summary.result.changes if c.ministry == "外" and c.kind in ("added", "modified"))
    lines = audit_lines(ws, 2026, changed.item_id)
    text = "\n".join(lines)
    assert f"項目 {changed.item_id}" in lines[0]
    assert "外: 外務省_a.xlsx の記入シート" in text and f"対応「{CHANGE_LABELS[changed.kind]}」→ マスターに反映" in text
    assert f"SHA-256 {choice.used.entry.sha256}" in text and "第2版" in text and "判定 受理" in text
    assert choice.set_aside[0].entry.sha256 not in text
    with pytest.raises(InputError, match="項目ID「9-99-P99」は 2026年度の台帳にありません"):
        audit_lines(ws, 2026, "9-99-P99")

    # a version received later wins over one saved later but received earlier
    shutil.move(newer, tmp_path / "kept-aside.xlsx")
    later = with_saved_time(EDITED, inbox / "外務省_再提出.xlsx", dt.datetime(2026, 5, 1, tzinfo=JST))
    again = merge_year(ws, 2026, feedback=False)
    assert later.exists() and again.merged_files == {"外": "外務省_再提出.xlsx"}


def test_an_accepted_version_that_cannot_be_read_again_stops_the_merge_instead_of_leaving_its_ministry_stale(tmp_path):
    """The inbox emptied since: the accepted version is read again from the archive; a machine
    failure then (保留) must not publish a master where that ministry is 未更新."""
    from annex.model.errors import AnnexError
    from annex.validation.validate import held
    from annex.workspace.collect import accepted_submissions

    ws = Workspace.at(tmp_path / "ws")
    inbox = ws.submissions(2026)
    inbox.mkdir(parents=True)
    shutil.copyfile(EDITED, inbox / "外務省.xlsx")
    assert merge_year(ws, 2026).merged_files == {"外": "外務省.xlsx"}
    (inbox / "外務省.xlsx").unlink()

    def interrupted(items):
        return [held(item.name, item.sha256, "読み取りが時間内に終わりませんでした") for item in items]

    with pytest.raises(AnnexError, match="受理済みの版を読み直せませんでした: 外務省.xlsx（") as caught:
        accepted_submissions(ws, 2026, revalidate=interrupted)
    assert "もう一度実行してください" in (caught.value.hint or "")
    # read normally, the same archived version is what is merged
    [(entry, sub)] = accepted_submissions(ws, 2026).values()
    assert entry.ministry == "外" and sub.accepted


def test_a_newer_held_version_leaves_the_accepted_one_in_use_and_is_named(tmp_path):
    """保留 beside 受理: the ministry stays 受理 (its accepted version is merged) and the held file is
    named — set aside until the next run checks it — in the version note and the ministry's status."""
    from annex.notify.reminders import HELD, statuses_from_ledger
    from annex.workspace.versions import version_choices

    ws = Workspace.at(tmp_path / "ws")
    inbox = ws.submissions(2026)
    inbox.mkdir(parents=True)
    shutil.copyfile(EDITED, inbox / "外務省.xlsx")
    assert merge_year(ws, 2026, feedback=False).merged_files == {"外": "外務省.xlsx"}
    with ws.open_ledger() as ledger:
        [accepted] = ledger.entries(2026)
        entry, _ = ledger.record_received(
            year=2026, path="外務省_再提出.xlsx", sha256="f" * 64, size=1, archive_path=accepted.archive_path
        )
        ledger.record_held(entry.id, ministry="外")
        entries = ledger.entries(2026)
    [choice] = version_choices(ws, 2026)
    assert choice.used.name == "外務省.xlsx" and [v.name for v in choice.set_aside] == ["外務省_再提出.xlsx"]
    line = choice.line()
    assert "統合に使用 「外務省.xlsx」（第1版" in line
    assert "「外務省_再提出.xlsx」（版番号は検証後・受付 " in line and f"使用せず（{HELD}: 処理側の問題で検証できず" in line
    assert choice.to_dict()["set_aside"][0]["reason"] == "held"
    status = statuses_from_ledger(entries)["外"]
    assert (status.status, status.file) == ("受理", "外務省.xlsx")
