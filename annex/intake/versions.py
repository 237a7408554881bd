"""Which of a ministry's versions is the newest: the time it was received (the ledger), then the
time saved inside the workbook (docProps/core.xml, dcterms:modified), then the order of receipt.

Files received in the same collection share their received time (a secretariat copying a mail
folder's attachments into submissions/ gives no order of its own; file-system times are those of
the copy), so for them the workbook's own saved time decides.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

from defusedxml import ElementTree

CORE = "docProps/core.xml"
CORE_MAX_BYTES = 64 * 1024  # a real core.xml is under 2 kB; anything larger is not read
MODIFIED = "{http://purl.org/dc/terms/}modified"


def saved_at(path: Path) -> dt.datetime | None:
    """The time Excel wrote into the workbook when it was last saved (UTC), or None if there is
    none to read. Parsed with DTDs and entities refused: the file is a ministry's, not ours."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(CORE)
            if info.file_size > CORE_MAX_BYTES:
                return None
            root = ElementTree.fromstring(archive.read(info))
        text = (root.findtext(MODIFIED) or "").strip()
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except Exception:  # noqa: BLE001 — any unreadable part means "no saved time", never a crash
        return None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def receipt_order(paths: list[Path]) -> list[Path]:
    """Files received together, oldest saved first (no saved time counts as oldest), then by name."""
    return sorted(paths, key=lambda p: (saved_at(p) or EPOCH, p.name))
