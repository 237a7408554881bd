"""The line `annex run` prints per file: a return accepted with warnings (notation, say) is 受理
with its warnings counted, never 差戻し."""

from __future__ import annotations

from annex.model.issues import Issue, Location, Submission
from annex.workspace.collect import verdict_line

KNOWN = {"デジ": object()}


def _submission(*severities: str) -> Submission:
    issues = [Issue("N-WIDTH-DIGIT", s, Location("デジタル庁.xlsx", "記入シート", "F12"), "全角数字") for s in severities]
    return Submission("デジタル庁.xlsx", "a" * 64, "デジ", 2026, "2026.3", issues=issues)


def test_accepted_with_warnings_is_accepted_and_says_how_many():
    sub = _submission("warning", "warning")
    assert sub.verdict == "受理（警告あり）"
    assert verdict_line(sub, KNOWN) == "受理（デジ・警告 2 件）"


def test_accepted_and_returned_lines():
    assert verdict_line(_submission(), KNOWN) == "受理（デジ）"
    assert verdict_line(_submission("error", "warning"), KNOWN).startswith("差戻し（デジ: 「")
