"""Progress lines: to the Prefect run log (the UI) and to the "annex.progress" logger (the CLI)."""

from __future__ import annotations

import logging

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

_cli = logging.getLogger("annex.progress")


def note(message: str) -> None:
    _cli.info(message)
    try:
        get_run_logger().info(message)
    except MissingContextError:
        pass
