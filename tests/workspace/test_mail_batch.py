"""The run's e-mails go out as one batch (annex.workspace.notify.send_batch): one outcome per
message, a message that fails on our side does not stop the others, and a mail server that goes
away mid-batch leaves the rest for the next run after one probe."""

from __future__ import annotations

from annex.workspace import notify
from annex.workspace.layout import Workspace


def test_a_message_that_raises_is_failed_and_the_others_are_sent(tmp_path, caplog):
    ws = Workspace.at(tmp_path)
    sent: list[int] = []

    def send(n: int):
        def go():
            if n == 1:
                raise KeyError("a bug of ours")
            sent.append(n)
            return "sent" if n != 2 else None  # None: sent before (the outbox said so)

        return go

    batch = notify.send_batch(ws, [send(n) for n in range(4)])
    assert batch.outcomes == ["sent", "failed", "already", "sent"] and batch.stopped is None
    assert sent == [0, 2, 3]
    assert "KeyError" in caplog.text  # logged, not swallowed


def test_a_server_gone_mid_batch_leaves_the_rest_unreachable_after_one_probe(tmp_path, monkeypatch):
    ws = Workspace.at(tmp_path)
    probes: list[object] = []

    def gone(settings):
        probes.append(settings)
        return "メールサーバー smtp.example:25 に接続できません"

    monkeypatch.setattr(notify, "smtp_unreachable", gone)
    tried: list[int] = []

    def send(n: int, outcome: str):
        return lambda: tried.append(n) or outcome

    batch = notify.send_batch(ws, [send(0, "sent"), send(1, "deferred"), send(2, "sent"), send(3, "sent")])
    assert batch.outcomes == ["sent", "deferred", "unreachable", "unreachable"]
    assert batch.stopped == "メールサーバー smtp.example:25 に接続できません"
    assert tried == [0, 1] and len(probes) == 1


def test_a_deferred_message_while_the_server_still_answers_goes_on(tmp_path, monkeypatch):
    ws = Workspace.at(tmp_path)
    monkeypatch.setattr(notify, "smtp_unreachable", lambda settings: None)
    batch = notify.send_batch(ws, [lambda: "deferred", lambda: "sent"])
    assert batch.outcomes == ["deferred", "sent"] and batch.stopped is None
