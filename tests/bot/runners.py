"""Runners for tests: created (or updated) as the bot does on first contact, then read back as
the ORM's `Runner`, which most store tests start from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.db import chat_store, store
from bot.db.models import Runner


def make_runner(
    session: Session,
    *,
    chat_id: int,
    user_id: int | None,
    first_name: str | None,
    now: datetime,
    locale: str | None = None,
) -> Runner:
    chat_store.save_runner(
        session, chat_id=chat_id, user_id=user_id, first_name=first_name, locale=locale, now=now
    )
    runner = store.find_runner(session, chat_id=chat_id)
    assert runner is not None
    return runner
