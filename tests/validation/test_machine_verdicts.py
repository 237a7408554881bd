"""A verdict about the machine is never a verdict about the file (issue 14): a read that timed out
or hit the memory limit on a valid return is retried, then held (保留) — never 差戻し, never
recorded as judged in the ledger, never cached by Prefect, no feedback — and the next normal run
accepts the same bytes."""

from __future__ import annotations

import contextlib
import shutil

import pytest
from corpus_distribution import distributed

from annex.io.workers import Outcome, WorkerPool
from annex.notify.reminders import HELD
from annex.validation.batch import READ_ATTEMPTS, read_and_validate
from annex.workspace import collect
from annex.workspace.layout import Workspace
from annex.workspace.master import load_reference
from annex.workspace.run import ministry_table

pytestmark = pytest.mark.reliability


@pytest.fixture
def inbox(tmp_path):
    d = distributed()
    ws = Workspace.at(tmp_path / "ws")
    shutil.copytree(d.workspace.output(2025), ws.output(2025))
    ws.submissions(2026).mkdir(parents=True)
    shutil.copyfile(d.path("デジ"), ws.submissions(2026) / "デジタル庁_回答.xlsx")
    return ws, load_reference(d.workspace, 2026)


def test_a_timed_out_read_holds_the_file_and_the_next_run_accepts_it(inbox):
    ws, ref = inbox
    # a loaded machine: 1 ms, well below any read (unzip and preflight alone take more); 50 ms was
    # once enough to time out, but no longer since reading got faster
    with WorkerPool(workers=1, timeout_s=0.001) as pool:
        first = collect.collect_and_validate(ws, 2026, pool=pool, reference=ref)
    [held] = first.submissions
    assert held.verdict == "保留" and not held.accepted
    assert [i.rule for i in held.issues] == ["F-READ-INTERRUPTED"] and "ファイルの問題ではありません" in held.issues[0].message
    assert [e.status for e in first.new] == ["received"]  # no verdict recorded: read again next run
    # its ministry, told by the file name (the timed-out worker read nothing), is noted: 保留, not 未提出
    assert [(e.ministry, e.version) for e in first.new] == [("デジ", None)]
    with ws.open_ledger() as ledger:
        assert ministry_table(ws, 2026, ledger.entries(2026))["デジ"] == HELD
    assert first.feedback == {}
    assert not list((ws.output(2026) / "feedback").glob("*.xlsx"))  # nothing goes to the ministry
    line = collect.verdict_line(held, ws.config.ministry_by_abbr)
    assert line.startswith("保留") and "府省には送りません" in line
    with WorkerPool(workers=1) as pool:
        second = collect.collect_and_validate(ws, 2026, pool=pool, reference=ref)
    [judged] = second.submissions
    assert judged.accepted and judged.ministry == "デジ"
    assert [(e.status, e.ministry, e.version) for e in second.new] == [("accepted", "デジ", 1)]
    assert list(collect.newest_accepted(ws, 2026)) == ["デジ"]


class FailingPool:
    """A pool whose workers always die or run out of memory: what a machine fault looks like."""

    def __init__(self, outcome: Outcome):
        self.outcome, self.calls = outcome, 0

    def map(self, fn, jobs):
        self.calls += 1
        return [self.outcome for _ in jobs]


@pytest.mark.parametrize(
    "outcome",
    [Outcome("crashed", detail="exit code -9"), Outcome("error", detail="MemoryError"), Outcome("timeout", detail="60 s")],
    ids=["worker-died", "memory-limit", "timeout"],
)
def test_every_machine_fault_is_retried_then_held_unless_the_bytes_are_bad(inbox, outcome, tmp_path):
    ws, ref = inbox
    valid = ws.submissions(2026) / "デジタル庁_回答.xlsx"
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(valid.read_bytes()[:2000])
    pool = FailingPool(outcome)
    held, bad = read_and_validate([(valid, valid.name, "a" * 64), (truncated, truncated.name, "b" * 64)], ref, pool)
    assert pool.calls == READ_ATTEMPTS  # the first read and the retries, each in a fresh worker
    assert held.verdict == "保留" and [i.rule for i in held.issues] == ["F-READ-INTERRUPTED"]
    assert bad.verdict == "差戻し" and [i.rule for i in bad.issues] == ["F-CORRUPT"]  # its own bytes' verdict


@pytest.mark.e2e
def test_prefect_never_caches_a_held_validation(inbox, prefect_server, monkeypatch):
    """The validate task raises for a held file (Prefect retries it and keeps no result); the
    same bytes, rules and reference then validate for real, not from a cached 保留."""
    from prefect import flow

    from tasks.validate import Held, Shared, validate_file

    ws, ref = inbox
    [item], _ = collect.receive(ws, 2026)
    fingerprint = ref.fingerprint()

    @flow
    def validate_one() -> object:
        try:
            return validate_file(item, Shared(ref), fingerprint)
        except Held as held:
            return held.submission

    @contextlib.contextmanager
    def tight():  # a loaded machine: every read of the worker lent to the task times out
        with WorkerPool(workers=1, timeout_s=0.001) as pool:
            yield pool

    monkeypatch.setattr(collect, "lent_worker", tight)
    assert validate_one().verdict == "保留"
    monkeypatch.undo()
    assert validate_one().verdict == "受理"


@pytest.mark.parametrize("stage", ["_compare_with_template", "_line_issue"])
def test_an_unexpected_error_in_one_file_holds_that_file_only(inbox, monkeypatch, stage):
    """Per-file isolation: a bug that raises while one file is checked — in its own stages, or in
    the batch's line checks — makes that file 保留 (F-CHECK-FAILED, the error named for the
    secretariat); the other files of the batch are judged as usual."""
    from annex.intake.reader import read_workbook
    from annex.validation import validate

    ws, ref = inbox
    d = distributed()
    bad = read_workbook(ws.submissions(2026) / "デジタル庁_回答.xlsx")
    good = read_workbook(d.path("外"))
    real = getattr(validate, stage)

    def broken(*args, **kwargs):
        subs = [a for a in args if isinstance(a, validate.Submission)] + [
            a.submission for a in args if isinstance(a, validate._Pending)
        ]
        if any(s.ministry == "デジ" for s in subs):
            raise KeyError("a bug")
        return real(*args, **kwargs)

    monkeypatch.setattr(validate, stage, broken)
    if stage == "_line_issue":  # make the デジ file reach the line checks with an issue to word
        monkeypatch.setattr(validate, "validate_lines", lambda frame: [(i, "L-TEXT-EMPTY", "text") for i in range(frame.height)])
    held, judged = validate.validate_batch([(bad, "a" * 64), (good, "b" * 64)], ref)
    assert held.verdict == "保留" and [i.rule for i in held.issues] == ["F-CHECK-FAILED"]
    assert "KeyError" in held.issues[0].message and held.issues[0].location.file == bad.file
    assert not judged.held and judged.ministry == "外"


def test_a_null_in_the_lines_frame_is_a_bug_of_validate_not_a_ministrys_mistake():
    """validate fills every cell of its frame ("" when empty): the schema lets pandera skip its
    per-column null checks because validate_lines refuses a null first, naming the column."""
    import polars as pl

    from annex.validation.schemas import SubmissionLines, validate_lines

    schema = {name: column.dtype.type for name, column in SubmissionLines.to_schema().columns.items()}
    filled = {name: ["" if dtype == pl.String else False if dtype == pl.Boolean else 0] for name, dtype in schema.items()}
    filled.update(
        field=["実施状況・現状分析"], action=["変更なし"], text=["【文】本文"], tags=["文"], id_known=[True], row_known=[True]
    )
    assert all(code != "not_nullable" for _, code, _ in validate_lines(pl.DataFrame(filled, schema=schema)))
    with pytest.raises(ValueError, match="relisted_of"):
        validate_lines(pl.DataFrame({**filled, "relisted_of": [None]}, schema=schema))
