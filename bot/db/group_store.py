"""Groups and channels the bot was added to: when each was last told to use a private chat.

Functions take the `Session` first, pass time in, and never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.db.built import dialect_insert
from bot.db.models import GroupNotice


def claim_notice(session: Session, *, chat_id: int, now: datetime, every: timedelta) -> bool:
    """Whether the group is due its notice now (at most once per `every`); records it if so."""
    inserted = session.execute(
        dialect_insert(session, GroupNotice)
        .values(chat_id=chat_id, noticed_at=now)
        .on_conflict_do_nothing(index_elements=["chat_id"])
        .returning(GroupNotice.chat_id)
    ).scalar_one_or_none()
    if inserted is not None:
        return True
    renewed = session.execute(
        update(GroupNotice)
        .where(GroupNotice.chat_id == chat_id, GroupNotice.noticed_at <= now - every)
        .values(noticed_at=now)
    )
    return renewed.rowcount == 1
