"""model — the vocabulary every stage shares, with no I/O library: the annex as data (Annex →
Chapter → Section → Row → Bullet, ids, footnote positions, sub-rows), ownership and tags, the
workbook contract with the ministries (sheets, columns, actions, checksum, preamble ids), the
rule catalogue and its issues, printed labels (one deadline formatter), config, errors.
"""

from annex.model.annex import (
    COLUMNS,
    Abbreviation,
    Annex,
    Bullet,
    Chapter,
    Column,
    Indicator,
    Row,
    Section,
    assign_missing_ids,
    assign_missing_positions,
)
from annex.model.config import Config, bundled_path, load_config, shipped_template
from annex.model.errors import AnnexError, ConfigError, InputError
from annex.model.issues import Issue, Location, Submission, SubmissionLine
from annex.model.labels import COLUMN_LABELS, JST, MEASURE_LABEL, format_date, format_instant
from annex.model.ownership import bullet_owners, ministries_in_annex
from annex.model.rules import RULES, rule
from annex.model.tags import TagResolver

__all__ = [
    "Abbreviation",
    "Annex",
    "AnnexError",
    "Bullet",
    "COLUMNS",
    "COLUMN_LABELS",
    "Chapter",
    "Column",
    "Config",
    "ConfigError",
    "Indicator",
    "InputError",
    "Issue",
    "JST",
    "Location",
    "MEASURE_LABEL",
    "RULES",
    "Row",
    "Section",
    "Submission",
    "SubmissionLine",
    "TagResolver",
    "assign_missing_ids",
    "assign_missing_positions",
    "bullet_owners",
    "bundled_path",
    "format_date",
    "format_instant",
    "load_config",
    "ministries_in_annex",
    "rule",
    "shipped_template",
]
