"""A reply that is only words: a template and its context, no buttons."""

from __future__ import annotations

from flows.types import Reply


def info(template: str, **context: object) -> Reply:
    return Reply(template, context)
