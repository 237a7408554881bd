"""The inbox as secretariats receive it: names that are not UTF-8 (a ZIP from an older Japanese
Windows), hostile names, dot-files, lock files, symlinks, FIFOs. None crashes `annex merge`,
none reads or writes outside the workspace, a dot-file is a return like any other, and every
file skipped is named with its reason."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from annex.workspace.layout import Workspace
from flows.cli import main

pytestmark = pytest.mark.reliability  # issue 14's fault catalogue

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "submissions" / "2026"


def _snapshot(folder: Path) -> dict[str, tuple[int, float]]:
    return {str(p): (p.lstat().st_size, p.lstat().st_mtime) for p in folder.rglob("*")}


def test_hostile_names_and_odd_entries_are_named_never_followed_and_never_crash(tmp_path, capfd):
    outside = tmp_path / "outside"  # what a symlink in the inbox points at: never read
    (outside / "folder").mkdir(parents=True)
    shutil.copyfile(SAMPLES / "法務省_別添記入シート.xlsx", outside / "法務省.xlsx")
    shutil.copyfile(SAMPLES / "法務省_別添記入シート.xlsx", outside / "folder" / "法務省.xlsx")
    before = _snapshot(outside)

    ws = Workspace.at(tmp_path / "ws")
    inbox = ws.submissions(2026)
    inbox.mkdir(parents=True)
    raw = os.fsencode(inbox)
    shutil.copyfile(SAMPLES / "外務省_別添記入シート.xlsx", raw + b"/" + "外務省回答".encode("cp932") + b".xlsx")
    (inbox / ".警察庁_別添記入シート.xlsx").write_bytes((SAMPLES / "警察庁_別添記入シート.xlsx").read_bytes())
    (inbox / "..\\..\\evil.xlsx").write_bytes(b"not a workbook 1")  # a Windows path as a name
    (inbox / "\u202excod.xlsx").write_bytes(b"not a workbook 2")  # right-to-left override
    with open(raw + b"/\xff\xfe.xlsx", "wb") as f:  # neither UTF-8 nor Shift_JIS
        f.write(b"not a workbook 3")
    (inbox / "~$外務省回答.xlsx").write_bytes(b"\x00" * 165)
    (inbox / ".~lock.外務省回答.xlsx#").write_text("lock")
    (inbox / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (inbox / "法務省.xlsx").symlink_to(outside / "法務省.xlsx")
    (inbox / "共有").symlink_to(outside / "folder", target_is_directory=True)
    os.mkfifo(inbox / "pipe.xlsx")  # opening it would block for ever

    try:
        main(["merge", "--workspace", str(ws.root), "--no-feedback"])
    except SystemExit as exit:
        assert exit.code in (0, None)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "surrogates" not in out + err, err

    skipped = {line.split("対象外: ", 1)[1].split(" — ")[0]: line for line in out.splitlines() if "対象外: " in line}
    assert set(skipped) == {"~$外務省回答.xlsx", ".~lock.外務省回答.xlsx#", ".DS_Store", "法務省.xlsx", "共有", "pipe.xlsx"}
    assert "Excel が開いている間" in skipped["~$外務省回答.xlsx"] and "LibreOffice" in skipped[".~lock.外務省回答.xlsx#"]
    assert "シンボリックリンク" in skipped["法務省.xlsx"] and "シンボリックリンク" in skipped["共有"]
    assert "名前付きパイプ" in skipped["pipe.xlsx"]
    renamed = [line for line in out.splitlines() if "ファイル名: " in line]
    assert any("外務省回答.xlsx — ファイル名が UTF-8 ではないため Shift_JIS" in line for line in renamed)
    assert any("\ufffd" in line for line in renamed) and any("書字指定" in line for line in renamed)
    assert "反映した提出物: 2 府省" in out  # 外 under its Shift_JIS name, 警 from its dot-file

    with ws.open_ledger() as ledger:
        entries = ledger.entries(2026)
    by_path = {e.path: e for e in entries}
    assert by_path["外務省回答.xlsx"].ministry == "外" and by_path["外務省回答.xlsx"].accepted
    assert by_path[".警察庁_別添記入シート.xlsx"].ministry == "警" and by_path[".警察庁_別添記入シート.xlsx"].accepted
    assert "..\\..\\evil.xlsx" in by_path and by_path["..\\..\\evil.xlsx"].ministry is None
    assert len(entries) == 5 and all(e.path.encode("utf-8") for e in entries)
    assert "法" not in {e.ministry for e in entries}  # the symlinked workbook was not read
    assert _snapshot(outside) == before  # nothing outside the workspace read-modified or written
    written = {p.relative_to(ws.root).parts[0] for p in ws.root.rglob("*") if p.is_file()}
    assert written <= {"submissions", "archive", "output"}
    assert all(p.suffix in (".xlsx", ".bin") for p in (ws.archive / "sha256").rglob("*") if p.is_file())


def test_annex_validate_reads_and_prints_a_file_whose_name_is_shift_jis(tmp_path, capfd):
    folder = os.fsencode(tmp_path)
    target = folder + b"/" + "外務省回答".encode("cp932") + b".xlsx"
    shutil.copyfile(SAMPLES / "外務省_別添記入シート.xlsx", target)
    main(["validate", "--workspace", str(tmp_path / "ws"), os.fsdecode(target)])
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    assert f"{tmp_path}/外務省回答.xlsx: 受理（府省 外" in out
