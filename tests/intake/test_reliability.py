"""The bad-input catalogue as a suite (pytest -m reliability): every hostile or merely unusual
workbook a ministry can return — the research catalogue (§2, tests/hostile.py) and the cases of
issue 14 — is answered by a located rule inside the time and memory bound, measured over the
whole process tree of a child that validates them as `annex validate` does (readers included);
no file stops the others."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from corpus_distribution import distributed
from hostile import make_content_catalogue, shared_catalogue

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
SECONDS_PER_FILE = 30  # research/reliability_security.md §6.2
TREE_MB = 600


@pytest.fixture(scope="module")
def answered(tmp_path_factory):
    """The whole catalogue validated in one child process as `annex validate FILE...` does:
    (container cases, content cases, answers by file name, the batch's seconds, peak MB)."""
    d = distributed()
    folder = tmp_path_factory.mktemp("catalogue")
    valid = d.path("デジ").read_bytes()  # a small template with a dozen lines it may edit
    container = shared_catalogue(d.path("デジ"))
    content = make_content_catalogue(folder / "content", valid)
    good = folder / "good.xlsx"
    good.write_bytes(valid)
    files = [good, *(p for p, _ in container.values()), *(c.path for c in content.values())]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    out_path, err_path = folder / "answers.jsonl", folder / "stderr.txt"
    with open(out_path, "w") as out_file, open(err_path, "w") as err_file:  # files, not pipes: a full pipe would stall the child
        child = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "hostile_run.py"), str(d.workspace.root), "2026", *map(str, files)],
            stdout=out_file,
            stderr=err_file,
            env=env,
        )
        peak = _sample_tree(child, timeout=120)
    out, err = out_path.read_text(encoding="utf-8"), err_path.read_text(encoding="utf-8")
    assert child.returncode == 0, err[-3000:]
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert lines[0] == {"ready": True}
    answers = {a["name"]: a for a in lines[2:]}
    assert list(answers) == [f.name for f in files], err[-3000:]
    feedback = sorted(p.name for p in (d.workspace.output(2026) / "feedback").glob("*.xlsx"))
    return container, content, answers, lines[1]["seconds"], peak, feedback


def _sample_tree(child: subprocess.Popen, timeout: float) -> float:
    """An upper bound of the peak RSS (MB) of the child's whole process tree: the sum, over every
    process seen in it, of its own peak (VmHWM, kept by the kernel), read every 100 ms until the
    child exits. Cheap enough not to slow the child down, and never below the true peak of the
    sum (a process killed between two reads is counted at its last peak read)."""
    proc, deadline = psutil.Process(child.pid), time.monotonic() + timeout
    peaks: dict[int, int] = {}
    while child.poll() is None:
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"the catalogue was not answered in {timeout} s")
        try:
            tree = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            tree = []
        for p in tree:
            try:
                status = Path(f"/proc/{p.pid}/status").read_text()
            except OSError:
                continue
            kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
            peaks[p.pid] = max(peaks.get(p.pid, 0), kb)
        time.sleep(0.1)
    return sum(peaks.values()) / 1024


def test_the_whole_catalogue_is_answered_within_the_bounds(answered):
    """Every file decided, the whole batch, in 30 s and 600 MB for the process tree (so each file
    is); the valid file is still accepted beside them, and every file got its feedback."""
    container, content, answers, seconds, peak, feedback = answered
    assert seconds <= SECONDS_PER_FILE, f"{seconds:.1f} s for the catalogue"
    assert peak <= TREE_MB, f"the process tree peaked at {peak:.0f} MB"
    assert answers["good.xlsx"]["verdict"] == "受理"
    assert len(feedback) >= len(container) + len(content)


def test_container_cases_are_refused_with_their_rule(answered):
    container, _, answers, *_ = answered
    for name, (_, code) in container.items():
        answer = answers[name]
        assert answer["verdict"] == "差戻し", name
        assert [i["rule"] for i in answer["issues"] if i["severity"] == "error"] == [code], (name, answer["issues"])
        issue = answer["issues"][0]
        assert issue["file"] == name and issue["message"], name


def test_content_cases_are_located_and_the_shown_text_is_read(answered):
    _, content, answers, *_ = answered
    for name, case in content.items():
        answer = answers[name]
        assert answer["accepted"] == case.accepted, (name, answer["verdict"], answer["issues"])
        at: dict[tuple, list[dict]] = {}
        for issue in answer["issues"]:
            if not issue["rule"].startswith("N-"):
                at.setdefault((issue["sheet"], issue["cell"]), []).append(issue)
        for expect in case.expects:
            found = at.get((expect.sheet, expect.cell), [])
            if expect.rule is None:
                assert found == [], (name, expect.case, found)
            else:  # located: file, sheet and cell, in Japanese; one issue for the cell, not two
                assert [i["rule"] for i in found] == [expect.rule], (name, expect.case, answer["issues"])
                assert found[0]["file"] == name and found[0]["message"], (name, expect.case)
            if expect.text is not None:
                assert answer["texts"][expect.item] == expect.text, (name, expect.case)
        # nothing else is wrong with these files than what was planted (notation aside)
        planted = {(e.sheet, e.cell) for e in case.expects if e.rule}
        hidden = {("記入シート", None)} if name == "copied_sheet.xlsx" else set()  # S-SHEET-HIDDEN: the sheet, no cell
        assert set(at) - planted - hidden == set(), (name, [at[k] for k in set(at) - planted - hidden])
