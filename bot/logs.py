"""Logging set-up: readable lines, quiet HTTP libraries, and the bot token never written out.

The Bot API puts the token in every URL, and HTTP libraries log URLs; a filter on every handler
replaces the token wherever it appears, so a log can be shared without leaking it.
"""

from __future__ import annotations

import logging


class RedactToken(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secret:
            message = record.getMessage()
            if self.secret in message:
                record.msg = message.replace(self.secret, "<token>")
                record.args = None
        return True


def configure_logging(level: str, *, token: str = "") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL (with the token) at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # transitions logs every state change at INFO: one line per answer is noise.
    logging.getLogger("transitions").setLevel(logging.WARNING)
