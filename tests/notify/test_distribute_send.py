"""`annex distribute --send`: each ministry gets its own template by e-mail (提出依頼), once —
over a real SMTP server (aiosmtpd), and as .eml files when no server is configured."""

from __future__ import annotations

import email
import io
from email import policy

import openpyxl
import pytest

from annex.distribute.template import read_meta
from annex.model.config import bundled_path
from annex.workspace.layout import Workspace
from annex.workspace.master import import_into_workspace
from flows.cli import main


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
        raise SystemExit(0)
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def workspace(root, smtp_port: int | None = None) -> Workspace:
    ws = Workspace.at(root)
    if smtp_port is not None:
        (root / "config").mkdir(parents=True)
        text = bundled_path("annex.yaml").read_text(encoding="utf-8")
        text = text.replace("port: 8025", f"port: {smtp_port}").replace("# host: 127.0.0.1", "host: 127.0.0.1")
        (root / "config" / "annex.yaml").write_text(text, encoding="utf-8")
        ws = Workspace.at(root)
    import_into_workspace(ws, bundled_path("annex_2025.json"), 2025)
    return ws


def check_request(ws: Workspace, message, recipients) -> str:
    """The message is one ministry's 提出依頼 with that ministry's template — never another's."""
    config = ws.config
    [attachment] = message.iter_attachments()
    meta = read_meta(openpyxl.load_workbook(io.BytesIO(attachment.get_content())))
    ministry = config.ministry_by_abbr[meta["ministry"]]
    assert sorted(recipients) == sorted(ministry.contacts)
    assert attachment.get_filename() == f"{ministry.names[0]}_2026別添記入シート.xlsx"
    assert attachment.get_content() == (ws.output(2026) / "templates" / attachment.get_filename()).read_bytes()
    assert message["Subject"] == "【提出依頼】統合イノベーション戦略2026 別添 記入シート（締切 2026年5月29日（金） 17:00）"
    assert message["Reply-To"] == config.secretariat.email
    text = message.get_body(("plain",)).get_content()
    for expected in (  # what, by when, how to return it, whom to ask
        f"添付の記入シート（{attachment.get_filename()}）",
        "■ 提出締切\n  2026年5月29日（金） 17:00",
        "このメールへの返信で",
        f"■ お問い合わせ先\n  {config.secretariat.name}\n  {config.secretariat.email}",
    ):
        assert expected in text, expected
    assert text.startswith(f"{ministry.names[0]}\n") and "annex から" not in text
    return ministry.abbr


def test_distribute_send_mails_each_ministry_its_own_template_once(smtp, tmp_path, capsys):
    ws = workspace(tmp_path / "ws", smtp.port)
    code, out, err = run_cli(capsys, "distribute", "--send", "--workspace", str(ws.root))
    assert code == 0, err
    with_contacts = {
        m.abbr
        for m in ws.config.ministries
        if m.contacts and (ws.output(2026) / "templates" / f"{m.names[0]}_2026別添記入シート.xlsx").exists()
    } - {ws.config.secretariat.abbr}
    assert len(smtp.messages) == len(with_contacts) == 20
    assert {check_request(ws, m, rcpts) for rcpts, m in smtp.messages} == with_contacts
    assert "  - 文: 送信しました（宛先: annex-contact@mext.example）" in out
    assert "  - 内閣人事局: 宛先未登録のため送りません" in out and "事務局の記入シートは送りません" in out

    code, out, err = run_cli(capsys, "distribute", "--send", "--workspace", str(ws.root))
    assert code == 0 and len(smtp.messages) == 20  # once: the outbox remembers
    assert "  - 文: 送付済み（前回までに）のため送りません" in out


def test_distribute_send_without_a_mail_server_saves_eml_files_once(tmp_path, capsys):
    ws = workspace(tmp_path / "ws")
    code, out, err = run_cli(capsys, "distribute", "--send", "--workspace", str(ws.root))
    folder = ws.output(2026) / "mail"
    assert code == 0, err
    assert f"メールは {folder} に .eml ファイルとして保存しました" in out
    files = sorted(folder.glob("*.eml"))
    assert len(files) == 20 and (folder / "2026-npa-police-request.eml").exists()
    abbrs = set()
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        abbrs.add(check_request(ws, message, [a.strip() for a in message["To"].split(",")]))
    assert {"人", "警"} <= abbrs  # 人事院 and 国家公安委員会 each got their own
    stamps = [p.stat().st_mtime_ns for p in files]
    code, out, _ = run_cli(capsys, "distribute", "--send", "--workspace", str(ws.root))
    assert code == 0 and [p.stat().st_mtime_ns for p in sorted(folder.glob("*.eml"))] == stamps


def test_distribute_send_to_an_unreachable_server_is_one_japanese_line(tmp_path, capsys):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there
    ws = workspace(tmp_path / "ws", port)
    code, out, err = run_cli(capsys, "distribute", "--send", "--workspace", str(ws.root))
    assert code != 0 and err.startswith("エラー: 記入シートを送付できません: メールサーバー 127.0.0.1:") and err.count("\n") == 1
    assert "Traceback" not in err and "計 22 府省" in out  # the templates are written all the same
