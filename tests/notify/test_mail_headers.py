"""E-mail headers cannot be injected from config or data, HTML bodies escape what ministries
wrote, and what a person must check is said in the run's summary (issue 14)."""

from __future__ import annotations

import email
import email.policy
import re

import pytest

from annex.model.config import bundled_path
from annex.model.errors import ConfigError
from annex.notify.mail import MailError, compose_message, sender_of
from annex.workspace.layout import Workspace

pytestmark = pytest.mark.reliability

HOSTILE = "件名\r\nBcc: spy@evil.example\r\n\r\n<script>alert(1)</script>"


def _workspace(tmp_path, **replace: str) -> Workspace:
    (tmp_path / "config").mkdir(exist_ok=True)
    for name in ("annex.yaml", "ministries.yaml"):
        text = bundled_path(name).read_text(encoding="utf-8")
        for old, new in replace.items():
            text = text.replace(old, new)
        (tmp_path / "config" / name).write_text(text, encoding="utf-8")
    return Workspace.at(tmp_path)


def _wire(message) -> bytes:
    return message.as_bytes(policy=email.policy.SMTP)


def _headers(raw: bytes) -> list[str]:
    return [line.decode() for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")]


@pytest.mark.parametrize(
    "address",
    [
        "annex-contact@mext.example\r\nBcc: spy@evil.example",
        "annex-contact@mext.example, spy@evil.example",
        "文科 <a@mext.example>",
    ],
    ids=["crlf", "comma", "display-name"],
)
def test_a_contact_in_config_that_would_add_recipients_or_headers_is_refused_naming_file_and_key(tmp_path, address):
    quoted = '"' + address.replace("\r", "\\r").replace("\n", "\\n") + '"'
    ws = _workspace(tmp_path, **{"annex-contact@mext.example": quoted})
    with pytest.raises(ConfigError) as raised:
        ws.config.ministries  # noqa: B018 - reading the config is the act under test
    message = str(raised.value)
    assert "config/ministries.yaml" in message and "contacts" in message and "メールアドレスの形式ではありません" in message


def test_names_and_titles_from_config_never_break_a_header_line(tmp_path):
    (tmp_path / "config").mkdir()
    text = bundled_path("annex.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^title: .*$", 'title: "統合\\r\\nBcc: spy@evil.example\\r\\n別添"', text)
    text = re.sub(r"(?m)^  sender_name: .*$", '  sender_name: "内閣府\\r\\nBcc: spy@evil.example\\r\\n"', text)
    (tmp_path / "config" / "annex.yaml").write_text(text, encoding="utf-8")
    ws = Workspace.at(tmp_path)
    assert "Bcc: spy@evil.example" in ws.config.settings.title  # the hostile text did reach the config
    config = ws.config
    message = compose_message(
        ws.email_templates(),
        "conflict",
        {
            "title": config.settings.title,
            "year": 2026,
            "ministry_name": "m",
            "rows": [],
            "attachment": None,
            "secretariat": config.secretariat,
        },
        subject=f"【{config.settings.title}】{HOSTILE}",
        sender=sender_of(config),
        to=["annex-contact@mext.example"],
        attachment=(b"PK", "文部科学省\r\nBcc: spy@evil.example.xlsx"),
    )
    raw = _wire(message)
    headers = _headers(raw)
    assert not [h for h in headers if h.lower().startswith("bcc")]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["To"] == "annex-contact@mext.example"
    assert "\n" not in str(parsed["Subject"]) and "spy@evil.example" in str(parsed["Subject"])  # kept as text, one line
    assert "\n" not in str(parsed["From"])
    [attachment] = list(parsed.iter_attachments())
    assert "\n" not in attachment.get_filename() and "\r" not in attachment.get_filename()
    assert [addr for part in ("To", "Cc", "Bcc") for addr in (parsed.get_all(part) or [])] == ["annex-contact@mext.example"]


def test_an_address_that_reaches_compose_from_data_is_refused_in_japanese(tmp_path):
    ws = Workspace.at(tmp_path)
    with pytest.raises(MailError) as raised:
        compose_message(
            ws.email_templates(),
            "conflict",
            {
                "title": "t",
                "year": 2026,
                "ministry_name": "m",
                "rows": [],
                "attachment": None,
                "secretariat": ws.config.secretariat,
            },
            subject="s",
            sender="annex@csti.example",
            to=["a@mext.example\r\nRCPT TO:<spy@evil.example>"],
        )
    assert "メールアドレスの形式ではありません" in str(raised.value) and raised.value.permanent


def test_the_conflict_notice_html_escapes_both_ministries_texts(tmp_path):
    ws = Workspace.at(tmp_path)
    row = {
        "item_id": "3-①-01-S01",
        "row_id": "3-①-01",
        "owners": "文、経",
        "own": '<img src=x onerror="alert(1)">',
        "others": "<script>x</script>",
        "adopted": "文",
        "reason": "<b>r</b>",
    }
    message = compose_message(
        ws.email_templates(),
        "conflict",
        {
            "title": "t",
            "year": 2026,
            "ministry_name": "m",
            "rows": [row],
            "attachment": None,
            "secretariat": ws.config.secretariat,
        },
        subject="s",
        sender="annex@csti.example",
        to=["a@mext.example"],
    )
    html = message.get_body(("html",)).get_content()
    assert "<img" not in html and "<script>" not in html and "<b>r</b>" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_the_run_summary_counts_uncertain_mail_apart_and_says_how_to_resolve_it():
    from annex.workspace.run import mail_counts, summary_lines

    mail = mail_counts({"フィードバック sent": 2, "フィードバック uncertain": 1, "フィードバック deferred": 1})
    summary = {
        "year": 2026,
        "seconds": 1.0,
        "ministry_counts": {"accepted": 1, "returned": 0, "held": 0, "missing": 0},
        "ministries": {"accepted": ["文"], "returned": [], "held": [], "missing": []},
        "unattributed_files": [],
        "held_files": ["文科省.xlsx → 保留（文: 「読み込みの中断」）— 府省には送りません"],
        "bullets": {"master": 1, "added": 0, "modified": 0, "deleted": 0, "carried": 1, "not_updated": 0},
        "not_updated_by_ministry": {},
        "relisted": {"total": 0, "linked": 0, "near_proposed": 0, "synced": 0},
        "warnings": [],
        "issues_by_rule": {},
        "feedback_mail": mail,
        "mail_to_check": [
            {
                "ministry": "外",
                "slot": "feedback-0123",
                "message_id": "<annex-2026-feedback-0123@csti.example>",
                "recipients": "a@mofa.example",
                "reason": "送信中に実行が中断されました。",
            }
        ],
        "mail_not_sent": [
            {
                "ministry": "総",
                "slot": "feedback-4567",
                "reason": "メールサーバー 127.0.0.1:25 に送信できません（annex-contact@mic.example: 451 4.3.0 try again later）",
            }
        ],
        "pdf": {"produced": True, "pages": 1, "reason": None},
        "files": [],
    }
    assert mail == {"feedback": {"sent": 2, "uncertain": 1, "deferred": 1}}  # run.json: English keys
    lines = "\n".join(summary_lines(summary))
    assert "フィードバック 要確認（届いたか不明・自動では再送しません） 1件" in lines
    assert "フィードバック 一時的な送信失敗（次回の実行で送信） 1件" in lines
    assert "送信済み（前回までに）" not in lines
    assert "  保留（機械側の失敗・次回の実行で検証し直します） 1 件:\n    文科省.xlsx → 保留" in lines
    assert "府省の分からないファイル" not in lines  # a held file is not one of them
    assert "メールの要確認 1 件" in lines and "<annex-2026-feedback-0123@csti.example>" in lines
    assert "annex mail --sent <Message-ID>" in lines and "annex mail --resend <Message-ID>" in lines
    [not_sent] = [line for line in lines.splitlines() if "メールの未送信" in line]  # one line, naming who and why
    assert not_sent == "  メールの未送信 1 件（次回の実行で送ります）: 総（annex-contact@mic.example: 451 4.3.0 try again later）"


def test_a_message_a_person_marks_not_delivered_is_sent_by_the_next_run_once(tmp_path):
    from email.message import EmailMessage

    from annex.notify.mail import EmlMailer
    from annex.notify.outbox import Outbox, deliver
    from annex.workspace.notify import resolve_message

    ws = Workspace.at(tmp_path)
    message = EmailMessage()
    message["To"], message["Subject"], message["Message-ID"] = "a@mext.example", "s", "<annex-2026-mext-before-3@csti.example>"
    message.set_content("本文")
    mailer = EmlMailer(tmp_path / "mail")
    with Outbox.open(ws.ledger_url) as outbox:
        outbox.claim(2026, "文", "before-3", message_id=message["Message-ID"], recipients=["a@mext.example"], subject="s")
        outbox.recover(2026, ("before-",))  # the run died: uncertain
        assert deliver(outbox, mailer, 2026, "文", "before-3", message) == "uncertain"
    assert not (tmp_path / "mail").exists()
    resolve_message(ws, 2026, "annex-2026-mext-before-3@csti.example", delivered=False)
    with Outbox.open(ws.ledger_url) as outbox:
        assert deliver(outbox, mailer, 2026, "文", "before-3", message) == "sent"
        assert deliver(outbox, mailer, 2026, "文", "before-3", message) == "already"
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
    resolve_message(ws, 2026, "<annex-2026-mext-before-3@csti.example>", delivered=True)  # idempotent for a sent one
    with pytest.raises(Exception, match="送信済みです"):
        resolve_message(ws, 2026, "<annex-2026-mext-before-3@csti.example>", delivered=False)


def test_held_files_are_headed_apart_from_the_files_of_no_ministry():
    """A held file (the machine failed, not the file) often has a known ministry: it is listed
    under 保留, and only a file without a ministry under 府省の分からないファイル — in `annex run`'s
    summary and `annex merge`'s alike (both print files_to_check_lines)."""
    from annex.workspace.collect import files_to_check_lines

    held = ["文科省.xlsx → 保留（文: 「読み込みの中断」…）— 府省には送りません"]
    unknown = ["回答.pdf → 府省不明（どの府省の記入シートか分かりません）— 事務局で確認してください（メールは送りません）"]
    assert files_to_check_lines(held, unknown) == [
        "保留（機械側の失敗・次回の実行で検証し直します） 1 件:",
        f"  {held[0]}",
        "府省の分からないファイル 1 件（事務局で確認してください）:",
        f"  {unknown[0]}",
    ]
    assert files_to_check_lines(held, []) == ["保留（機械側の失敗・次回の実行で検証し直します） 1 件:", f"  {held[0]}"]
