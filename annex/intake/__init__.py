"""intake — what happens to a received file before any check: preflight on its bytes, the
archive (by SHA-256) and the ledger, and reading a workbook as text (in a worker).
"""

from annex.intake.archive import Skipped, archive_file, display_name, readable_name, submission_files
from annex.intake.ledger import Ledger, LedgerEntry
from annex.intake.preflight import REJECTING_RULES
from annex.intake.reader import RawWorkbook, read_workbook

__all__ = [
    "REJECTING_RULES",
    "Ledger",
    "LedgerEntry",
    "RawWorkbook",
    "Skipped",
    "archive_file",
    "display_name",
    "read_workbook",
    "readable_name",
    "submission_files",
]
