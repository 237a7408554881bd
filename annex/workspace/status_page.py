"""output/<Y>/status.html: where each ministry stands, on one self-contained page for the secretariat.

The same table as `annex status` (status.StatusReport), plus two charts drawn here as inline SVG:
files received over time against the deadline, and the open issues by rule (from each ministry's
newest feedback workbook). Inline CSS, no script, no external URL: the page opens from a shared
folder, an e-mail attachment or the Prefect UI's link, on a machine without internet access.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from html import escape
from pathlib import Path

import jinja2
from markupsafe import Markup

from annex.feedback.workbook import read_issue_codes
from annex.io.files import write_atomically
from annex.model.labels import JST, format_instant
from annex.model.rules import RULES
from annex.notify.reminders import HELD
from annex.workspace.collect import feedback_file_name, feedback_folder
from annex.workspace.layout import Workspace
from annex.workspace.status import VERDICTS, StatusReport, time_to_deadline

PAGE_TEMPLATE = "status.html.j2"
UNKNOWN_RULE = "（内訳不明）"  # issues the ledger counted whose feedback workbook is not there to tell their rules
VERDICT_CLASS = {"受理": "ok", "受理（警告あり）": "warn", "差戻し": "ng", HELD: "hold", "未提出": "none"}
COLOURS = {
    "ok": "#1a7f37",
    "warn": "#b26a00",
    "ng": "#c62828",
    "none": "#6e7781",
    "hold": "#0b5cad",
    "line": "#0b5cad",
    "grid": "#d0d7de",
}


@dataclass(frozen=True)
class Arrival:
    at: dt.datetime
    ministry: str | None
    verdict: str  # 受理 / 受理（警告あり） / 差戻し / 検証待ち


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite drops the zone of UTC instants


def _label(moment: dt.datetime) -> str:
    local = moment.astimezone(JST)
    return f"{local.month}/{local.day}"


def arrivals_chart(arrivals: list[Arrival], deadline: dt.datetime, at: dt.datetime, expected: int = 0) -> str:
    """Files received so far (a step line, each file a dot coloured by its verdict) and ministries
    accepted so far (a green step line) against time, with the deadline and the report's time as
    vertical lines and the ministries expected (``expected``) as the line to reach."""
    width, height, left, right, top, bottom = 760, 300, 48, 20, 44, 44
    times = [a.at for a in arrivals] + [deadline, at]
    start = min(times) - dt.timedelta(days=1)
    end = max(times) + dt.timedelta(days=1)
    span = (end - start).total_seconds()
    total = max(len(arrivals), expected, 1)

    def x(moment: dt.datetime) -> float:
        return left + (width - left - right) * (moment - start).total_seconds() / span

    def y(count: float) -> float:
        return height - bottom - (height - top - bottom) * count / total

    out = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="提出の推移">']
    step = max(1, round(total / 5))
    for count in range(0, total + 1, step):  # horizontal grid with the counts
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(count):.1f}" y2="{y(count):.1f}" stroke="{COLOURS["grid"]}"/>')
        out.append(f'<text x="{left - 6}" y="{y(count) + 4:.1f}" text-anchor="end" class="axis">{count}</text>')
    days = max(1, round((end - start).days / 8))
    day = start.astimezone(JST).replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    while day < end:  # date ticks
        out.append(f'<text x="{x(day):.1f}" y="{height - bottom + 18}" text-anchor="middle" class="axis">{_label(day)}</text>')
        day += dt.timedelta(days=days)
    ordered = sorted(arrivals, key=lambda a: a.at)
    first_accepted: dict[str, dt.datetime] = {}
    for arrival in ordered:
        if arrival.ministry and arrival.verdict.startswith("受理"):
            first_accepted.setdefault(arrival.ministry, arrival.at)
    if expected:
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(expected):.1f}" y2="{y(expected):.1f}" stroke="{COLOURS["ok"]}" '
            'stroke-dasharray="2 3"/>'
        )
        out.append(
            f'<text x="{left + 4}" y="{y(expected) - 4:.1f}" fill="{COLOURS["ok"]}" class="axis">提出対象 {expected} 府省庁</text>'
        )
    for moments, colour, name in (
        (sorted(first_accepted.values()), COLOURS["ok"], "accepted"),
        ([a.at for a in ordered], COLOURS["line"], "received"),
    ):
        points, count = [f"{x(start):.1f},{y(0):.1f}"], 0
        for moment in moments:
            points.append(f"{x(moment):.1f},{y(count):.1f}")
            count += 1
            points.append(f"{x(moment):.1f},{y(count):.1f}")
        points.append(f"{x(min(at, end)):.1f},{y(count):.1f}")
        out.append(f'<polyline class="{name}" fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>')
    for n, arrival in enumerate(ordered, start=1):
        colour = COLOURS[VERDICT_CLASS.get(arrival.verdict, "none")]
        tip = escape(f"{format_instant(arrival.at)} {arrival.ministry or '（検証待ち）'} {arrival.verdict}")
        out.append(f'<circle cx="{x(arrival.at):.1f}" cy="{y(n):.1f}" r="4" fill="{colour}"><title>{tip}</title></circle>')
    marks = ((deadline, f"締切 {format_instant(deadline)}", COLOURS["ng"], top - 24), (at, "現在", COLOURS["none"], top - 8))
    for moment, label, colour, baseline in marks:  # two label heights: the lines may stand close together
        out.append(
            f'<line x1="{x(moment):.1f}" x2="{x(moment):.1f}" y1="{top - 36}" y2="{height - bottom}" stroke="{colour}" '
            'stroke-width="2" stroke-dasharray="6 4"/>'
        )
        near_end = x(moment) > width * 0.6  # the label reads leftwards there, inside the chart
        anchor, shift = ("end", -4) if near_end else ("start", 4)
        out.append(
            f'<text x="{x(moment) + shift:.1f}" y="{baseline}" fill="{colour}" text-anchor="{anchor}" class="mark">{escape(label)}</text>'
        )
    out.append(
        f'<text x="{left}" y="{height - 6}" class="axis"><tspan fill="{COLOURS["line"]}">━ 受信したファイルの累計（点の色: 判定）</tspan>'
        f'　<tspan fill="{COLOURS["ok"]}">━ 受理された府省庁の累計</tspan></text>'
    )
    out.append("</svg>")
    return "".join(out)


def issues_chart(codes: Counter) -> str:
    """Open issues by rule, most frequent first: one bar per rule code, red for errors."""
    if not codes:
        return '<p class="empty">未解決の指摘はありません。</p>'
    rows = sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))
    width, bar, gap, label_width, right = 760, 22, 8, 330, 50
    height = len(rows) * (bar + gap) + gap
    most = rows[0][1]
    out = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="ルール別の未解決の指摘">'
    ]
    for i, (code, count) in enumerate(rows):
        rule = RULES.get(code)
        title = f"{code} {rule.title}" if rule else code
        colour = COLOURS["none"] if rule is None else COLOURS["ng"] if rule.severity == "error" else COLOURS["warn"]
        top = gap + i * (bar + gap)
        length = (width - label_width - right) * count / most
        out.append(
            f'<text x="{label_width - 8}" y="{top + bar * 0.7:.1f}" text-anchor="end" class="bar">{escape(title[:28])}</text>'
        )
        out.append(f'<rect x="{label_width}" y="{top}" width="{length:.1f}" height="{bar}" fill="{colour}" rx="3"/>')
        out.append(f'<text x="{label_width + length + 6:.1f}" y="{top + bar * 0.7:.1f}" class="bar">{count}件</text>')
    out.append("</svg>")
    return "".join(out)


def status_page(workspace: Workspace, report: StatusReport) -> str:
    """The page's HTML: counts, the two charts, one line per ministry."""
    with workspace.open_ledger() as ledger:
        entries = ledger.entries(report.year)
    verdict_of = {"accepted": "受理", "accepted_with_warnings": "受理（警告あり）", "rejected": "差戻し"}
    arrivals = [Arrival(_aware(e.received_at), e.ministry, verdict_of.get(e.status, "検証待ち")) for e in entries]
    slugs = {m.abbr: m.slug for m in workspace.config.ministries}
    newest = {e.ministry: e for e in entries if e.ministry and e.status != "received"}  # in order of receipt
    codes: Counter = Counter()
    folder = feedback_folder(workspace, report.year)
    for ministry, entry in newest.items():
        found = read_issue_codes(folder / feedback_file_name(slugs.get(ministry, "unidentified"), entry.sha256))
        codes.update(found)
        if len(found) < entry.errors + entry.warnings:  # no feedback workbook (annex merge --no-feedback): counted all the same
            codes[UNKNOWN_RULE] += entry.errors + entry.warnings - len(found)
    path = workspace.template(PAGE_TEMPLATE)  # a workspace's own templates/status.html.j2 wins
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(path.parent)), autoescape=True, undefined=jinja2.StrictUndefined)
    return env.get_template(path.name).render(
        title=f"{workspace.config.settings.title} 提出状況（{report.year}年度）",
        at=format_instant(report.at),
        deadline=format_instant(report.deadline),
        to_deadline=time_to_deadline(report.deadline, report.at),
        counts=[(v, report.count(v), VERDICT_CLASS[v]) for v in VERDICTS],
        total=len(report.rows),
        rows=[(r, VERDICT_CLASS.get(r.verdict, "none")) for r in report.rows],
        pending=report.pending,
        arrivals_svg=Markup(arrivals_chart(arrivals, report.deadline, report.at, len(report.rows))),
        issues_svg=Markup(issues_chart(codes)),
        open_issues=sum(codes.values()),
    )


def status_page_path(workspace: Workspace, year: int) -> Path:
    return workspace.output(year) / "status.html"


def write_status_page(workspace: Workspace, report: StatusReport) -> Path:
    html = status_page(workspace, report)
    return write_atomically(status_page_path(workspace, report.year), lambda p: p.write_text(html, encoding="utf-8"))
