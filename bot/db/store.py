"""Small data-access functions: one question or one change each, inside the caller's transaction.

Every function is synchronous, takes the `Session` first and everything else by keyword, and
never commits: `Database.run` wraps the call in a transaction, so several of them compose into
one atomic unit (save the new state and schedule the follow-ups together). Times are passed in
(`now`) rather than read from the clock, so tests and replays control them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from bot.db.built import Prepared
from bot.db.models import LOCALE_LENGTH, Assessment, Conversation, Runner
from flows.text import clean_text


class StaleConversation(Exception):
    """The conversation changed since the caller loaded it; reload and apply the event again."""


def clean_locale(language_code: str | None) -> str | None:
    """A language tag as the runner's `locale` keeps it: lower-cased and cut to its column
    (None when there is none, or nothing is left after cleaning)."""
    return (clean_text(language_code, LOCALE_LENGTH) or "").lower() or None


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
    return _RECORD_ASSESSMENT.execute(
        session,
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
_RECORD_ASSESSMENT = Prepared(
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
