"""Approval before publishing: what the secretariat approves is what is published, by hash.

A run that stops for review records in output/<Y>/approval.json the SHA-256 of every file it
would publish (the annex in Word and PDF, the master, the changes). Publishing copies exactly
those files into output/<Y>/published/ and checks the copies against the recorded hashes: a file
changed since the request refuses the whole publication. Sending back records the comment and
leaves published/ as it is. A replaced publication moves to output/<Y>/published-history/
(nothing is ever lost).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from annex.io.faults import checkpoint
from annex.io.files import SCRATCH_PREFIX, ensure_dir, owner_tag, write_atomically
from annex.model.errors import AnnexError
from annex.model.labels import JST, format_instant

# What a publication is, in the order the secretariat reads it; files a run did not make (no PDF
# when LibreOffice failed) are simply not part of it.
PUBLISHED_NAMES = (
    "annex.docx",
    "annex.pdf",
    "annex-redline.docx",
    "master.json",
    "master.xlsx",
    "changes.xlsx",
    "annex-context.json",
)
PUBLISHED_FOLDER = "published"
HISTORY_FOLDER = "published-history"
MANIFEST = "published.json"
RECORD = "approval.json"

WAITING, PUBLISHED, SENT_BACK, SUPERSEDED = "waiting", "published", "sent_back", "superseded"
# where a waiting run waits: paused on a Prefect server (resume it), or recorded in the workspace
# only (the embedded server died with `annex run --review`; `annex approve` publishes itself)
IN_PREFECT, IN_WORKSPACE = "prefect", "workspace"


def now() -> str:
    """Recorded in Japan time, as the secretariat reads it, whatever the machine's zone."""
    return dt.datetime.now(JST).isoformat(timespec="seconds")


def shown(instant: str | None) -> str:
    """An instant recorded by now(), as the secretariat's lines print it (2026年5月29日（金） 17:00)."""
    if not instant:
        return "（日時不明）"
    try:
        return format_instant(dt.datetime.fromisoformat(instant))
    except ValueError:
        return instant


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def candidate_files(ws, year: int) -> dict[str, str]:
    """The run's outputs that a publication holds: name → SHA-256."""
    out = ws.output(year)
    return {name: sha256_of(out / name) for name in PUBLISHED_NAMES if (out / name).is_file()}


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise AnnexError(f"{path} を読めません（{exc}）", hint="壊れている場合は annex run をやり直してください") from None


def _write_json(path: Path, value: dict) -> Path:
    text = json.dumps(value, ensure_ascii=False, indent=1) + "\n"
    return write_atomically(path, lambda p: p.write_text(text, encoding="utf-8"))


def record_path(ws, year: int) -> Path:
    return ws.output(year) / RECORD


def read_record(ws, year: int) -> dict | None:
    return _read_json(record_path(ws, year))


def current_publication(ws, year: int) -> dict | None:
    """The manifest of output/<Y>/published/, or None when nothing has been published yet."""
    return _read_json(ws.output(year) / PUBLISHED_FOLDER / MANIFEST)


def request_approval(ws, year: int, *, flow_run_id: str | None, waits_in: str, api_url: str | None = None) -> dict:
    """Hash the run's outputs and record that they wait for the secretariat (a waiting request
    of an earlier run is replaced: its files are gone)."""
    files = candidate_files(ws, year)
    if "annex.docx" not in files:
        raise AnnexError(
            f"output/{year}/annex.docx がないため、承認を依頼できません", hint="annex render の結果を確認してください"
        )
    record = {
        "year": year,
        "state": WAITING,
        "flow_run_id": flow_run_id,
        "waits_in": waits_in,
        "api_url": api_url,
        "requested_at": now(),
        "files": files,
    }
    _write_json(record_path(ws, year), record)
    return record


def supersede_waiting(ws, year: int, by_flow_run_id: str | None) -> dict | None:
    """A run that publishes directly replaces whatever was still waiting for approval."""
    record = read_record(ws, year)
    if record and record["state"] == WAITING:
        record |= {"state": SUPERSEDED, "decided_at": now(), "superseded_by": by_flow_run_id}
        _write_json(record_path(ws, year), record)
    return record


def waited_too_long(ws, year: int, record: dict) -> None:
    """The paused run gave up waiting: its request stays, and `annex approve` decides without it."""
    current = read_record(ws, year)
    if current and current["state"] == WAITING and current.get("flow_run_id") == record.get("flow_run_id"):
        _write_json(record_path(ws, year), current | {"waits_in": IN_WORKSPACE})


def waiting_record(ws, year: int) -> dict:
    """The request `annex approve` decides on; one clear error when there is none."""
    record = read_record(ws, year)
    how = f"承認待ちの実行は annex run --review --year {year}（本番では Prefect の annual）で作ります"
    if record is None:
        raise AnnexError(f"{year}年度に承認待ちの実行はありません", hint=how)
    if record["state"] != WAITING:
        said = {
            PUBLISHED: f"{shown(record.get('decided_at'))} に承認・公開済みです",
            SENT_BACK: f"{shown(record.get('decided_at'))} に差し戻し済みです（コメント: {record.get('comment', '')}）",
            SUPERSEDED: "後の実行（公開済み）で置き換えられました",
        }.get(record["state"], record["state"])
        raise AnnexError(f"{year}年度の承認依頼（{shown(record.get('requested_at'))}）は{said}", hint=how)
    return record


def changed_files(ws, year: int, files: dict[str, str]) -> list[str]:
    """Japanese lines for every recorded file that is missing or no longer has its recorded hash."""
    out = ws.output(year)
    lines = []
    for name, recorded in files.items():
        path = out / name
        if not path.is_file():
            lines.append(f"output/{year}/{name} がありません")
        elif (current := sha256_of(path)) != recorded:
            lines.append(f"output/{year}/{name} が変更されています（依頼時 {recorded[:12]}…、現在 {current[:12]}…）")
    return lines


def _refuse(year: int, lines: list[str]) -> AnnexError:
    return AnnexError(
        f"承認を依頼した後に出力が変わったため、公開しませんでした: {'; '.join(lines)}",
        hint=f"公開済みの版はそのままです。取りまとめをやり直し（annex run --review --year {year}、または Prefect の annual）、改めて承認してください",
    )


def publish(
    ws, year: int, files: dict[str, str], *, flow_run_id: str | None, approved_by: str, requested_at: str | None = None
) -> dict:
    """Copy exactly the recorded files into output/<Y>/published/, each copy checked by hash.

    Nothing is published unless every copy matches; the previous publication moves to
    published-history/ only once the new one is complete.
    """
    out = ws.output(year)
    ensure_dir(out)
    if changed := changed_files(ws, year, files):
        raise _refuse(year, changed)
    staging = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}publish-{owner_tag()}", dir=out))
    try:
        for name, recorded in files.items():
            shutil.copyfile(out / name, staging / name)
            if sha256_of(staging / name) != recorded:  # changed between the check and the copy
                raise _refuse(year, [f"output/{year}/{name} がコピー中に変更されました"])
        manifest = {
            "year": year,
            "published_at": now(),
            "approved_by": approved_by,
            "requested_at": requested_at,
            "flow_run_id": flow_run_id,
            "files": files,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        for path in staging.iterdir():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
        checkpoint("publish:copies-staged")  # every copy checked, published/ not yet replaced
        target = out / PUBLISHED_FOLDER
        previous = current_publication(ws, year) if target.exists() else None
        if previous:
            stamp = previous.get("published_at", now()).replace(":", "")
            history = ensure_dir(out / HISTORY_FOLDER) / stamp
            os.replace(target, history if not history.exists() else history.with_name(f"{stamp}-{os.getpid()}"))
        elif target.exists():  # a published/ without manifest (hand-made): kept, never deleted
            os.replace(target, ensure_dir(out / HISTORY_FOLDER) / f"unknown-{now().replace(':', '')}")
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    record = read_record(ws, year)
    if record and record["state"] == WAITING and record.get("flow_run_id") == flow_run_id:
        _write_json(
            record_path(ws, year), record | {"state": PUBLISHED, "decided_at": manifest["published_at"], "by": approved_by}
        )
    return manifest


def send_back(ws, year: int, record: dict, *, comment: str, by: str) -> dict | None:
    """Record the secretariat's comment; published/ is left as it is. Returns that publication."""
    current = read_record(ws, year)
    if current and current.get("flow_run_id") == record.get("flow_run_id") and current["state"] == WAITING:
        _write_json(record_path(ws, year), current | {"state": SENT_BACK, "decided_at": now(), "by": by, "comment": comment})
    return current_publication(ws, year)


def published_lines(year: int, manifest: dict) -> list[str]:
    lines = [
        f"公開しました: output/{year}/{PUBLISHED_FOLDER}/（{shown(manifest['published_at'])}、承認: {manifest['approved_by']}）"
    ]
    lines += [f"    {name}  SHA-256 {sha[:16]}…" for name, sha in manifest["files"].items()]
    return lines


def sent_back_lines(year: int, comment: str, previous: dict | None) -> list[str]:
    lines = [f"差し戻しました（コメント: {comment}）。今回の出力は公開していません"]
    if previous:
        lines.append(
            f"  前回の公開（{shown(previous['published_at'])}）は output/{year}/{PUBLISHED_FOLDER}/ にそのまま残っています"
        )
    else:
        lines.append(f"  {year}年度に公開済みの版はまだありません")
    return lines


def waiting_lines(year: int, record: dict) -> list[str]:
    lines = [f"承認待ち: 次のファイルを公開する前に事務局の承認が必要です（{len(record['files'])} ファイル）"]
    lines += [f"    output/{year}/{name}  SHA-256 {sha[:16]}…" for name, sha in record["files"].items()]
    if record["waits_in"] == IN_PREFECT:
        lines.append("  Prefect UI でこの実行の「Resume」から承認または差戻しを選ぶか、次のコマンドで決めてください:")
    else:
        lines.append("  内容を確認してから、次のコマンドで決めてください:")
    lines += [
        f"    公開する: annex approve --year {year}",
        f'    差し戻す: annex approve --year {year} --send-back "理由"',
    ]
    return lines


def form_description(year: int, record: dict) -> str:
    """The text above the Prefect UI's form (Markdown): what approving publishes, by hash."""
    files = "\n".join(f"- `output/{year}/{name}` SHA-256 `{sha[:16]}…`" for name, sha in record["files"].items())
    return (
        f"## {year}年度 別添の公開前の承認\n\n"
        f"確認用の `output/{year}/annex-review.docx`（未更新は黄・修正は水色・新規は緑）と次のファイルを確認してください。"
        f"「承認して公開する」と、これらのファイルをハッシュで照合して `output/{year}/{PUBLISHED_FOLDER}/` に公開します"
        "（依頼後に変わったファイルがあれば公開しません）。「差し戻す」と何も公開せず、前回の公開はそのまま残ります。\n\n"
        f"{files}\n"
    )


def decide(ws, year: int, record: dict, *, send_back_comment: str | None, by: str) -> list[str]:
    """`annex approve` for a request recorded in the workspace: publish its files, or send back."""
    if send_back_comment is None:
        manifest = publish(
            ws,
            year,
            record["files"],
            flow_run_id=record.get("flow_run_id"),
            approved_by=by,
            requested_at=record.get("requested_at"),
        )
        return published_lines(year, manifest)
    previous = send_back(ws, year, record, comment=send_back_comment, by=by)
    return sent_back_lines(year, send_back_comment, previous)
