"""master — a published annex in (the corpus JSON, or an annex.docx written by render) and the
year's master out: import with deterministic ids, read and stage master.json / master.xlsx.
"""

from annex.master.importer import ImportResult, import_annex, parse_annex_json, read_annex_file
from annex.master.store import read_master, read_master_with_digest, stage_master

__all__ = [
    "ImportResult",
    "import_annex",
    "parse_annex_json",
    "read_annex_file",
    "read_master",
    "read_master_with_digest",
    "stage_master",
]
