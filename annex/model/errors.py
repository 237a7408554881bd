"""Errors a user can act on. Their message is Japanese and names what to fix."""

import errno


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


# Why a file could not be written, as the secretariat reads it (the errno, not a traceback).
_ERRNO_JA = {
    "ENOSPC": "ディスクの空き容量がありません",
    "EDQUOT": "ディスクの容量制限を超えました",
    "EFBIG": "ファイルの大きさの上限を超えました",
    "EROFS": "読み取り専用のフォルダです",
    "EACCES": "書き込み権限がありません",
    "EPERM": "書き込み権限がありません",
    "EIO": "ディスクの入出力エラーです",
}


def os_reason(exc: BaseException) -> str:
    """An OSError (or a database error caused by one) in Japanese: what the disk said."""
    while exc is not None and not isinstance(exc, OSError) and getattr(exc, "orig", None) is not None:
        exc = exc.orig  # SQLAlchemy wraps the driver's error
    code = getattr(exc, "errno", None)
    name = errno.errorcode.get(code, "") if isinstance(code, int) else ""
    if name in _ERRNO_JA:
        return _ERRNO_JA[name]
    text = str(exc)
    if "disk is full" in text or "No space left" in text:
        return _ERRNO_JA["ENOSPC"]
    if "readonly" in text or "read-only" in text:
        return _ERRNO_JA["EROFS"]
    return getattr(exc, "strerror", None) or text or type(exc).__name__
