"""The runtime prunes what the inbox and outbox are done with, and keeps everything else.

Applied updates are kept a day (a redelivery comes within minutes), updates set aside a month
(for the operator), finished messages a week; pending work is never pruned, however old.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.app import KEEP_APPLIED, KEEP_FINISHED_MESSAGES, KEEP_SET_ASIDE
from bot.db import inbox_store, outbox_store
from bot.db.inbox_store import Received
from bot.db.models import InboxUpdate, OutboxMessage
from tests.bot.harness import running_bot


async def test_old_finished_rows_are_pruned_and_pending_work_is_kept(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as h:
        await h.say("/help")
        await h.settle()
        long_ago = h.clock() - 2 * max(KEEP_APPLIED, KEEP_SET_ASIDE, KEEP_FINISHED_MESSAGES)

        def age_everything_and_add_pending(session) -> None:
            session.execute(update(InboxUpdate).values(updated_at=long_ago))
            session.execute(update(OutboxMessage).values(updated_at=long_ago))
            inbox_store.store_updates(
                session,
                updates=[Received(999, "999:m1:1:", 5, {"update_id": 999})],
                now=long_ago,
            )
            outbox_store.enqueue(
                session,
                chat_id=5,
                method="sendMessage",
                payload={"text": "x"},
                source="reply",
                now=long_ago,
            )

        # Stop the bot's own loops from picking the pending rows up: this is about pruning.
        await h.runtime.applier.stop()
        await h.runtime.outbox.stop()
        await h.db.run(age_everything_and_add_pending)
        pruned = await h.runtime.prune()

        def left(session) -> tuple[list[str], list[str]]:
            inbox = list(session.scalars(select(InboxUpdate.state)))
            outbox = list(session.scalars(select(OutboxMessage.state)))
            return inbox, outbox

        inbox, outbox = await h.db.run(left)
        assert pruned >= 2
        assert inbox == ["pending"] and outbox == ["pending"]


async def test_recent_finished_rows_are_kept(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as h:
        await h.say("/help")
        await h.settle()
        h.clock.now += KEEP_APPLIED - timedelta(minutes=1)
        assert await h.runtime.prune() == 0
        h.clock.now += timedelta(minutes=2)
        assert await h.runtime.prune() == 1  # the applied /help; its reply is kept a week
