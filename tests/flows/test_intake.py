"""intake (every 15 minutes in the collection window): only new files are validated, each ministry
gets its feedback by e-mail once; outside the window it does nothing. Deployments: schedules in JST."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from annex.model.config import bundled_path
from annex.workspace.layout import Workspace

IN_WINDOW = "2026-05-20T10:00+09:00"
SAMPLES = Path(__file__).resolve().parents[2] / "submissions" / "2026"


def _workspace(root: Path, smtp_port: int) -> Workspace:
    (root / "config").mkdir(parents=True)
    text = (
        bundled_path("annex.yaml")
        .read_text(encoding="utf-8")
        .replace("port: 8025", f"port: {smtp_port}")
        .replace("# host: 127.0.0.1", "host: 127.0.0.1")
    )
    (root / "config" / "annex.yaml").write_text(text, encoding="utf-8")
    (root / "submissions" / "2026").mkdir(parents=True)
    return Workspace.at(root)


def _drop(ws: Workspace, sample: str) -> None:
    shutil.copyfile(SAMPLES / sample, ws.submissions(2026) / sample)


@pytest.mark.e2e
def test_intake_validates_only_new_files_and_mails_each_once(prefect_server, smtp, tmp_path):
    from flows.intake import intake

    ws = _workspace(tmp_path / "ws", smtp.port)
    _drop(ws, "外務省_別添記入シート.xlsx")
    first = intake(str(ws.root), 2026, IN_WINDOW)
    assert first["new"] == 1 and list(first["verdicts"].values()) == ["受理"]
    assert first["feedback_mail"] == {"feedback": {"sent": 1}}  # as in run.json
    assert [rcpts for rcpts, _ in smtp.messages] == [["annex-contact@mofa.example"]]
    assert len(list((ws.output(2026) / "feedback").glob("*.xlsx"))) == 1

    _drop(ws, "国交省 別添回答 0527.xlsx")  # a faulty sample: 差戻し
    second = intake(str(ws.root), 2026, IN_WINDOW)
    assert second["new"] == 1 and list(second["verdicts"].values()) == ["差戻し"]
    assert [rcpts for rcpts, _ in smtp.messages][1:] == [["annex-contact@mlit.example"]]
    assert "差戻し" in smtp.messages[1][1]["Subject"]

    third = intake(str(ws.root), 2026, IN_WINDOW)
    assert third["new"] == 0 and len(smtp.messages) == 2

    # every run refreshed status.html, and the Prefect UI links to it
    page = (ws.output(2026) / "status.html").read_text(encoding="utf-8")
    assert 'data-ministry="外"' in page and 'data-ministry="国"' in page and "差戻し" in page
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["status-2026"])))
    # the key is the year's, shared by every workspace on this server: this one's page is among them
    assert any((ws.output(2026) / "status.html").resolve().as_uri() in a.data for a in artifacts)


@pytest.mark.e2e
def test_intake_does_nothing_outside_the_collection_window(prefect_server, smtp, tmp_path):
    from flows.intake import intake

    ws = _workspace(tmp_path / "ws", smtp.port)
    _drop(ws, "外務省_別添記入シート.xlsx")
    result = intake(str(ws.root), 2026, "2026-07-01T10:00+09:00")
    assert result["skipped"] == "outside-window" and result["new"] == 0
    assert smtp.messages == [] and not ws.archive.exists()


def test_deployments_are_scheduled_in_tokyo(tmp_path):
    from flows.deploy import deployments

    by_name = {d.name: d for d in deployments(Workspace.at(tmp_path))}
    assert set(by_name) == {"annual", "distribute", "intake", "reminders"}
    assert [(s.schedule.cron, s.schedule.timezone) for s in by_name["intake"].schedules] == [("*/15 * * * *", "Asia/Tokyo")]
    assert [(s.schedule.cron, s.schedule.timezone) for s in by_name["reminders"].schedules] == [("0 9 * * 1-5", "Asia/Tokyo")]
    assert not by_name["annual"].schedules and not by_name["distribute"].schedules
    for name, deployment in by_name.items():
        # the production annual run stops before publishing for the secretariat's approval
        assert deployment.parameters == {"workspace": str(tmp_path.resolve()), **({"review": True} if name == "annual" else {})}
        assert deployment.concurrency_limit == 1


@pytest.mark.e2e
def test_a_returned_resubmission_says_which_accepted_version_stays_in_use(prefect_server, smtp, tmp_path):
    import openpyxl

    from annex.model.contract import SHEET_ENTRY
    from flows.intake import intake

    ws = _workspace(tmp_path / "ws", smtp.port)
    _drop(ws, "外務省_別添記入シート.xlsx")
    intake(str(ws.root), 2026, IN_WINDOW)
    wb = openpyxl.load_workbook(SAMPLES / "外務省_別添記入シート.xlsx")
    sheet = wb[SHEET_ENTRY]
    row = next(r for r in range(4, sheet.max_row + 1) if sheet[f"A{r}"].value and sheet[f"L{r}"].protection.locked is False)
    sheet[f"L{row}"] = "直しました"  # not one of 変更なし / 修正 / 新規 / 削除
    wb.save(ws.submissions(2026) / "外務省_再提出.xlsx")
    second = intake(str(ws.root), 2026, IN_WINDOW)
    assert list(second["verdicts"].values()) == ["差戻し"]
    body = smtp.messages[-1][1].get_body(("plain",)).get_content()
    assert "前回受理した「外務省_別添記入シート.xlsx」の内容を取りまとめに使います" in body
    first_body = smtp.messages[0][1].get_body(("plain",)).get_content()
    assert "前回受理した" not in first_body
