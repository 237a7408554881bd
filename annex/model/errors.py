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


# pydantic's error types in Japanese: one table for config files and annex files alike.
_PYDANTIC_JA = {
    "missing": "必須のキーがありません",
    "extra_forbidden": "想定外のキーです（綴りを確認してください）",
    "int_parsing": "整数が必要です",
    "int_type": "整数が必要です",
    "float_parsing": "数値が必要です",
    "bool_parsing": "true / false が必要です",
    "bool_type": "true / false が必要です",
    "string_type": "文字列が必要です",
    "string_too_short": "空です（文字列が必要です）",
    "list_type": "リストが必要です",
    "dict_type": "キーと値の組が必要です",
    "model_type": "キーと値の組（オブジェクト）が必要です",
    "datetime_parsing": "日時が必要です（例: 2026-05-29T17:00:00+09:00）",
    "datetime_from_date_parsing": "日時が必要です（例: 2026-05-29T17:00:00+09:00）",
    "datetime_type": "日時が必要です（例: 2026-05-29T17:00:00+09:00）",
    "literal_error": "次のいずれかが必要です",
    "string_pattern_mismatch": "形式が正しくありません",
    "too_short": "空にできません",
    "greater_than_equal": "値が小さすぎます",
    "less_than_equal": "値が大きすぎます",
    "greater_than": "値が小さすぎます",
}


def validation_problems(exc) -> list[tuple[tuple, str]]:
    """(location, Japanese message) for each problem of a pydantic ValidationError."""
    out = []
    for err in exc.errors():
        kind, ctx = err["type"], err.get("ctx", {})
        message = _PYDANTIC_JA.get(kind, err["msg"])
        if kind == "literal_error":
            message += f": {ctx.get('expected', '')}"
        elif kind == "value_error":
            message = str(ctx.get("error", err["msg"]))
        elif kind == "string_pattern_mismatch":
            message += f"（{ctx.get('pattern', '')}）"
        out.append((tuple(err["loc"]), message))
    return out
