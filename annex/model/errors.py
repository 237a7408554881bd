"""Errors a user can act on. Their message is Japanese and names what to fix."""


class AnnexError(Exception):
    """An expected failure: bad input, bad config, missing file. Printed as one line, no traceback."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}（{self.hint}）" if self.hint else self.message


class ConfigError(AnnexError):
    """Missing or malformed configuration: names the file, the key and what is expected."""


class InputError(AnnexError):
    """A file given to annex cannot be used as it is."""
