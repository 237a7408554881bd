"""No mail server configured: every message is an .eml file under output/<Y>/mail/, written once
through the outbox, with its attachment; read back as a mail client would (issue 12, points 12–14)."""

from __future__ import annotations

import datetime as dt
import email
import shutil
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage

import openpyxl
import pytest
from corpus_distribution import distributed

from annex.model.config import JST
from annex.notify.mail import EmlMailer
from annex.notify.outbox import Outbox, deliver
from annex.workspace.layout import Workspace

RETURNED_SHA = "ab" * 32


def read_eml(path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


def test_an_eml_file_is_written_once_through_the_outbox(tmp_path):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "s@csti.example", "a@mext.example", "【提出のお願い】別添"
    message["Message-ID"] = "<annex-2026-mext-before-3@csti.example>"
    message.set_content("本文です。")
    message.add_attachment(
        b"PK-data", maintype="application", subtype="octet-stream", filename="文部科学省_2026別添記入シート.xlsx"
    )
    mailer = EmlMailer(tmp_path / "mail")
    with Outbox.open(f"sqlite:///{tmp_path / 'o.sqlite'}") as outbox:
        assert deliver(outbox, mailer, 2026, "文", "before-3", message) == "sent"
        written = tmp_path / "mail" / "2026-mext-before-3.eml"
        stamp = written.stat().st_mtime_ns
        assert deliver(outbox, mailer, 2026, "文", "before-3", message) == "already"  # once, as over SMTP
        assert outbox.state_of(2026, "文", "before-3") == "sent"
    assert [p.name for p in (tmp_path / "mail").iterdir()] == ["2026-mext-before-3.eml"]
    assert written.stat().st_mtime_ns == stamp
    assert b"\r\n" in written.read_bytes()  # RFC 5322 line ends
    back = read_eml(written)
    assert back["Subject"] == "【提出のお願い】別添" and back.get_body(("plain",)).get_content().strip() == "本文です。"
    [attachment] = back.iter_attachments()
    assert attachment.get_filename() == "文部科学省_2026別添記入シート.xlsx" and attachment.get_content() == b"PK-data"


@pytest.fixture
def remind_workspace(tmp_path):
    """The 2026 templates distributed, no mail server; 総 returned (its file received in a
    sub-folder of the inbox, its feedback workbook written), nobody else has submitted."""
    source = distributed().workspace
    ws = Workspace.at(tmp_path / "ws")
    # the distributed templates only: other tests write feedback into the shared workspace
    shutil.copytree(source.root / "output", ws.root / "output", ignore=shutil.ignore_patterns("feedback", "mail"))
    feedback = ws.output(2026) / "feedback"
    feedback.mkdir()
    book = openpyxl.Workbook()
    book.active.title = "検証結果"
    book.active["A1"] = "総務省の検証結果"
    book.save(feedback / f"mic-{RETURNED_SHA[:12]}.xlsx")
    with ws.open_ledger() as ledger:
        entry, _ = ledger.record_received(
            year=2026,
            path="受信メール/総務省/soumu.xlsx",
            sha256=RETURNED_SHA,
            size=1,
            archive_path="x/1",
            received_at=dt.datetime(2026, 5, 27, 10, 0, tzinfo=JST),
        )
        ledger.record_validation(entry.id, ministry="総", template_version="1", status="rejected", errors=2, warnings=0)
    return ws


@pytest.mark.e2e
def test_annex_remind_after_the_deadline_saves_overdue_reminders_with_their_attachments(prefect_server, remind_workspace, capsys):
    from flows.cli import main

    ws = remind_workspace
    args = ["remind", "--workspace", str(ws.root), "--at", "2026-05-30T00:00+09:00"]
    main(args)
    out = capsys.readouterr().out
    folder = ws.output(2026) / "mail"
    assert "締切後（5月29日（金））（after-2026-05-29）" in out
    assert f"メールは {folder} に .eml ファイルとして保存します" in out and ".eml ファイルに保存しました" in out
    files = {p.name: p for p in folder.glob("*.eml")}
    assert "2026-mext-after-2026-05-29.eml" in files and "2026-mic-after-2026-05-29.eml" in files
    secretariat = ws.config.secretariat

    missing = read_eml(files["2026-mext-after-2026-05-29.eml"])
    assert missing["Cc"] == secretariat.email and "締切を過ぎています" in missing["Subject"]
    raw_from = email.message_from_bytes(files["2026-mext-after-2026-05-29.eml"].read_bytes())["From"]
    assert str(make_header(decode_header(raw_from))) == f"{secretariat.display_name} <{ws.config.settings.smtp.sender}>"
    text = missing.get_body(("plain",)).get_content()
    assert "締切を過ぎています（提出締切 2026年5月29日（金） 17:00、1日経過）" in text and "あと" not in text
    assert f"このメールは{secretariat.display_name}から" in text and "annex から" not in text
    [template] = missing.iter_attachments()
    assert template.get_filename() == "文部科学省_2026別添記入シート.xlsx"
    assert template.get_content() == (ws.output(2026) / "templates" / "文部科学省_2026別添記入シート.xlsx").read_bytes()

    returned = read_eml(files["2026-mic-after-2026-05-29.eml"])
    text = returned.get_body(("plain",)).get_content()
    assert "【再提出のお願い】" in returned["Subject"] and "soumu.xlsx、2026年5月27日（水） 10:00 受付" in text
    assert "受信メール" not in text and "受信メール" not in returned.get_body(("html",)).get_content()  # no inbox folders
    [marked] = returned.iter_attachments()
    assert marked.get_filename() == f"総務省_2026検証結果_{RETURNED_SHA[:8]}.xlsx"
    import io

    assert openpyxl.load_workbook(io.BytesIO(marked.get_content()))["検証結果"]["A1"].value == "総務省の検証結果"

    stamps = {name: p.stat().st_mtime_ns for name, p in files.items()}
    main(args)  # the same slot again: nothing is written twice
    again = capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("*.eml")} == stamps
    assert "この回は送信済みのため送りません" in again
