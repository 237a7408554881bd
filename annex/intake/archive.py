"""The archive: every received file copied, by SHA-256, before anything parses it; and which files
of an inbox are submissions at all."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from annex.io.files import INCOMING_PREFIX, default_mode, owner_tag


# -- archive --------------------------------------------------------------------------------
def _extension(name: str) -> str:
    suffix = Path(name).suffix.lower().lstrip(".")
    return suffix if re.fullmatch(r"[a-z0-9]{1,8}", suffix) else "bin"


def archive_file(source: Path, archive_root: Path) -> tuple[str, int, Path]:
    """Copy source into archive/sha256/<ab>/<hex>.<ext> while hashing it; (sha256, size, path).

    The copy is made even when the bytes are already archived: hashing and copying in one pass
    guarantees the archive holds exactly the bytes hashed, even if a ministry overwrites the file
    while it is read (a few MB per run; never worth that risk)."""
    staging = archive_root / "sha256"
    staging.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, temp_name = tempfile.mkstemp(prefix=f"{INCOMING_PREFIX}{owner_tag()}", dir=staging)
    try:
        with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
            for chunk in iter(lambda: src.read(2**20), b""):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
            # read-only (the archive is evidence), readable as the umask allows: set before the
            # rename, so that the file never appears under its final name with another mode
            os.fchmod(out.fileno(), default_mode(read_only=True))
        sha = digest.hexdigest()
        final = staging / sha[:2] / f"{sha}.{_extension(source.name)}"
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            os.unlink(temp_name)
        else:
            os.replace(temp_name, final)
        return sha, size, final
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


def display_name(name: str) -> str:
    """The original name as metadata: NFC, control characters removed."""
    return "".join(c for c in unicodedata.normalize("NFC", name) if c.isprintable()) or "(名前なし)"


def readable_name(name: str) -> tuple[str, str | None]:
    """A name as the OS gave it → (text to show and record, why it differs, or None).

    Python hands a name that is not UTF-8 over with surrogate escapes, which no database, log or
    workbook accepts ("surrogates not allowed"). A ZIP made on an older Japanese Windows writes
    its names in Shift_JIS (cp932), so that is tried first; anything else keeps U+FFFD in place of
    the bytes that cannot be read.
    """
    try:
        name.encode("utf-8")
        decoded, note = name, None
    except UnicodeEncodeError:
        raw = os.fsencode(name)
        try:
            decoded, note = raw.decode("cp932"), "ファイル名が UTF-8 ではないため Shift_JIS として読みました"
            if any(unicodedata.category(c) == "Co" for c in decoded):  # cp932 maps stray bytes to private use
                raise UnicodeDecodeError("cp932", raw, 0, len(raw), "not Shift_JIS text")
        except UnicodeDecodeError:
            decoded = raw.decode("utf-8", "replace")
            note = "ファイル名に文字として読めないバイトがあり、「\ufffd」で表示します"
    shown = display_name(decoded)
    if note is None and shown != unicodedata.normalize("NFC", decoded):
        note = "ファイル名の制御文字・書式文字（右から左への書字指定など）を除いて表示します"
    return shown, note


# Files an operating system or an editor leaves beside a workbook: never a ministry's return.
OS_METADATA = {".ds_store": "macOS", "thumbs.db": "Windows", "desktop.ini": "Windows", "icon\r": "macOS"}


def skip_reason(name: str, mode: int) -> str | None:
    """Why an inbox entry is not a submission, as the secretariat reads it; None if it is one.

    A name beginning with 「.」 is not a reason: a ministry may well send 「.文科省.xlsx」, and
    ignoring it would drop its edits without a word. Only the files tools make for themselves
    are skipped, each for a stated reason.
    """
    if stat.S_ISLNK(mode):
        return "リンク（シンボリックリンク）: 作業フォルダの外を指すことがあるため読みません。実体のファイルを置いてください"
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "通常のファイルではありません（名前付きパイプ・ソケット・デバイス）: 読みません"
    if not stat.S_ISREG(mode):
        return "通常のファイルではありません: 読みません"
    lowered = name.lower()
    if name.startswith("~$"):
        return "Excel が開いている間に作る一時ファイル（元のファイルを閉じれば消えます）"
    if name.startswith(".~lock.") and name.endswith("#"):
        return "LibreOffice が開いている間に作る一時ファイル（元のファイルを閉じれば消えます）"
    if name.startswith("._"):
        return "macOS がコピーの際に作る付属情報のファイル（AppleDouble）: 元のファイルは別にあります"
    if lowered in OS_METADATA:
        return f"{OS_METADATA[lowered]} がフォルダに作る管理用のファイル"
    return None


@dataclass(frozen=True)
class Skipped:
    """An inbox entry that is not a submission, named with its reason (never skipped silently)."""

    name: str  # relative to the inbox, readable (see readable_name)
    reason: str

    def line(self) -> str:
        return f"{self.name} — {self.reason}"


def _shown(parts: list[str]) -> str:
    return "/".join(readable_name(p)[0] for p in parts)


def submission_files(folder: Path) -> tuple[list[Path], list[Skipped]]:
    """Every regular file under folder, recursively, in a stable order; and what was skipped, why.

    Entries are classified by lstat, so a symlink (to a file or a folder, inside or outside the
    workspace) is never followed and a FIFO is never opened (opening one blocks for ever).
    """
    files: list[Path] = []
    skipped: list[Skipped] = []
    if not folder.exists():
        return files, skipped

    def walk(directory: Path, parts: list[str]) -> None:
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            skipped.append(Skipped(_shown(parts) or ".", f"フォルダを読めません（{exc.strerror}）"))
            return
        for name in names:
            path = directory / name
            try:
                mode = path.lstat().st_mode
            except OSError as exc:
                skipped.append(Skipped(_shown([*parts, name]), f"読めません（{exc.strerror}）"))
                continue
            if stat.S_ISDIR(mode):
                walk(path, [*parts, name])
            elif reason := skip_reason(name, mode):
                skipped.append(Skipped(_shown([*parts, name]), reason))
            else:
                files.append(path)

    walk(folder, [])
    return files, skipped
