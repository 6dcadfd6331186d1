"""Small data-access functions: one question or one change each, inside the caller's transaction.

Every function is synchronous, takes the `Session` first and everything else by keyword, and
never commits: `Database.run` wraps the call in a transaction, so several of them compose into
one atomic unit (save the new state and schedule the follow-ups together). Times are passed in
(`now`) rather than read from the clock, so tests and replays control them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import FIRST_NAME_LENGTH, LOCALE_LENGTH, Assessment, Conversation, Runner
from flows.text import clean_text


class StaleConversation(Exception):
    """The conversation changed since the caller loaded it; reload and apply the event again."""


def clean_locale(language_code: str | None) -> str | None:
    """A language tag as the runner's `locale` keeps it: lower-cased and cut to its column
    (None when there is none, or nothing is left after cleaning)."""
    return (clean_text(language_code, LOCALE_LENGTH) or "").lower() or None


def get_or_create_runner(
    session: Session,
    *,
    chat_id: int,
    user_id: int | None,
    first_name: str | None,
    now: datetime,
    locale: str | None = None,
) -> Runner:
    """The runner for `chat_id`, created on first contact; a changed name, user id or language
    is kept (a missing one erases nothing).

    The name and language are cleaned first (`flows.text.clean_text`): PostgreSQL refuses a NUL
    or a value longer than its column, which would fail this and every later update of the
    runner. A name with nothing left after cleaning counts as no name.
    """
    first_name = clean_text(first_name, FIRST_NAME_LENGTH) or None
    locale = clean_locale(locale)
    runner = find_runner(session, chat_id=chat_id)
    if runner is None:
        runner = Runner(
            chat_id=chat_id,
            user_id=user_id,
            first_name=first_name,
            locale=locale,
            created_at=now,
            updated_at=now,
        )
        try:
            # A savepoint, so losing a creation race costs only this insert, not the transaction.
            with session.begin_nested():
                session.add(runner)
        except IntegrityError:
            existing = find_runner(session, chat_id=chat_id)
            if existing is None:
                raise
            runner = existing
        else:
            return runner
    profile = {"user_id": user_id, "first_name": first_name, "locale": locale}
    changed = {k: v for k, v in profile.items() if v is not None and getattr(runner, k) != v}
    if changed:
        for name, value in changed.items():
            setattr(runner, name, value)
        runner.updated_at = now
    return runner


def find_runner(session: Session, *, chat_id: int) -> Runner | None:
    """The runner for `chat_id`, or None if that chat never wrote to the bot."""
    return session.scalars(select(Runner).where(Runner.chat_id == chat_id)).one_or_none()


def load_conversation(session: Session, *, runner_id: int) -> Conversation | None:
    """The runner's conversation in progress, or None when they are not in one."""
    return session.scalars(
        select(Conversation).where(Conversation.runner_id == runner_id)
    ).one_or_none()


def record_assessment(
    session: Session,
    *,
    runner_id: int,
    answers: dict[str, str],
    disposition: str,
    reasons: list[str],
    rules_version: str,
    care_path: str,
    plyometric_gate_open: bool,
    started_at: datetime,
    completed_at: datetime,
) -> int:
    """Keep the outcome of a finished triage; its id."""
    return session.execute(
        _RECORD_ASSESSMENT,
        {
            "runner": runner_id,
            "given": dict(answers),
            "decided": disposition,
            "why": list(reasons),
            "rules": rules_version,
            "path": care_path,
            "gate_open": plyometric_gate_open,
            "started": started_at,
            "completed": completed_at,
        },
    ).scalar_one()


# Built once, on the table: inserting through the ORM's unit of work cost three times as much.
_assessments = Assessment.__table__
_RECORD_ASSESSMENT = (
    insert(_assessments)
    .values(
        runner_id=bindparam("runner"),
        answers=bindparam("given"),
        disposition=bindparam("decided"),
        reasons=bindparam("why"),
        rules_version=bindparam("rules"),
        care_path=bindparam("path"),
        plyometric_gate_open=bindparam("gate_open"),
        started_at=bindparam("started"),
        completed_at=bindparam("completed"),
    )
    .returning(_assessments.c.id)
)
