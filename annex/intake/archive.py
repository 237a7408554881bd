"""The archive: every received file copied, by SHA-256, before anything parses it; and which files
of an inbox are submissions at all."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path

IGNORED_PREFIXES = (".", "~$")  # hidden files and Excel's lock files (~$name.xlsx) are not submissions


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
    fd, temp_name = tempfile.mkstemp(prefix=".incoming.", dir=staging)
    try:
        with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
            for chunk in iter(lambda: src.read(2**20), b""):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        final = staging / sha[:2] / f"{sha}.{_extension(source.name)}"
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            os.unlink(temp_name)
        else:
            os.replace(temp_name, final)
            os.chmod(final, 0o444)
        return sha, size, final
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


def display_name(name: str) -> str:
    """The original name as metadata: NFC, control characters removed."""
    return "".join(c for c in unicodedata.normalize("NFC", name) if c.isprintable()) or "(名前なし)"


def ignored_reason(relative: str) -> str:
    """Why a file of the inbox is not a submission, as the secretariat reads it."""
    name = relative.rsplit("/", 1)[-1]
    if name.startswith("~$"):
        return "Excel が開いている間に作る一時ファイル（元のファイルを閉じれば消えます）"
    if any(part.startswith(".") for part in relative.split("/")):
        return "隠しファイル"
    return "リンク（ショートカット）: 実体のファイルを置いてください"


def submission_files(folder: Path) -> tuple[list[Path], list[str]]:
    """Every regular file under folder, recursively, in a stable order; and what was skipped."""
    files, ignored = [], []
    if not folder.exists():
        return files, ignored
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            ignored.append(rel)
        elif path.is_file():
            if any(part.startswith(IGNORED_PREFIXES) for part in path.relative_to(folder).parts):
                ignored.append(rel)
            else:
                files.append(path)
    return files, ignored
