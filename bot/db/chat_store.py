"""The hot path of every update, in plain SQL statements: load a chat, store its dialog state.

Every runner update reads the runner and their conversation and writes the new state; doing that
through the ORM's unit of work costs several times the database's own time. These few functions
use Core statements built once: one joined SELECT and one guarded UPDATE (or an INSERT for a new
conversation), and one upsert for a runner's first contact or changed profile. The
conversation's `version` is checked and advanced here by hand, as the mapper's version counter
would. Whether an update was applied before is the inbox's business.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from bot.db.built import Prepared, dialect_of, insert_for_dialect
from bot.db.models import FIRST_NAME_LENGTH, Conversation, Runner, spoken_locale
from bot.db.store import StaleConversation, clean_locale
from flows.text import clean_text

_runners = Runner.__table__
_conversations = Conversation.__table__


@dataclass(frozen=True, slots=True)
class ChatRow:
    """A runner and their conversation (None fields when they have none), as one row."""

    id: int
    first_name: str | None
    user_id: int | None
    locale: str | None
    chosen_locale: str | None
    zone: str | None
    reminder_time: str | None
    reminders_paused: bool
    followups_stopped: bool
    flow: str | None
    step: str | None
    answers: dict[str, str] | None
    history: list[str] | None
    version: int | None
    started_at: datetime | None


_LOAD = Prepared(
    select(
        _runners.c.id,
        _runners.c.first_name,
        _runners.c.user_id,
        _runners.c.locale,
        _runners.c.chosen_locale,
        _runners.c.zone,
        _runners.c.reminder_time,
        _runners.c.reminders_paused,
        _runners.c.followups_stopped,
        _conversations.c.flow,
        _conversations.c.step,
        _conversations.c.answers,
        _conversations.c.history,
        _conversations.c.version,
        _conversations.c.started_at,
    )
    .select_from(_runners.outerjoin(_conversations, _conversations.c.runner_id == _runners.c.id))
    .where(_runners.c.chat_id == bindparam("chat_id"))
)
_LOCALE = select(spoken_locale()).where(_runners.c.chat_id == bindparam("chat_id"))
_UPDATE = Prepared(
    update(_conversations)
    .where(
        and_(
            _conversations.c.runner_id == bindparam("rid"),
            _conversations.c.version == bindparam("expected"),
        )
    )
    .values(
        flow=bindparam("flow"),
        step=bindparam("step"),
        answers=bindparam("answers"),
        history=bindparam("history"),
        started_at=bindparam("started_at"),
        updated_at=bindparam("now"),
        version=_conversations.c.version + 1,
    )
)


_INSERT = Prepared(
    insert(_conversations).values(
        runner_id=bindparam("runner_id"),
        flow=bindparam("flow"),
        step=bindparam("step"),
        answers=bindparam("answers"),
        history=bindparam("history"),
        version=1,
        started_at=bindparam("started_at"),
        updated_at=bindparam("now"),
    )
)


def save_runner(
    session: Session,
    *,
    chat_id: int,
    user_id: int | None,
    first_name: str | None,
    locale: str | None,
    now: datetime,
) -> None:
    """Create the runner of `chat_id` on first contact, or keep a changed name, user id or
    language (a missing one erases nothing), in one statement.

    The name and language are cleaned first (`flows.text.clean_text`): PostgreSQL refuses a NUL
    or a value longer than its column, which would fail this and every later update of the
    runner. A name with nothing left after cleaning counts as no name.
    """
    session.execute(
        _save_runner(dialect_of(session)),
        {
            "chat": chat_id,
            "user": user_id,
            "name": clean_text(first_name, FIRST_NAME_LENGTH) or None,
            "lang": clean_locale(locale),
            "now": now,
        },
    )


@functools.cache
def _save_runner(dialect: str) -> Any:
    # Built once per dialect: ON CONFLICT is spelt the same on both, but by each one's insert.
    statement = insert_for_dialect(dialect, _runners).values(
        chat_id=bindparam("chat"),
        user_id=bindparam("user"),
        first_name=bindparam("name"),
        locale=bindparam("lang"),
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    new = statement.excluded
    kept = {
        name: func.coalesce(new[name], _runners.c[name])
        for name in ("user_id", "first_name", "locale")
    }
    changed = or_(*(value.is_distinct_from(_runners.c[name]) for name, value in kept.items()))
    # Through the Session, not `Prepared`: a new runner's flags take the model's defaults,
    # which SQLAlchemy fills in at execution. A first contact is rare enough.
    return statement.on_conflict_do_update(
        index_elements=["chat_id"],
        set_={**kept, "updated_at": case((changed, new.updated_at), else_=_runners.c.updated_at)},
    )


def load_chat(session: Session, *, chat_id: int) -> ChatRow | None:
    """The runner of `chat_id` with their conversation, or None for a chat never seen."""
    row = _LOAD.execute(session, {"chat_id": chat_id}).one_or_none()
    return ChatRow(*row) if row is not None else None


def locale_of(session: Session, *, chat_id: int) -> str | None:
    """The language the runner of `chat_id` is written to in: the one they chose with
    /language, else Telegram's (None: no runner, or no language)."""
    return session.execute(_LOCALE, {"chat_id": chat_id}).scalar_one_or_none()


def write_conversation(
    session: Session,
    *,
    runner_id: int,
    expected_version: int | None,
    flow: str,
    step: str,
    answers: dict[str, str],
    history: list[str],
    started_at: datetime,
    now: datetime,
) -> int:
    """Store the dialog state (the flow it is in, its step, answers and history) and return
    its new version.

    `expected_version` is the version the state was derived from (None: the runner had no
    conversation); a row that moved on meanwhile raises `StaleConversation`.
    """
    values: dict[str, Any] = {
        "flow": flow,
        "step": step,
        "answers": answers,
        "history": history,
        "started_at": started_at,
        "now": now,
    }
    if expected_version is None:
        _INSERT.execute(session, {**values, "runner_id": runner_id})
        return 1
    result = _UPDATE.execute(session, {**values, "rid": runner_id, "expected": expected_version})
    if result.rowcount != 1:
        raise StaleConversation(f"runner {runner_id}: conversation is not at {expected_version}")
    return expected_version + 1
