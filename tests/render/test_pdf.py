"""annex.pdf: LibreOffice headless, checked by reading the PDF back (pdftotext, pdffonts, pdfinfo)
and by looking at a page (pdftoppm → output/test-artifacts/, git-ignored).

Only two real conversions run (the corpus, once per module, and one corrupt file); the
hardening (private profile, timeout, output checks) is tested with a stand-in soffice.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from annex.master.importer import import_annex, read_annex_file
from annex.model.annex import COLUMNS, MEASURE_LABEL
from annex.model.config import bundled_path, load_config
from annex.render import ABBREVIATION_LEAD, LABELS, TABLE_SHARES, build_context, expected_min_pages
from annex.render.pdf import MISSING_MESSAGE, _new_profile, _seed_path, convert_to_pdf, find_soffice
from annex.workspace.layout import Workspace
from annex.workspace.master import import_into_workspace
from annex.workspace.render import render_year

PROJECT_ROOT = Path(__file__).resolve().parents[2]

ARTIFACTS = PROJECT_ROOT / "output" / "test-artifacts"
needs_libreoffice = pytest.mark.skipif(
    find_soffice() is None or shutil.which("pdftotext") is None, reason="LibreOffice / poppler-utils not installed"
)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def contains_in_pieces(haystack: str, needle: str, max_pieces: int = 3, max_gap: int = 800) -> int:
    """Where needle starts in haystack, allowing it to be cut in up to max_pieces by page breaks
    (repeated header row, page number, footnotes in between); -1 if it is not there."""

    def common(at: int, rest: str) -> int:
        k = 0
        while k < len(rest) and at + k < len(haystack) and haystack[at + k] == rest[k]:
            k += 1
        return k

    def search(rest: str, pos: int, limit: int | None, pieces: int) -> int:
        if not rest:
            return pos
        if pieces == max_pieces:
            return -1
        probe = rest[: min(len(rest), 4)]
        at = haystack.find(probe, pos)
        while at >= 0 and (limit is None or at <= limit):
            k = common(at, rest)
            if search(rest[k:], at + k, at + k + max_gap, pieces + 1) >= 0:
                return at
            at = haystack.find(probe, at + 1)
        return -1

    return search(needle, 0, None, 0)


@pytest.fixture(scope="module")
def master():
    return import_annex(read_annex_file(bundled_path("annex_2025.json")), load_config(None).tags, 2025).annex


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """The corpus rendered by render_year with its PDF — the one real conversion of the module."""
    if find_soffice() is None:
        pytest.skip("LibreOffice not installed")
    ws = Workspace.at(tmp_path_factory.mktemp("ws"))
    import_into_workspace(ws, bundled_path("annex_2025.json"), 2025)
    result = render_year(ws, 2025, timeout=240)
    assert result.pdf_produced, result.pdf_reason
    return ws, result


def pdftotext(pdf: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def column_text(pdf: Path, index: int) -> str:
    """The text of one table column over every page: the page is cropped to the column."""
    left, text_width = 72 * 1134 / 1440, 72 * (11906 - 2 * 1134) / 1440  # template: A4, 20 mm margins
    x0 = left + sum(TABLE_SHARES[:index]) * text_width
    width = TABLE_SHARES[index] * text_width
    return pdftotext(pdf, "-layout", "-r", "72", "-x", str(int(x0 + 2)), "-y", "0", "-W", str(int(width - 4)), "-H", "842")


@pytest.mark.libreoffice
@needs_libreoffice
def test_the_pdf_exists_is_a_pdf_and_has_the_pages_it_should(converted, master):
    ws, result = converted
    pdf = ws.output(2025) / "annex.pdf"
    assert result.pdf_path == pdf and pdf.read_bytes()[:5] == b"%PDF-"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert pages == result.pages >= expected_min_pages(build_context(master))
    assert re.search(r"^Page size:\s+595\.\d* x 841\.\d* pts \(A4\)", info, re.M)
    assert 15 <= pages <= 60  # 461 bullets: about 28 A4 pages


@pytest.mark.libreoffice
@needs_libreoffice
def test_pdftotext_contains_every_measure_and_bullet_in_its_column(converted, master):
    """Each column is cropped page by page, so a bullet is found in the column it belongs to.
    (Order is checked on the Word file, test_render.py; here a re-listed copy may match too.)"""
    pdf = converted[0].output(2025) / "annex.pdf"
    columns = {i: _squash(column_text(pdf, i)) for i in range(3)}
    for _, _, row in master.rows():
        tags = f"【{'、'.join(row.measure_tags)}】" if row.measure_tags else ""
        measure = _squash(f"{row.measure_marker or ''}{row.measure}{'（再掲）' if row.measure_relisted else ''}{tags}")
        assert contains_in_pieces(columns[0], measure) >= 0, f"{row.id}: measure not in the PDF"
        for i, column in enumerate(COLUMNS, start=1):
            for bullet in row.bullets(column):
                assert contains_in_pieces(columns[i], _squash(bullet.rendered())) >= 0, (
                    f"{bullet.id}: {bullet.rendered()[:40]}… not in the PDF column"
                )
            for sub in row.subheadings or []:
                if sub.column == column:
                    assert _squash(sub.text) in columns[i], sub.text


@pytest.mark.libreoffice
@needs_libreoffice
def test_preamble_footnotes_and_abbreviations_are_in_the_pdf(converted, master):
    text = _squash(pdftotext(converted[0].output(2025) / "annex.pdf"))
    pre = master.chapters[0].preamble
    for label in LABELS.values():
        assert _squash(label) in text
    for item in pre.vision + [i.text for i in pre.key_indicators + pre.reference_indicators]:
        assert contains_in_pieces(text, _squash(item)) >= 0
    layout = pdftotext(converted[0].output(2025) / "annex.pdf", "-layout")
    for number, note in master.footnotes.items():  # numbered as published: 165 …, at the page bottom
        assert contains_in_pieces(text, _squash(note)) >= 0, number
        assert re.search(rf"^\s*{number}\s*$", layout, re.M) or re.search(rf"^\s*{number}\s", layout, re.M), number
    for abbr in master.abbreviations:
        assert _squash(abbr.abbr + "".join(abbr.names)) in text or _squash(abbr.names[0]) in text


@pytest.mark.libreoffice
@needs_libreoffice
def test_each_footnote_mark_stands_where_the_published_text_cites_it(converted, master):
    """「…国際的に遜色のない水準¹⁶⁵を視野に…」: the mark inside the sentence, at its offset, not at the end."""
    text = _squash(pdftotext(converted[0].output(2025) / "annex.pdf"))
    checked = 0
    for chapter in master.chapters:
        for indicator in chapter.preamble.key_indicators + chapter.preamble.reference_indicators:
            for number, offset in indicator.footnote_marks():
                before, after = indicator.text[:offset], indicator.text[offset:]
                assert _squash(before[-8:] + str(number) + after[:8]) in text, (number, indicator.text)
                checked += 1
    assert checked == 8
    mid = [o for c in master.chapters for i in c.preamble.key_indicators for _, o in i.footnote_marks() if o < len(i.text)]
    assert mid, "the corpus cites at least one footnote mid-sentence"


@pytest.mark.libreoffice
@needs_libreoffice
def test_the_japanese_fonts_are_embedded(converted):
    out = subprocess.run(
        ["pdffonts", str(converted[0].output(2025) / "annex.pdf")], capture_output=True, text=True, check=True
    ).stdout
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    embedded = {re.sub(r"^[A-Z]{6}\+", "", r[0]): r[-5] for r in rows}  # emb column: yes / no
    assert embedded.get("IPAexMincho") == "yes" and embedded.get("IPAexGothic") == "yes"
    assert all(flag == "yes" for flag in embedded.values()), embedded


@pytest.mark.libreoffice
@needs_libreoffice
def test_every_page_starts_with_a_heading_or_the_repeated_header_row(converted, master):
    pdf = converted[0].output(2025) / "annex.pdf"
    starts_ok = [f"{c.no_raw}．" for c in master.chapters] + [ABBREVIATION_LEAD, "略称", MEASURE_LABEL]
    starts_ok += [s.no for c in master.chapters for s in c.sections] + [
        s.group for c in master.chapters for s in c.sections if s.group
    ]
    header_pages = 0
    for page in range(1, converted[1].pages + 1):
        lines = [s.strip() for s in pdftotext(pdf, "-layout", "-f", str(page), "-l", str(page)).splitlines() if s.strip()]
        assert any(lines[0].startswith(s) for s in starts_ok), f"page {page} starts with {lines[0][:30]!r}"
        header_pages += lines[0].startswith(MEASURE_LABEL)
    assert header_pages >= converted[1].pages // 2  # most pages continue a table under its repeated header


@pytest.mark.libreoffice
@needs_libreoffice
def test_a_page_is_rendered_to_png_for_a_human_to_look_at(converted):
    """Artefacts in output/test-artifacts/: page 2 (a table continuing under its repeated header)
    and the page in the middle of the ＡＩ table (sub-headings ≪…≫, 「－」)."""
    pdf = converted[0].output(2025) / "annex.pdf"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ai_page = next(
        p for p in range(1, converted[1].pages + 1) if "≪ＡＩ利活用の促進≫" in pdftotext(pdf, "-f", str(p), "-l", str(p))
    )
    for page in (2, ai_page):
        stem = ARTIFACTS / f"annex-page-{page:02d}"
        subprocess.run(
            ["pdftoppm", "-r", "80", "-png", "-singlefile", "-f", str(page), "-l", str(page), str(pdf), str(stem)], check=True
        )
        png = stem.with_suffix(".png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])
        assert abs(width - 661) <= 2 and abs(height - 935) <= 2  # A4 portrait at 80 dpi
        assert len(png) > 40_000  # a page full of text, not a blank one


@pytest.mark.libreoffice
@needs_libreoffice
def test_a_corrupt_docx_is_a_failure_although_soffice_exits_0(converted, tmp_path):
    corrupt = tmp_path / "corrupt.docx"
    corrupt.write_bytes((converted[0].output(2025) / "annex.docx").read_bytes()[:3000])
    result = convert_to_pdf(corrupt, tmp_path / "out", timeout=120)
    assert not result.ok and result.path is None
    assert "PDF を出力しませんでした" in result.reason
    assert not (tmp_path / "out" / "corrupt.pdf").exists()


# -- the hardening, with a stand-in soffice (no LibreOffice needed) ----------------------------------
FAKE = textwrap.dedent(
    """\
    #!{python}
    import os, sys, time, subprocess, pathlib
    args = sys.argv[1:]
    log = pathlib.Path(os.environ["FAKE_LOG"])
    log.write_text("\\n".join(args), encoding="utf-8")
    profile = next(a.split("=", 1)[1] for a in args if a.startswith("-env:UserInstallation="))
    xcu = pathlib.Path(profile.removeprefix("file://")) / "user" / "registrymodifications.xcu"
    (log.parent / "xcu-seen").write_text(xcu.read_text(encoding="utf-8") if xcu.exists() else "", encoding="utf-8")
    (log.parent / "profile-path").write_text(profile, encoding="utf-8")
    root = pathlib.Path(profile.removeprefix("file://"))
    (log.parent / "profile-files").write_text("\\n".join(sorted(str(f.relative_to(root)) for f in root.rglob("*"))))
    (root / "user" / "initialised-by-a-run").write_text("LibreOffice writes its start-up state here")
    outdir = pathlib.Path(args[args.index("--outdir") + 1])
    target = outdir / (pathlib.Path(args[-1]).stem + ".pdf")
    mode = os.environ["FAKE_MODE"]
    if mode.startswith("pdf"):
        pages = int(mode[3:])
        target.write_bytes(b"%PDF-1.4\\n" + b"".join(b"1 0 obj << /Type /Page >> endobj\\n" for _ in range(pages)) + b"%%EOF\\n")
    elif mode == "garbage":
        target.write_bytes(b"<html>not a pdf</html>")
    elif mode == "sleep":
        child = subprocess.Popen(["sleep", "60"])
        (log.parent / "child-pid").write_text(str(child.pid))
        time.sleep(60)
    sys.exit(0)  # LibreOffice exits 0 whatever happened
    """
)


@pytest.fixture
def fake_soffice(tmp_path, monkeypatch):
    script = tmp_path / "soffice"
    script.write_text(FAKE.format(python=sys.executable), encoding="utf-8")
    script.chmod(0o755)
    docx = tmp_path / "in" / "annex.docx"
    docx.parent.mkdir()
    docx.write_bytes(b"PK stand-in")
    monkeypatch.setenv("ANNEX_SOFFICE", str(script))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "argv"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # scratch folders and the profile seed

    def run(mode: str, **kwargs):
        monkeypatch.setenv("FAKE_MODE", mode)
        return convert_to_pdf(docx, tmp_path / "out", **kwargs)

    return run, tmp_path


def test_each_conversion_gets_a_private_absolute_profile_that_blocks_external_links(fake_soffice):
    run, tmp = fake_soffice
    result = run("pdf3", expected_min_pages=3)
    assert result.ok and result.pages == 3 and result.path == tmp / "out" / "annex.pdf"
    args = (tmp / "argv").read_text(encoding="utf-8").splitlines()
    profile = (tmp / "profile-path").read_text(encoding="utf-8")
    assert f"-env:UserInstallation={profile}" in args and profile.startswith("file:///")
    assert Path(profile.removeprefix("file://")).is_absolute()
    assert {"--headless", "--norestore", "--convert-to"} <= set(args)
    xcu = (tmp / "xcu-seen").read_text(encoding="utf-8")
    assert re.search(r'oor:name="BlockUntrustedRefererLinks"[^>]*><value>true</value>', xcu)
    assert not Path(profile.removeprefix("file://")).exists()  # removed after the run
    second = run("pdf3", expected_min_pages=1)
    assert second.ok and (tmp / "profile-path").read_text(encoding="utf-8") != profile  # a fresh one each time


def test_later_conversions_start_from_a_copy_of_an_initialised_profile_and_a_failing_seed_is_dropped(fake_soffice, monkeypatch):
    run, tmp = fake_soffice
    seed = _seed_path(os.environ["ANNEX_SOFFICE"])
    assert run("pdf1").ok and "initialised-by-a-run" not in (tmp / "profile-files").read_text()  # a bare profile
    assert stat.S_IMODE(seed.stat().st_mode) == 0o700
    assert "initialised-by-a-run" in {p.name for p in seed.rglob("*")}
    assert re.search(r"BlockUntrustedRefererLinks", (seed / "user" / "registrymodifications.xcu").read_text())

    second = run("pdf1")
    first_profile = (tmp / "profile-path").read_text(encoding="utf-8")
    assert second.ok and "user/initialised-by-a-run" in (tmp / "profile-files").read_text()  # started from the seed
    assert not Path(first_profile.removeprefix("file://")).exists()  # its own copy, removed after the run
    assert re.search(r'BlockUntrustedRefererLinks"[^>]*><value>true', (tmp / "xcu-seen").read_text())

    failed = run("garbage")  # on the seed, then once more on a bare profile: both fail
    assert not failed.ok and "PDF ではありません" in failed.reason
    assert "initialised-by-a-run" not in (tmp / "profile-files").read_text() and not seed.exists()


def test_a_seed_that_went_away_meanwhile_leaves_a_bare_profile_with_our_settings(tmp_path):
    _new_profile(tmp_path / "profile", tmp_path / "dropped-by-another-run")
    xcu = (tmp_path / "profile" / "user" / "registrymodifications.xcu").read_text(encoding="utf-8")
    assert re.search(r'BlockUntrustedRefererLinks"[^>]*><value>true', xcu)


def test_a_seed_another_user_could_have_written_is_not_used(fake_soffice):
    run, tmp = fake_soffice
    seed = _seed_path(os.environ["ANNEX_SOFFICE"])
    (seed / "user").mkdir(parents=True)
    (seed / "user" / "planted").write_text("x")
    seed.chmod(0o777)
    assert run("pdf1").ok
    assert "planted" not in (tmp / "profile-files").read_text()


@pytest.mark.parametrize(
    ("mode", "message"),
    [("none", "PDF を出力しませんでした（終了コード 0"), ("garbage", "PDF ではありません"), ("pdf1", "少なすぎます")],
)
def test_exit_code_0_is_never_taken_for_success(fake_soffice, mode, message):
    run, tmp = fake_soffice
    result = run(mode, expected_min_pages=3)
    assert not result.ok and message in result.reason and result.returncode == 0
    assert not (tmp / "out" / "annex.pdf").exists()


def test_a_hanging_conversion_is_stopped_and_its_whole_process_group_killed(fake_soffice):
    run, tmp = fake_soffice
    result = run("sleep", timeout=2)
    assert not result.ok and "2 秒以内" in result.reason
    child = int((tmp / "child-pid").read_text())
    status = Path(f"/proc/{child}/status")
    assert not status.exists() or re.search(r"^State:\s+Z", status.read_text(), re.M), "soffice's child survived"


def test_without_libreoffice_the_reason_is_plain_japanese(monkeypatch, tmp_path):
    monkeypatch.setenv("ANNEX_SOFFICE", str(tmp_path / "nowhere" / "soffice"))
    result = convert_to_pdf(tmp_path / "annex.docx", tmp_path)
    assert not result.ok and result.reason == MISSING_MESSAGE
    assert "LibreOffice" in result.reason and "Word ファイル（.docx）は出力済み" in result.reason
