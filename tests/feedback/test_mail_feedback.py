"""Feedback e-mail through a real local SMTP server (aiosmtpd): one message per ministry, to its
contacts only, with its own feedback only — checked for every ministry with canary markers."""

from __future__ import annotations

import shutil

import openpyxl
from corpus_distribution import distributed

from annex.intake.ledger import Ledger
from annex.io.workers import WorkerPool
from annex.model.config import Smtp
from annex.notify.mail import SmtpMailer
from annex.notify.outbox import Outbox
from annex.workspace.collect import collect_and_validate
from annex.workspace.layout import Workspace
from annex.workspace.master import load_reference
from annex.workspace.notify import send_feedback_once


def _canary(ministry_slug: str) -> str:
    return f"CANARY-{ministry_slug}-<b>"


def test_each_ministry_gets_only_its_own_feedback(smtp, tmp_path):
    port, sink = smtp.port, smtp
    d = distributed()
    ws = Workspace.at(tmp_path / "ws")
    inbox = ws.submissions(2026)
    inbox.mkdir(parents=True)
    config = d.workspace.config
    chosen = [t for t in d.result.templates if config.ministry_by_abbr[t.ministry].contacts]
    for t in chosen:  # every ministry: a new line with its own canary, half-width kana to make an issue
        path = inbox / f"{t.slug}.xlsx"
        shutil.copyfile(t.path, path)
        wb = openpyxl.load_workbook(path)
        sheet = wb["記入シート"]
        r = next(r for r in range(4, sheet.max_row + 1) if not sheet[f"A{r}"].value and sheet[f"B{r}"].value)
        for col, v in (("F", "今後の取組方針"), ("H", f"{_canary(t.slug)} ﾃｽﾄ"), ("I", t.ministry), ("L", "新規")):
            sheet[f"{col}{r}"] = v
        wb.save(path)
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    with WorkerPool(workers=2) as pool:
        result = collect_and_validate(ws, 2026, ledger=ledger, pool=pool, reference=load_reference(d.workspace, 2026))
    ledger.close()
    mailer = SmtpMailer(Smtp(host="127.0.0.1", port=port, sender="annex-secretariat@csti.example"))
    with Outbox.open(f"sqlite:///{tmp_path / 'l.sqlite'}") as outbox:
        outcomes = [
            send_feedback_once(d.workspace, 2026, s, result.feedback[s.sha256], outbox, mailer) for s in result.submissions
        ]
        again = [send_feedback_once(d.workspace, 2026, s, result.feedback[s.sha256], outbox, mailer) for s in result.submissions]
    assert outcomes == ["sent"] * len(chosen) and again == ["already"] * len(chosen)  # at most once, through the outbox
    assert len(sink.messages) == len(chosen)
    by_slug = {config.ministry_by_abbr[s.ministry].slug: s for s in result.submissions}
    for rcpts, msg in sink.messages:
        abbr = msg["Subject"].rsplit("（", 1)[1].rstrip("）")
        ministry = config.ministry_by_abbr[abbr]
        assert sorted(rcpts) == sorted(ministry.contacts)
        assert "差戻し" in msg["Subject"]
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        [attachment] = list(msg.iter_attachments())
        data = attachment.get_content()
        sub = next(s for s in result.submissions if s.ministry == abbr)
        assert attachment.get_filename() == f"{ministry.names[0]}_2026検証結果_{sub.sha256[:8]}.xlsx"  # never a slug
        for other in by_slug:
            marker = _canary(other)
            if other != ministry.slug:
                assert marker not in text and f"CANARY-{other}-" not in html
        import io

        book = openpyxl.load_workbook(io.BytesIO(data))
        cells = " ".join(str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value)
        assert _canary(ministry.slug) in cells
        assert not [o for o in by_slug if o != ministry.slug and _canary(o) in cells]
        assert "ﾃｽﾄ" in text  # the issue quotes the ministry's own characters


def test_html_template_escapes_ministry_text():
    d = distributed()
    env = d.workspace.email_templates()
    assert env.get_template("feedback.html.j2").environment.autoescape is not False
    html = env.get_template("feedback.html.j2").render(
        title="t",
        year=2026,
        ministry="文",
        ministry_name="文",
        verdict="差戻し",
        verdict_note="n",
        file="<img src=x onerror=alert(1)>",
        errors=1,
        warnings=0,
        issues=[],
        attachment=None,
        deadline="d",
        secretariat=d.workspace.config.secretariat,
        in_use="<b>前回.xlsx</b>",
    )
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert "<b>前回" not in html and "&lt;b&gt;前回.xlsx&lt;/b&gt;" in html
