"""output/<Y>/status.html: one self-contained page — per ministry the same line as `annex status`,
a chart of the files received against the deadline and one of the open issues by rule — rendered
in headless Chromium (Debian's chromium); the screenshot is kept in output/test-artefacts/."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from lxml import html
from test_status import record_ledger, run_cli

from annex.feedback.workbook import write_results_only
from annex.model.config import JST
from annex.model.issues import Issue, Location, Submission
from annex.notify.outbox import Outbox
from annex.workspace.collect import feedback_file_name, feedback_folder
from annex.workspace.layout import Workspace
from annex.workspace.notify import REQUEST_SLOT
from annex.workspace.status import status_report
from annex.workspace.status_page import status_page_path, write_status_page

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "output" / "test-artefacts"
AT = dt.datetime(2026, 5, 27, 9, 0, tzinfo=JST)
# the newest validated file of 総 (4 errors, 1 warning) and of 経 (2 warnings), as the season records them
OPEN = {
    ("総", 4): ["L-TAG-UNKNOWN", "L-TAG-UNKNOWN", "L-TAG-UNKNOWN", "L-HALFWIDTH-KANA", "L-TAG-ALIAS"],
    ("経", 3): ["L-TAG-ALIAS", "L-LOOKALIKE"],
}
RECEIVED = [  # ministry, file, verdict, errors, warnings — in order of receipt, a day apart from 5月20日
    ("文", "受信/文部科学省/mext.xlsx", "accepted", 0, 0),
    ("経", "meti.xlsx", "rejected", 3, 0),
    ("総", "soumu.xlsx", "rejected", 5, 0),
    ("経", "meti-2.xlsx", "accepted_with_warnings", 0, 2),
    ("総", "総務省/soumu-修正.xlsx", "rejected", 4, 1),
    ("外", "mofa.xlsx", None, 0, 0),
    ("厚", "mhlw.xlsx", "rejected", 2, 0),  # its feedback workbook is not there (annex merge --no-feedback)
]


@pytest.fixture(scope="module")
def season(tmp_path_factory):
    """As test_status's season, without writing the templates: sent to everyone on 5月1日 (the
    outbox), 文 accepted, 経 returned then accepted with warnings, 総 returned twice and reminded
    twice, 外's file not yet validated, 厚 returned — and the feedback workbooks of 総's and 経's newest files."""
    ws = Workspace.at(tmp_path_factory.mktemp("status-page") / "ws")
    ws.output(2026).mkdir(parents=True)
    from annex.workspace.notify import expected_ministries

    with Outbox.open(ws.ledger_url) as outbox:
        for abbr in expected_ministries(ws, 2026):
            if abbr != ws.config.secretariat.abbr:
                outbox.claim(
                    2026, abbr, REQUEST_SLOT, message_id=f"<req-{abbr}>", recipients=["a@example.jp"], subject="提出依頼"
                )
                outbox.mark_sent(2026, abbr, REQUEST_SLOT)
        for slot in ("before-1", "after-2026-05-29"):
            outbox.claim(2026, "総", slot, message_id=f"<{slot}>", recipients=["a@mic.example"], subject="督促")
            outbox.mark_sent(2026, "総", slot)
    record_ledger(ws, RECEIVED)
    _feedback(ws)
    return ws


def _feedback(ws) -> None:
    """The feedback workbooks of those files, listing their issues on 検証結果 as validation writes them."""
    folder = feedback_folder(ws, 2026)
    folder.mkdir(parents=True, exist_ok=True)
    slugs = {m.abbr: m.slug for m in ws.config.ministries}
    for (ministry, n), codes in OPEN.items():
        sha = f"{n:064d}"
        issues = [
            Issue(code, "warning" if code in ("L-TAG-ALIAS", "L-LOOKALIKE") else "error", Location("x.xlsx"), "…")
            for code in codes
        ]
        write_results_only(
            Submission("x.xlsx", sha, ministry, 2026, "1", issues=issues), folder / feedback_file_name(slugs[ministry], sha)
        )


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _distinct_rows(path: Path) -> int:
    """How many different pixel rows the screenshot has (a blank page has one)."""
    data = path.read_bytes()
    width, height = _png_size(path)
    raw, pos = b"", 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        if data[pos + 4 : pos + 8] == b"IDAT":
            raw += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    pixels = zlib.decompress(raw)
    stride = len(pixels) // height
    return len({pixels[i * stride + 1 : (i + 1) * stride] for i in range(height)})


@pytest.fixture(scope="module")
def page(season):
    report = status_report(season, 2026, AT)
    return season, report, write_status_page(season, report)


def test_the_page_has_every_ministry_both_charts_and_nothing_from_the_network(page):
    ws, report, path = page
    assert path == status_page_path(ws, 2026)
    text = path.read_text(encoding="utf-8")
    doc = html.fromstring(text)
    rows = doc.xpath("//tbody/tr")
    assert [r.get("data-ministry") for r in rows] == [r.abbr for r in report.rows]
    for tr, row in zip(rows, report.rows):
        cells = [td.text_content() for td in tr.xpath("td")]
        assert cells == list(row.values()[:6]) + [row.verdict, row.in_use, row.open_issues, row.reminders, row.to_deadline]
    soumu = next(tr for tr in rows if tr.get("data-ministry") == "総")
    assert "2回" in soumu.text_content() and "差戻し" in soumu.text_content()

    # self-contained: no URL at all, no script, no external style sheet, image or font
    assert not re.search(r"https?:|//[a-z]|<script|<link|<img|@import|url\(", text, re.I)
    charts = doc.xpath("//svg")
    assert len(charts) == 2
    arrivals, issues = charts
    assert len(arrivals.xpath(".//circle")) == len(RECEIVED)  # every file received, dotted
    assert any(t.text_content().startswith("締切 2026年5月29日") for t in arrivals.xpath(".//text"))
    assert any(t.text_content() == f"提出対象 {len(report.rows)} 府省庁" for t in arrivals.xpath(".//text"))
    accepted = arrivals.xpath(".//polyline[@class='accepted']")[0].get("points").split()
    assert len(accepted) == 2 + 2 * 2  # from 0, up once for 文 and once for 経 (its second file), on to now
    bars = [t.text_content() for t in issues.xpath(".//text")]
    counts = [(label.split()[0], n) for label, n in zip(bars[0::2], bars[1::2])]  # most frequent first
    assert counts == [
        ("L-TAG-UNKNOWN", "3件"),
        ("L-TAG-ALIAS", "2件"),
        ("（内訳不明）", "2件"),  # 厚's errors, counted by the ledger, never dropped
        ("L-HALFWIDTH-KANA", "1件"),
        ("L-LOOKALIKE", "1件"),
    ]


def test_chromium_renders_the_page_and_the_screenshot_is_kept(page, tmp_path):
    _, report, path = page
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed: scripts/setup.sh installs it"
    shot = tmp_path / "status.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # root in CI
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1400,1600",
            path.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file(), "chromium wrote no screenshot"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, ARTEFACTS / "status.png")
    assert _png_size(shot) == (1400, 1600)
    assert _distinct_rows(shot) > 200  # text, charts and table drawn, not a blank page


def test_annex_status_writes_the_page_too(season, capsys):
    code, out, _ = run_cli(capsys, "status", "--at", "2026-05-27T09:00+09:00", "--workspace", str(season.root))
    assert code == 0
    assert f"出力: {status_page_path(season, 2026)}" in out
    assert status_page_path(season, 2026).is_file()
