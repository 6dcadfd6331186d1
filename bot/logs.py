"""Logging set-up: readable lines (or JSON), quiet HTTP libraries, and the bot token never written.

The Bot API puts the token in every URL, and HTTP libraries and python-telegram-bot put URLs and
the token in messages and exception texts. Redaction therefore happens in the formatter of every
handler, on the finished text (message, traceback, stack), rather than in a filter that sees only
the message: a traceback of an httpx error or PTB's "The token `...` was rejected" would
otherwise be written in full. Both the whole token and its secret part (after the colon) are
replaced, because some libraries print the secret alone. Uncaught exceptions go through the same
formatter, so a crash does not print the token either.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TextIO

REDACTED = "<token>"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# A secret part shorter than this is not a real Telegram secret (those are 35 characters) but a
# made-up one for a local test server, and replacing every occurrence of, say, "abc" would
# mangle the log; the whole token is still redacted.
MIN_SECRET_PART_LENGTH = 8


def secrets_of(token: str) -> tuple[str, ...]:
    """The strings to hide for `token`: the token itself, then its secret part alone."""
    if not token:
        return ()
    _, colon, secret_part = token.partition(":")
    if colon and len(secret_part) >= MIN_SECRET_PART_LENGTH:
        return (token, secret_part)
    return (token,)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with each of `secrets` replaced by `<token>`, longest first."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFormatter(logging.Formatter):
    """A `logging.Formatter` whose output never contains any of `secrets`."""

    def __init__(
        self,
        fmt: str | None = TEXT_FORMAT,
        datefmt: str | None = None,
        *,
        secrets: Iterable[str] = (),
    ) -> None:
        super().__init__(fmt, datefmt)
        self.secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)

    def formatException(self, ei: Any) -> str:
        # `format` caches this text on the record (exc_text); redacting it here keeps the token
        # out of the cache that other handlers' formatters reuse.
        return redact(super().formatException(ei), self.secrets)

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info), self.secrets)


class JsonFormatter(RedactingFormatter):
    """One JSON object per line: time, level, logger, message, and exception/stack if any."""

    def __init__(self, *, secrets: Iterable[str] = ()) -> None:
        super().__init__(None, secrets=secrets)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # Token characters need no JSON escaping, so redacting the encoded line is exact.
        return redact(json.dumps(entry, ensure_ascii=False), self.secrets)


def configure_logging(
    level: str,
    *,
    token: str = "",
    json_logs: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Send every log record to `stream` (stderr) through one redacting handler on the root.

    With a token, uncaught exceptions (main thread and other threads) are logged through that
    handler too instead of being printed raw by Python.
    """
    secrets = secrets_of(token)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(secrets=secrets) if json_logs else RedactingFormatter(secrets=secrets)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL (with the token) at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # transitions logs every state change at INFO: one line per answer is noise.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    if secrets:
        sys.excepthook = log_uncaught_exception
        threading.excepthook = _log_uncaught_thread_exception


def log_uncaught_exception(
    exc_type: type[BaseException],
    exc_value: BaseException,
    exc_traceback: TracebackType | None,
) -> None:
    """`sys.excepthook` that writes the traceback through the (redacting) log handlers."""
    if issubclass(exc_type, KeyboardInterrupt):
        # Ctrl-C is not a crash: keep Python's usual short report.
        sys.__excepthook__(exc_type, exc_value, exc_traceback)
        return
    logging.getLogger("bot").critical(
        "Uncaught exception", exc_info=(exc_type, exc_value, exc_traceback)
    )


def _log_uncaught_thread_exception(args: threading.ExceptHookArgs) -> None:
    # As Python's own hook does: a thread ending with SystemExit is not an error.
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    logging.getLogger("bot").critical(
        "Uncaught exception in thread %s",
        args.thread.name if args.thread else "?",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
