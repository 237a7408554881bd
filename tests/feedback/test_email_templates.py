"""E-mail templates: a workspace's own templates/email/ wins file by file; HTML is autoescaped."""

from __future__ import annotations

from annex.notify.mail import compose_message
from annex.workspace.layout import Workspace


def test_a_workspace_template_overrides_only_its_own_file(tmp_path):
    ws = Workspace.at(tmp_path)
    (tmp_path / "templates" / "email").mkdir(parents=True)
    (tmp_path / "templates" / "email" / "feedback.txt.j2").write_text("独自の文面 {{ file }}\n", encoding="utf-8")
    env = ws.email_templates()
    assert env.get_template("feedback.txt.j2").render(file="a.xlsx") == "独自の文面 a.xlsx\n"
    assert "府省ごとに異なる内容" in env.get_template("conflict.txt.j2").render(
        title="t", year=2026, ministry_name="m", rows=[], attachment=None, secretariat=ws.config.secretariat
    )


def test_html_is_escaped_and_subjects_stay_on_one_line(tmp_path):
    ws = Workspace.at(tmp_path)
    message = compose_message(
        ws.email_templates(),
        "conflict",
        {
            "title": "t",
            "year": 2026,
            "ministry_name": "<b>m</b>",
            "rows": [],
            "attachment": None,
            "secretariat": ws.config.secretariat,
        },
        subject="件名\r\nBcc: x@evil.example",
        sender="annex@csti.example",
        to=["a@mext.example"],
    )
    assert "\n" not in message["Subject"] and message["Bcc"] is None
    html = message.get_body(("html",)).get_content()
    assert "&lt;b&gt;m&lt;/b&gt;" in html and "<b>m</b>" not in html
    assert "<b>m</b>" in message.get_body(("plain",)).get_content()
