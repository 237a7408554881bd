"""A workspace: the folder a secretariat works in, holding config/, submissions/, output/.

Nothing here depends on the current directory: every path is derived from the root given.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from annex.intake.ledger import Ledger
from annex.model.config import BUNDLED, Config, bundled_path, load_config, shipped_template
from annex.model.errors import ConfigError
from annex.notify.mail import template_environment


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def at(cls, root: Path | str | None) -> "Workspace":
        return cls(Path(root or ".").expanduser().resolve())

    # -- configuration -----------------------------------------------------------------------
    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @cached_property
    def config(self) -> Config:
        return load_config(self.config_dir if self.config_dir.exists() else None)

    def year(self, year: int | None) -> int:
        return year if year is not None else self.config.year

    # -- inputs ------------------------------------------------------------------------------
    def submissions(self, year: int) -> Path:
        return self.root / "submissions" / str(year)

    def baseline_file(self) -> Path:
        spec = self.config.settings.baseline.file
        path = self.source_file(spec, relative_to=self.root)
        if not path.exists():
            raise ConfigError(f"{self.config.sources['annex.yaml']}: キー「baseline.file」— {path} が見つかりません")
        return path

    @staticmethod
    def source_file(spec: str, *, relative_to: Path) -> Path:
        """A file as config and the CLI name it: 「bundled:annex_2025.json」 is the copy shipped with
        annex, anything else a path (relative to relative_to)."""
        if spec.startswith(BUNDLED):
            return bundled_path(spec[len(BUNDLED) :])
        return (relative_to / Path(spec).expanduser()).resolve()

    def template(self, name: str) -> Path:
        """A workspace's own templates/<name> if it has one, else the one shipped with annex."""
        own = self.root / "templates" / name
        return own if own.exists() else shipped_template(name)

    def template_folders(self, name: str) -> list[Path]:
        """templates/<name>/ of the workspace, then the shipped one: a file in the first wins."""
        return [self.root / "templates" / name, shipped_template(name)]

    def email_templates(self) -> Any:
        """The jinja2 environment of the e-mail templates (the workspace's own win, file by file)."""
        return template_environment(*self.template_folders("email"))

    def ledger(self) -> Ledger:
        """The ledger of received files (and the outbox's database): SQLite in archive/, or ANNEX_DB_URL."""
        return Ledger(self.ledger_url)

    @contextlib.contextmanager
    def open_ledger(self) -> Iterator[Ledger]:
        """The workspace's ledger for a ``with`` block, closed after it."""
        ledger = self.ledger()
        try:
            yield ledger
        finally:
            ledger.close()

    # -- outputs -----------------------------------------------------------------------------
    def output(self, year: int) -> Path:
        return self.root / "output" / str(year)

    def master_json(self, year: int) -> Path:
        return self.output(year) / "master.json"

    @property
    def archive(self) -> Path:
        """Every received file, content-addressed; kept apart from output/, which is regenerated."""
        return self.root / "archive"

    @property
    def ledger_url(self) -> str:
        return os.environ.get("ANNEX_DB_URL") or f"sqlite:///{self.archive / 'ledger.sqlite'}"
