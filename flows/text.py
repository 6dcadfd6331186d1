"""Text from outside (a Telegram first name, anything a runner typed) made safe to keep.

PostgreSQL refuses a NUL character in a text column and a value longer than its column, and a
refused write fails the whole update, so a single odd name would break every later message of
that runner. Control characters other than newline and tab have no place in a name or an answer
either, and a lone surrogate (which JSON can carry as an escape) cannot be encoded as UTF-8 at
all.
"""

from __future__ import annotations

import re

# C0 controls except tab (\x09) and newline (\x0a), and the surrogate code points.
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff]")


def clean_text(text: str | None, limit: int) -> str | None:
    """`text` without control characters (newline and tab stay) or surrogates, stripped, and
    cut to at most `limit` characters; None stays None (and an all-control text becomes "")."""
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    if text is None:
        return None
    # Strip again after cutting: the cut may leave a space at the end.
    return _UNWANTED.sub("", text).strip()[:limit].rstrip()
