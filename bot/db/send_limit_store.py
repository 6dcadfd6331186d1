"""Send slots shared by every sender on one PostgreSQL database (the state of
`bot.ratelimit.SharedSendRateLimiter`).

Time is split into a grid: each calendar second holds `rate` slots, evenly spaced. A lane
(`send_lanes`: "free", Telegram's ~30 a second, and "paid", the paid-broadcast budget) remembers
the last slot it handed out; a chat (`send_chat_pace`) remembers when it may next be sent to.
`take_slot` hands out, in one transaction, the first slot of the lane's grid that is later than
the lane's last one, not before now, the chat's next allowed time or the bot-wide pause; then it
moves the chat's next allowed time to that slot plus the chat's interval (which the limiter
lengthens by how late a send may leave its slot). The lane's row lock
serializes the senders, so no two get one slot, whichever process they run in; a sender then
waits for its slot and sends within the slot's calendar second (see the limiter), so no
calendar second holds more than `rate` sends of a lane. Times are integer microseconds since
the epoch (no float drift in the grid); functions take the `Session` first and never commit.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bot.db.models import SendChatPace, SendLane

FREE = "free"
PAID = "paid"
LANES = (FREE, PAID)
MICROS = 1_000_000


def grid_slot(after_us: int, ready_us: int, rate: int) -> int:
    """The first slot of a `rate`-a-second grid later than `after_us` and not before `ready_us`.

    Second `s` holds the slots `s + i/rate` (i = 0 .. rate-1, rounded down to a microsecond),
    so a calendar second never holds more than `rate` of them."""
    if rate < 1:
        raise ValueError("rate must be at least 1")
    wanted = max(ready_us, after_us + 1)
    second, offset = divmod(wanted, MICROS)
    index = -(-offset * rate // MICROS)  # the first i with floor(i * MICROS / rate) >= offset
    if index >= rate:
        second, index = second + 1, 0
    return second * MICROS + index * MICROS // rate


def take_slot(
    session: Session,
    *,
    chat_id: int,
    lane: str,
    rate: int,
    chat_interval_us: int,
    now_us: int,
) -> tuple[int, int]:
    """Claim the next slot of `lane` for `chat_id` (see module doc); (its start, the bot-wide
    pause's end), in microseconds."""
    last = session.scalar(
        select(SendLane.last_slot_us).where(SendLane.lane == lane).with_for_update()
    )
    if last is None:
        # A lane the migration did not seed: create it, then lock it like the others.
        session.execute(insert(SendLane).values(lane=lane).on_conflict_do_nothing())
        last = session.scalar(
            select(SendLane.last_slot_us).where(SendLane.lane == lane).with_for_update()
        )
    paused_until = session.scalar(select(SendLane.paused_until_us).where(SendLane.lane == FREE))
    chat_next = session.scalar(
        select(SendChatPace.next_at_us).where(SendChatPace.chat_id == chat_id).with_for_update()
    )
    ready = max(now_us, paused_until or 0, chat_next or 0)
    slot = grid_slot(last, ready, rate)
    session.execute(update(SendLane).where(SendLane.lane == lane).values(last_slot_us=slot))
    next_at = slot + chat_interval_us
    session.execute(
        insert(SendChatPace)
        .values(chat_id=chat_id, next_at_us=next_at)
        .on_conflict_do_update(index_elements=[SendChatPace.chat_id], set_={"next_at_us": next_at})
    )
    return slot, paused_until or 0


def pause_all(session: Session, *, until_us: int) -> None:
    """Send nothing to anyone before `until_us` (a RetryAfter is bot-wide)."""
    session.execute(
        update(SendLane)
        .where(SendLane.lane == FREE, SendLane.paused_until_us < until_us)
        .values(paused_until_us=until_us)
    )


def paused_until(session: Session) -> int:
    return session.scalar(select(SendLane.paused_until_us).where(SendLane.lane == FREE)) or 0


def prune_chats(session: Session, *, before_us: int) -> int:
    """Forget chats whose next allowed send is long past (they may be sent to at once)."""
    return session.execute(delete(SendChatPace).where(SendChatPace.next_at_us < before_us)).rowcount
