"""A generated catalogue of hostile and broken files through the real batch path: each one is
rejected with a located message, none crashes or hangs the batch, memory stays bounded, and the
valid files in the same batch are still accepted."""

from __future__ import annotations

import os
import resource
import shutil
import time

import pytest
from corpus_distribution import distributed
from hostile import OK_ROWS, cell_text_workbook, make_catalogue, sheet_xml, write_xlsx

from annex.intake.ledger import Ledger
from annex.io.workers import WorkerPool
from annex.workspace.collect import collect_and_validate, validate_files
from annex.workspace.master import load_reference


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = distributed()
    folder = tmp_path_factory.mktemp("badfiles")
    cases = make_catalogue(folder, d.path("文").read_bytes())
    cases["cell_40000_chars.xlsx"] = (cell_text_workbook(folder / "cell_40000_chars.xlsx", "x" * 40_000), None)
    return d, cases, load_reference(d.workspace, 2026)


def test_every_bad_file_is_rejected_and_the_batch_goes_on(env, tmp_path):
    d, cases, ref = env
    good = tmp_path / "good.xlsx"
    shutil.copyfile(d.path("文"), good)
    paths = [good] + [p for p, _ in cases.values()] + [good]
    start = time.perf_counter()
    with WorkerPool(workers=2, memory_mb=1024, timeout_s=30) as pool:
        subs = validate_files(d.workspace, 2026, paths, pool=pool, reference=ref)
    elapsed = time.perf_counter() - start
    assert elapsed < 60
    assert subs[0].verdict == "受理" and subs[-1].verdict == "受理"
    for (name, (_path, code)), sub in zip(cases.items(), subs[1:-1]):
        assert sub.verdict == "差戻し", name
        first = sub.errors[0]
        assert first.location.file == name and first.message and first.suggestion is not None, name
        if code:
            assert [i.rule for i in sub.errors] == [code], (name, sub.errors)
    long = subs[-2]
    assert long.file == "cell_40000_chars.xlsx"
    # not this year's template (no metadata) — and never truncated on the way: the issue names the file
    assert long.errors[0].rule == "F-FOREIGN"
    # every file got a feedback workbook; the parent's memory stayed small
    assert len(list((d.workspace.output(2026) / "feedback").glob("unidentified-*.xlsx"))) >= len(cases) - 1
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 1_500_000  # KiB


def test_a_40000_character_cell_in_a_real_template_is_located(env, tmp_path):
    import openpyxl

    d, _, ref = env
    path = tmp_path / "long.xlsx"
    shutil.copyfile(d.path("文"), path)
    wb = openpyxl.load_workbook(path)
    ws = wb["記入シート"]
    row = next(r for r in range(4, ws.max_row + 1) if ws[f"A{r}"].value and ws[f"L{r}"].protection.locked is False)
    wb.save(path)
    # openpyxl would truncate on assignment: write the cell into the XML directly
    import io
    import re
    import zipfile

    src = zipfile.ZipFile(path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                text = re.sub(
                    rf'<c r="H{row}"([^>]*?)(/>|>.*?</c>)',
                    f'<c r="H{row}" t="inlineStr"><is><t>{"あ" * 40000}</t></is></c>',
                    text,
                    count=1,
                )
                text = re.sub(
                    rf'<c r="L{row}"([^>]*?)(/>|>.*?</c>)', f'<c r="L{row}" t="inlineStr"><is><t>修正</t></is></c>', text, count=1
                )
                data = text.encode()
            dst.writestr(info, data)
    path.write_bytes(out.getvalue())
    with WorkerPool(workers=1) as pool:
        [sub] = validate_files(d.workspace, 2026, [path], pool=pool, reference=ref)
    issue = next(i for i in sub.errors if i.rule == "L-TEXT-TOO-LONG")
    assert issue.location.cell == f"H{row}" and "40000" in issue.message


def test_a_parser_that_aborts_the_process_rejects_one_file_only(tmp_path):
    """calamine aborts on a cell at XFD1048576 (SIGABRT, nothing to catch); preflight stops that
    file first, but if a parser ever dies anyway, only its file fails and the pool recovers."""
    import fastexcel  # noqa: F401 - the reader the workers use

    bomb = write_xlsx(
        tmp_path / "xfd.xlsx", sheet_xml(OK_ROWS + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', dim="A1:XFD1048576")
    )
    with WorkerPool(workers=2, memory_mb=1024, timeout_s=20) as pool:
        outcomes = pool.map(_read_without_preflight, [(str(bomb),), (str(bomb),)])
        assert [o.status for o in outcomes] in (["crashed", "crashed"], ["error", "error"])
        assert pool.map(os.getpid, [()])[0].ok  # a fresh worker took over


def _read_without_preflight(path: str):
    import fastexcel

    return fastexcel.read_excel(path).load_sheet(0, header_row=None).to_polars().height


def test_hung_and_memory_hungry_jobs_fail_alone():
    with WorkerPool(workers=2, memory_mb=512, timeout_s=1) as pool:
        start = time.perf_counter()
        outcomes = pool.map(time.sleep, [(30,), (0,)])
        assert [o.status for o in outcomes] == ["timeout", "ok"] and time.perf_counter() - start < 10
        [hog] = pool.map(bytearray, [(1 << 30,)])
        assert hog.status == "error" and "MemoryError" in hog.detail
        assert pool.map(len, [("ok",)])[0].value == 2


def test_bad_files_are_archived_and_logged_before_parsing(env, tmp_path):
    d, cases, ref = env
    from annex.workspace.layout import Workspace

    ws = Workspace.at(tmp_path / "ws")
    inbox = ws.submissions(2026)
    (inbox / "sub").mkdir(parents=True)
    for name in ("truncated.xlsx", "zipbomb_whitespace.xlsx", "encrypted.xlsx"):
        shutil.copyfile(cases[name][0], inbox / "sub" / name)
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    with WorkerPool(workers=2) as pool:
        result = collect_and_validate(ws, 2026, ledger=ledger, pool=pool, reference=ref)
    assert sorted(e.path for e in result.new) == ["sub/encrypted.xlsx", "sub/truncated.xlsx", "sub/zipbomb_whitespace.xlsx"]
    for entry in result.new:
        assert entry.status == "rejected" and entry.errors == 1 and entry.ministry is None
        assert (ws.archive / entry.archive_path).read_bytes() == (inbox / entry.path).read_bytes()
    ledger.close()
