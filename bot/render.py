"""Every reply the bot sends is a named Jinja2 template rendered here, in one environment.

The environment is strict (an undefined name is an error, not an empty string) and escapes every
value for Telegram's HTML parse mode, so an answer a runner typed can never inject markup.
Blocks are trimmed so templates can be laid out readably without stray blank lines.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The one template environment (built on first use: nothing is read at import time)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        undefined=StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["localtime"] = localtime
    env.filters["ago"] = ago
    return env


def localtime(instant: datetime, zone: str | None) -> str:
    """An instant as the runner's wall clock shows it, e.g. "Sun 22 Nov, 09:00"."""
    local = instant.astimezone(ZoneInfo(zone or "UTC"))
    text = f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"
    return text if zone else f"{text} UTC"


def ago(then: datetime, now: datetime) -> str:
    """How long ago, in words a runner would use."""
    minutes = int((now - then).total_seconds() // 60)
    if minutes < 60:
        return "just now" if minutes < 2 else f"{minutes} minutes ago"
    hours = minutes // 60
    if hours < 36:
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    return f"{round(hours / 24)} days ago"


def render(name: str, /, **context: Any) -> str:
    """Render the template `name` with `context` into Telegram HTML."""
    text = environment().get_template(name).render(**context)
    # Collapse runs of blank lines that conditional blocks leave behind.
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out)


def template_names() -> list[str]:
    """Every renderable template (partials start with an underscore and are left out)."""
    return sorted(
        str(p.relative_to(TEMPLATES_DIR))
        for p in TEMPLATES_DIR.rglob("*.j2")
        if not p.name.startswith("_")
    )
