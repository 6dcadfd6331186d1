"""The durable inbox: Telegram updates are stored before they are confirmed, then applied.

`Poller` runs its own `getUpdates` loop rather than python-telegram-bot's `Updater`, because the
`Updater` confirms a batch (by asking for the next offset) as soon as it has queued it in memory,
before any handler ran: a crash then loses updates Telegram will never send again. Here a batch
is written to `inbox_updates` (raw JSON, deduplicated by update key) and committed first; only
then does the next `getUpdates` carry the offset that confirms it. Callback queries are answered
right after the store, before any slow work, so no button keeps spinning (including buttons in
groups and on inline messages, which need nothing else). The webhook (`bot.webhook`) stores
into the same table through the same `Intake`.

`Applier` applies the stored updates, strictly in order within a chat and concurrently across
chats, each in one transaction with its replies and its "done" mark (`bot.service`). The poller
hands new rows over in memory; a scan of the table at start-up (and now and then) picks up what
a crash left pending. An update the library cannot parse, or one that fails every try, is set
aside with its error and logged once, and the chat carries on with its next update.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot
from telegram.error import Conflict, InvalidToken, TelegramError
from telegram.warnings import PTBUserWarning

from bot import metrics
from bot.clock import utc_now
from bot.db import inbox_store
from bot.db.database import Database
from bot.db.inbox_store import InboxRow, Received
from bot.db.outbox_store import OutboxRow
from bot.outbox import OutboxSender
from bot.routing import route_update
from bot.service import Route, apply_inbox_update, queue_error_reply, reply_chat

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
# Waits before another try of an update that failed to apply; then it is set aside.
APPLY_RETRY_DELAYS = (0.5, 2.0)
POLL_BACKOFF_MAX = 30.0


def update_key(raw: dict[str, Any]) -> str:
    """The update id plus what makes the update itself unique (message id and date, or the
    callback query id): a redelivered update has the same key, a new one with a reused id (ids
    restart on a new Bot API server) does not."""
    update_id = raw.get("update_id")
    query = raw.get("callback_query")
    if isinstance(query, dict):
        return f"{update_id}:q{query.get('id')}"[:120]
    for kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
        message = raw.get(kind)
        if isinstance(message, dict):
            edited = message.get("edit_date", "")
            return f"{update_id}:m{message.get('message_id')}:{message.get('date')}:{edited}"[:120]
    return str(update_id)[:120]


def chat_key(raw: dict[str, Any]) -> int:
    """Which queue an update joins: its chat, else its user, else 0 (one shared queue). A
    private chat's id is its user's id, so both kinds of update of a runner share a queue."""
    for kind, value in raw.items():
        if not isinstance(value, dict):
            continue
        if kind == "callback_query":
            message = value.get("message")
            if isinstance(message, dict) and isinstance(message.get("chat"), dict):
                return _int(message["chat"].get("id"))
        chat = value.get("chat")
        if isinstance(chat, dict):
            return _int(chat.get("id"))
        user = value.get("from")
        if isinstance(user, dict):
            return _int(user.get("id"))
    return 0


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def received(raw: dict[str, Any]) -> Received:
    return Received(
        update_id=int(raw.get("update_id", 0)),
        update_key=update_key(raw),
        chat_key=chat_key(raw),
        payload=raw,
    )


class Poller:
    """Long-polls `getUpdates`, stores each batch, then confirms it (see module doc)."""

    def __init__(
        self,
        *,
        db: Database,
        bot: Bot,
        on_stored: Callable[[list[InboxRow]], None],
        clock: Callable[[], datetime] = utc_now,
        timeout: int = 30,
        limit: int = 100,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self._db = db
        self._bot = bot
        self.intake = Intake(db=db, bot=bot, on_stored=on_stored, clock=clock)
        self._timeout = timeout
        self._limit = limit
        self._sleep = sleep
        self._offset: int | None = None
        self.stored = 0

    async def run_forever(self) -> None:
        """Poll until cancelled. A rejected token ends the loop (nothing can work without one);
        any other failure is logged in one line and polling goes on after a backoff."""
        failures = 0
        while True:
            try:
                batch = await self._get_updates()
            except InvalidToken:
                raise
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                delay = min(2 ** (failures - 1), POLL_BACKOFF_MAX)
                if isinstance(error, Conflict):
                    log.error("another process polls with this token; retrying in %s s", delay)
                else:
                    log.warning("getUpdates failed (%s); retrying in %s s", brief(error), delay)
                await self._sleep(delay)
                continue
            failures = 0
            if batch:
                await self._store(batch)

    async def _get_updates(self) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "timeout": self._timeout,
            "limit": self._limit,
            "allowed_updates": list(ALLOWED_UPDATES),
        }
        if self._offset is not None:
            params["offset"] = self._offset
        with warnings.catch_warnings():
            # PTB suggests its own get_updates, which parses every update and raises on the
            # first one it cannot read; the raw JSON is what must be stored.
            warnings.simplefilter("ignore", PTBUserWarning)
            result = await self._bot.do_api_request(
                "getUpdates", api_kwargs=params, read_timeout=self._timeout + 10
            )
        return [raw for raw in result if isinstance(raw, dict)] if isinstance(result, list) else []

    async def _store(self, batch: list[dict[str, Any]]) -> None:
        valid = [raw for raw in batch if type(raw.get("update_id")) is int]
        if len(valid) < len(batch):
            # Without an id an update can be neither stored nor confirmed on its own; what has
            # an id is stored and confirmed, which confirms everything below it too.
            log.warning("%s updates without an update id ignored", len(batch) - len(valid))
        if not valid:
            return
        batch = valid
        failures = 0
        while True:
            try:
                rows = await self.intake.store(batch)
                break
            except Exception as error:
                # Not confirmed: the same batch will come again, so only keep trying to store.
                failures += 1
                delay = min(2 ** (failures - 1), POLL_BACKOFF_MAX)
                log.warning("could not store updates (%s); retrying in %s s", brief(error), delay)
                await self._sleep(delay)
        self.stored += len(rows)
        # Stored: the next getUpdates confirms the batch.
        self._offset = max(raw["update_id"] for raw in batch) + 1
        self.intake.hand_over(batch, rows)

    async def confirm(self) -> None:
        """Confirm what was stored, at a clean stop (otherwise Telegram sends it again, and the
        inbox recognises it)."""
        if self._offset is None:
            return
        with contextlib.suppress(Exception), warnings.catch_warnings():
            warnings.simplefilter("ignore", PTBUserWarning)
            await self._bot.do_api_request(
                "getUpdates", api_kwargs={"offset": self._offset, "timeout": 0, "limit": 1}
            )


class Intake:
    """How a received batch enters the inbox, shared by the poller and the webhook (`bot.webhook`):
    `store` commits it (raising when the database fails: the batch is then not confirmed), and
    `hand_over` answers its callback queries at once and gives the new rows to the applier."""

    def __init__(
        self,
        *,
        db: Database,
        bot: Bot,
        on_stored: Callable[[list[InboxRow]], None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._db = db
        self._bot = bot
        self._on_stored = on_stored
        self._clock = clock
        # Answers in flight, kept so the tasks are not garbage-collected before they finish.
        self._answering: set[asyncio.Task[None]] = set()

    async def store(self, batch: list[dict[str, Any]]) -> list[InboxRow]:
        """Store the updates (each with an integer update_id); the rows new to the inbox."""
        updates = [received(raw) for raw in batch]
        rows = await self._db.run(_store_batch, updates=updates, now=self._clock())
        metrics.UPDATES_RECEIVED.inc(len(rows))
        return rows

    def hand_over(self, batch: list[dict[str, Any]], rows: list[InboxRow]) -> None:
        """After `store`: answer every callback query of the batch (redeliveries too: a button
        may still be spinning), then queue the new rows for the applier."""
        for raw in batch:
            query = raw.get("callback_query")
            if isinstance(query, dict) and isinstance(query.get("id"), str):
                task = asyncio.create_task(self._answer_query(query["id"]))
                self._answering.add(task)
                task.add_done_callback(self._answering.discard)
        self._on_stored(rows)

    async def _answer_query(self, query_id: str) -> None:
        try:
            await self._bot.answer_callback_query(query_id)
        except TelegramError as error:
            # An expired query (after a restart) cannot be answered; nothing else depends on it.
            log.debug("could not answer callback query %s: %s", query_id, error)


def _store_batch(session: Any, *, updates: list[Received], now: datetime) -> list[InboxRow]:
    # A redelivery of an update stored before is not returned: it is applied already, or the
    # start-up (or periodic) scan of pending updates takes it.
    return inbox_store.store_updates(session, updates=updates, now=now)


class ChatServing:
    """What every applier shares: its parts, a task per chat being served, a scan now and then
    for work the hand-over missed, and waiting until every chat taken on was dealt with.
    Subclasses give `scan`."""

    def __init__(
        self,
        *,
        db: Database,
        on_applied: Callable[[], None],
        clock: Callable[[], datetime],
        retry_delays: Sequence[float],
        scan_every: float,
        sleep: Callable[[float], Any],
    ) -> None:
        self._db = db
        self._on_applied = on_applied
        self._clock = clock
        self._retry_delays = tuple(retry_delays)
        self._scan_every = scan_every
        self._sleep = sleep
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self.applied = 0
        self.set_aside = 0

    async def scan(self) -> int:
        raise NotImplementedError

    def _count_applied(self) -> None:
        self.applied += 1
        metrics.UPDATES_APPLIED.inc()

    def _count_set_aside(self) -> None:
        self.set_aside += 1
        metrics.UPDATES_SET_ASIDE.inc()

    async def run_forever(self) -> None:
        """Scan now and then until cancelled (new updates arrive through `submit`)."""
        while True:
            try:
                await self.scan()
            except Exception:
                log.exception("inbox scan failed; trying again in %s s", self._scan_every)
            await self._sleep(self._scan_every)

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def idle(self) -> None:
        """Wait until every chat taken on was dealt with."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _finish_within(self, grace: float) -> None:
        """Let the chats being served finish for up to `grace` seconds, then cancel the rest
        (their updates stay pending in the database)."""
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


class Applier(ChatServing):
    """Applies stored updates, in order per chat, chats side by side (see module doc)."""

    def __init__(
        self,
        *,
        db: Database,
        on_applied: Callable[[], None],
        clock: Callable[[], datetime] = utc_now,
        retry_delays: Sequence[float] = APPLY_RETRY_DELAYS,
        scan_every: float = 5.0,
        sleep: Callable[[float], Any] = asyncio.sleep,
        sender: OutboxSender | None = None,
    ) -> None:
        """`sender`: the outbox sender of this process, which claims an update's first reply in
        the transaction that applies it and is handed it after the commit (no wake-up, no
        separate claim); without one, `on_applied` wakes whatever sends."""
        super().__init__(
            db=db,
            on_applied=on_applied,
            clock=clock,
            retry_delays=retry_delays,
            scan_every=scan_every,
            sleep=sleep,
        )
        self._queues: dict[int, deque[InboxRow]] = {}
        self._known: set[int] = set()
        self._sender = sender

    def submit(self, rows: list[InboxRow]) -> None:
        """Queue stored updates (in id order) behind their chat's earlier ones."""
        for row in sorted(rows, key=lambda r: r.id):
            if row.id in self._known:
                continue
            self._known.add(row.id)
            self._queues.setdefault(row.chat_key, deque()).append(row)
            if row.chat_key not in self._tasks:
                self._tasks[row.chat_key] = asyncio.create_task(self._serve(row.chat_key))

    async def scan(self) -> int:
        """Queue every pending update not queued yet (after a crash, or a lost hand-over)."""
        rows = await self._db.run(inbox_store.pending_rows, exclude=sorted(self._known))
        self.submit(rows)
        return len(rows)

    async def stop(self, *, grace: float = 5.0) -> None:
        """Let the updates being applied finish for up to `grace` seconds; the rest stay
        pending in the database and are applied after the restart."""
        for queue in self._queues.values():
            queue.clear()
        await self._finish_within(grace)

    async def _serve(self, chat: int) -> None:
        queue = self._queues[chat]
        try:
            while queue:
                row = queue.popleft()
                try:
                    await self._apply(row)
                finally:
                    self._known.discard(row.id)
        finally:
            del self._tasks[chat]
            if not queue:
                self._queues.pop(chat, None)

    async def _apply(self, row: InboxRow) -> None:
        try:
            route = route_update(row.payload)
        except Exception as error:
            log.warning("update %s cannot be read (%s); set aside", row.update_id, brief(error))
            # The sender is known from the raw update (its chat, or its user: a private chat):
            # tell them their message was lost, as for any update set aside.
            await self._set_aside(row, f"cannot be parsed: {error!r}", tell=row.chat_key > 0)
            return
        attempt = row.attempts
        while True:
            try:
                # Grouped with other chats' applies (and send records) made meanwhile.
                queued, claimed = await self._db.run_grouped(
                    self._apply_and_claim, inbox_id=row.id, route=route, now=self._clock()
                )
            except Exception as error:
                if attempt < len(self._retry_delays):
                    delay = self._retry_delays[attempt]
                    attempt += 1
                    log.warning(
                        "update %s failed (%s); trying again in %s s",
                        row.update_id,
                        brief(error),
                        delay,
                    )
                    with contextlib.suppress(Exception):
                        retry_at = self._clock() + timedelta(seconds=delay)
                        await self._db.run(
                            inbox_store.record_failure,
                            inbox_id=row.id,
                            error=brief(error),
                            retry_at=retry_at,
                            now=self._clock(),
                        )
                    await self._sleep(delay)
                    continue
                log.error("update %s failed every try; set aside", row.update_id, exc_info=True)
                text = "".join(traceback.format_exception_only(error)).strip()
                await self._set_aside(row, text, tell=row.chat_key > 0)
                return
            self._count_applied()
            if claimed is not None and self._sender is not None:
                self._sender.serve(claimed)
            elif queued:
                self._on_applied()
            return

    def _apply_and_claim(
        self, session: Any, *, inbox_id: int, route: Route, now: datetime
    ) -> tuple[int, OutboxRow | None]:
        """Apply the update; when it queued replies, claim the first for this process's sender
        in the same transaction (see `OutboxSender.claim_reply`)."""
        queued = apply_inbox_update(session, inbox_id=inbox_id, route=route, now=now)
        chat_id = reply_chat(route)
        if queued <= 0 or self._sender is None or chat_id is None:
            return queued, None
        return queued, self._sender.claim_reply(session, chat_id=chat_id, now=now)

    async def _set_aside(self, row: InboxRow, error: str, *, tell: bool) -> None:
        """Give up on an update; tell the runner their message was not saved when we know who."""
        self._count_set_aside()

        def record(session: Any, *, now: datetime) -> None:
            inbox_store.record_failure(
                session, inbox_id=row.id, error=error, retry_at=None, now=now
            )
            if tell:
                queue_error_reply(session, chat_id=row.chat_key, now=now)

        try:
            await self._db.run(record, now=self._clock())
        except Exception:
            log.exception("could not set update %s aside", row.update_id)
            return
        if tell:
            self._on_applied()


def brief(error: BaseException) -> str:
    """An error in one line, without a traceback (a log line per failure, not a page)."""
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__
