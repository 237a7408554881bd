"""Outputs are published together or not at all, and what a killed run left behind is swept."""

from __future__ import annotations

import os
import time

import pytest

from annex.io.files import TEMP_SUFFIX, publishing, sweep_orphans


def test_a_failure_publishes_nothing_and_leaves_no_temp_file(tmp_path):
    (tmp_path / "a.txt").write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with publishing() as outputs:
            outputs.stage_text(tmp_path / "a.txt", "new")
            outputs.stage_text(tmp_path / "b.txt", "new")
            raise RuntimeError("the third output failed")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_success_publishes_every_file(tmp_path):
    with publishing() as outputs:
        outputs.stage_text(tmp_path / "x" / "a.txt", "A")
        outputs.stage_bytes(tmp_path / "x" / "b.bin", b"B")
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["a.txt", "b.bin"]


def test_sweep_removes_old_leftovers_only(tmp_path):
    old_temp = tmp_path / "2026" / f".master.json.abc{TEMP_SUFFIX}"
    old_scratch = tmp_path / "2026" / ".annex-render-xyz"
    young_temp = tmp_path / "2026" / f".annex.docx.def{TEMP_SUFFIX}"
    output = tmp_path / "2026" / "master.json"
    old_scratch.mkdir(parents=True)
    (old_scratch / "annex.docx").write_bytes(b"x")
    for path in (old_temp, young_temp, output):
        path.write_bytes(b"x")
    hours_ago = time.time() - 7200
    for path in (old_temp, old_scratch, output):
        os.utime(path, (hours_ago, hours_ago))
    assert sweep_orphans(tmp_path) == 2
    assert not old_temp.exists() and not old_scratch.exists()
    assert young_temp.exists() and output.exists()


def test_sweep_removes_a_dead_runs_scratch_folders_at_once(tmp_path):
    """The renderer's and the publication's scratch folders carry their writer's pid after a
    dash (.annex-render-pid123-…, .annex-publish-pid123-…): a dead writer's go at once, not an
    hour later; a live one's stay."""
    import subprocess
    import sys

    from annex.io.files import owner_tag

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead = int(gone.stdout)
    folder = tmp_path / "2026"
    orphans = [folder / f".annex-render-pid{dead}-x1", folder / f".annex-publish-pid{dead}-x2"]
    live = folder / f".annex-publish-{owner_tag()}x3"
    for path in (*orphans, live):
        path.mkdir(parents=True)
        (path / "annex.docx").write_bytes(b"x")
    assert sweep_orphans(tmp_path) == 2
    assert not any(p.exists() for p in orphans) and live.exists()


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_outputs_and_archived_files_get_the_umasks_mode_not_mkstemps_0600(tmp_path, umask_022):
    """Colleagues sharing the workspace read what annex wrote: 0666 & ~umask (0644 here), set
    while the file still has its temp name; the archive's copies are that, read-only."""
    import stat

    from annex.intake.archive import archive_file
    from annex.io.files import write_atomically

    output = write_atomically(tmp_path / "out" / "master.xlsx", lambda p: p.write_bytes(b"x"))
    with publishing() as outputs:
        outputs.stage_text(tmp_path / "out" / "run.json", "{}")
    source = tmp_path / "文科省.xlsx"
    source.write_bytes(b"return")
    _, _, archived = archive_file(source, tmp_path / "archive")
    assert stat.S_IMODE(output.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "out" / "run.json").stat().st_mode) == 0o644
    assert stat.S_IMODE(archived.stat().st_mode) == 0o444  # readable by all, written by none
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["master.xlsx", "run.json"]


def test_a_half_written_output_is_never_readable_under_its_final_name(tmp_path, umask_022):
    import stat

    final = tmp_path / "annex.docx"
    seen = []

    def write(temp):
        temp.write_bytes(b"half")
        seen.append((final.exists(), stat.S_IMODE(temp.stat().st_mode)))

    from annex.io.files import write_atomically

    write_atomically(final, write)
    assert seen == [(False, 0o600)]  # while written: absent under its name, private under the temp one
    assert stat.S_IMODE(final.stat().st_mode) == 0o644
