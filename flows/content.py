"""Where the content data files live and the tools their loaders share.

The exercise library and the zone picker's lists are data in the top-level `content/` directory
(next to `templates/`), found from this package's own path so that an editable install and a
clean clone both see them whatever the working directory. Each loader (`flows.exercise_library`,
`flows.zones`) parses its TOML text, checks it and raises `ContentError` with one line naming the
file, the entry and the field at fault. Each file is read on first use (a cached
loader function), never at import time, so a broken file is reported by the bot's start-up check
and not as an import traceback.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"

T = TypeVar("T")


class ContentError(ValueError):
    """A content file is malformed; the message is one line naming the file, entry and field."""


def read_content(path: Path) -> tuple[str, str]:
    """The text of a file in content/ and its name for messages ("content/zones.toml").

    A missing or unreadable file is a ContentError too, so start-up reports it in one line.
    """
    source = f"{CONTENT_DIR.name}/{path.name}"
    try:
        return path.read_text(encoding="utf-8"), source
    except (OSError, UnicodeDecodeError) as error:
        raise ContentError(f"{source}: cannot be read ({error})") from None


def parse_toml(text: str, *, source: str) -> dict[str, Any]:
    """The TOML document in `text`, or ContentError naming `source` and tomllib's complaint."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ContentError(f"{source}: not valid TOML: {error}") from None


def check_keys(table: Mapping[str, Any], allowed: Iterable[str], *, where: str) -> None:
    """ContentError for the first key of `table` that is not `allowed` (typos must not pass
    silently: a misspelt optional key would just drop the setting)."""
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ContentError(f"{where}: unknown key {unknown[0]!r}")
