"""Triage benchmark: how many runner updates per second the bot's runtime handles, how fast, and
what its durable inbox and outbox cost per update.

Runners play the whole sprain conversation (/new, seven answers, three "No"s: 11 updates, the
last answered with three messages) against the real runtime from `bot.app`: `build_bot` and
`BotRuntime` with its poller (long-polling `getUpdates`, storing each batch in `inbox_updates`
before confirming it), applier (one transaction per update: state, replies written to the
outbox, "done" mark), and outbox sender (woken after each commit, sends each chat's replies in
order and records them), on a SQLite file (WAL) in a temp dir. Telegram is a `FakeBotApi`
answered in process by `LocalBotApiRequest`. The driver builds each update with the fake's
runner simulator and queues it at the fake (`enqueue_update`): the bot finds it through
getUpdates, as in production. Each runner sends its next update only once the bot has finished
with the previous one, as a person waits for the reply; "at once" plays all runners
concurrently, "one at a time" plays them one after another (an unloaded bot).

The rate limiter is off (`pace=False`) in every throughput row: with it on, Telegram's overall
30 messages a second would cap every figure at 30 replies a second and measure the limiter, not
the bot. One row runs with it on, runners one at a time, to show what pacing costs a runner:
one message a second per chat means a runner who taps at once waits about a second for each
reply, and a three-message outcome takes two seconds more to arrive.

The same driver runs a bare python-telegram-bot Application (its own `Updater` long-polling the
same fake, one MessageHandler and one CallbackQueryHandler replying with a fixed text, PTB's
default sequential processing) on the same number of updates as the yardstick; then the bot with
every Bot API call delayed by a simulated round trip (half before the fake acts, half after;
getUpdates included), many runners at once against runners one at a time, to show that runners
do not wait on each other's network calls (there each runner plays the conversation up to the
pain score unless `--scaling-updates` says more). The bot runs on `Database.inline`, as on
SQLite in production; `--db both` runs its workloads on `Database.threaded` (before) then
`Database.inline` (after), side by side, and `--db all` adds `Database.asyncio`. The scheduler
of follow-ups is not run: this measures update handling.

Latency per update: from the moment the update is queued at the fake until the bot's last Bot
API call for it has returned (the request layer handed to the bot reports each call; an update
is finished when as many replies as its transaction wrote to the outbox were sent and, for a
button press, its callback query was answered). With a simulated round trip that is half a
round trip after the fake stored the last message, as on a real network. With N runners always
waiting for a reply the mean latency is N / throughput (Little's law): under saturation latency
measures throughput; the "one at a time" rows give the latency of an unloaded bot.

The inbox and outbox are timed by wrapping production functions at run time, inside the
benchmark only (nothing in `bot/` is changed): `bot.db.inbox_store.store_updates` and
`bot.inbox.apply_inbox_update` mark their transaction, whose commit a SQLAlchemy `after_commit`
listener times (the wrappers are put where the runtime looks the names up: `bot.inbox` imports
`apply_inbox_update` from `bot.service`, so patching it in `bot.service` would time nothing);
`bot.outbox.deliver` marks when the sender makes each call. Per update: (a) store, from
queueing the update at the fake to the commit of its row in `inbox_updates` (the long poll's
answer, JSON parsing, the insert); then the wait from that commit to the start of the apply
transaction (the applier's queue and the database thread); (b) the apply transaction, from
the start of `apply_inbox_update` to its commit; (c) outbox, from the apply commit to the
sender's `deliver` call of each reply: the claim, the wait for the send slot when pacing (also
shown on its own, from the limiter's `acquire`), the "sending" mark, and for the second and
third reply of an outcome the sends and records before them; then the `sendMessage` call
itself, until it returned. With `Database.inline` or `Database.threaded` every transaction is
timed too (by wrapping the instance's `run_sync`), by the function run in it: the busy time per
update says which transactions cost what, and how close the one thread running them is to
saturation.
`--transport` says how the bot reaches the fake: in process (`local`, as the figures before
issue 11), or over HTTP on loopback (`FakeBotApiServer`, a thread per connection in this same
process) through the bot's production request layers, `httpx` (PTB's) or `aiohttp`
(bot/request.py, the default); `both` runs the throughput rows on httpx then aiohttp side by
side, before and after, and the later rows on aiohttp. Over HTTP the bare Application keeps
PTB's defaults (HTTPXRequest): it is the yardstick as shipped; `--bare-http same` gives it the
bot's own request layer instead (aiohttp: both sides on the same HTTP client).

Run `python -m bench.triage --help`; the defaults take about ten minutes on two cores, seven of
them in the paced row (`--paced-runners 0` leaves it out). `--profile PREFIX` instead runs the
first throughput row alone under cProfile (the event loop and the database thread) and prints
where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import logging
import math
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from sqlalchemy import event
from sqlalchemy.orm import Session
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest, RequestData

import bot.inbox
import bot.outbox
from bot.app import BotRuntime, build_bot, default_requests
from bot.db import inbox_store
from bot.db.database import Database, InlineDatabase, ThreadedDatabase
from bot.db.migrate import upgrade_to_head
from bot.inbox import chat_key
from bot.service import load_state
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, LocalBotApiRequest
from fakebotapi.http_server import FakeBotApiServer
from flows.types import DONE
from tests.bot.harness import SPRAIN_TAPS, WARNING_SIGNS_ON_THE_SPRAIN_PATH

DbKind = Literal["inline", "threaded", "asyncio"]
# How the bot reaches the fake Bot API: in process, or over HTTP on loopback through PTB's
# httpx transport or the bot's aiohttp one (bot/request.py).
Transport = Literal["local", "httpx", "aiohttp"]
TRANSPORTS: tuple[Transport, ...] = ("local", "httpx", "aiohttp")
Json = dict[str, Any]
# One step of a runner's script: build the next update in the fake without queueing it.
ScriptStep = Callable[[FakeBotApi, int], Json]

# The red-flag and Ottawa questions of the sudden-onset path, all answered "No": home care.
NO_TAPS: tuple[str, ...] = ("No",) * WARNING_SIGNS_ON_THE_SPRAIN_PATH
UPDATES_PER_CONVERSATION = 1 + len(SPRAIN_TAPS) + len(NO_TAPS)
# The scaling workload plays the conversation up to the pain score by default: the per-update
# cost is the same as in the rest of it, and the default run stays shorter.
SCALING_UPDATES_PER_RUNNER = 1 + len(SPRAIN_TAPS)
BARE_REPLY = "Got it."
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
ANSWER_METHOD = "answerCallbackQuery"

# The targets.
TARGET_RATIO = 0.30
TARGET_P99_MS = 5.0

# The warm-up runner compiles templates, fills statement caches and walks every code path once.
WARM_UP_CHAT = 1
FIRST_RUNNER_CHAT = 100_000
# Runners played one at a time: enough updates for a p99 without lengthening the run much.
UNLOADED_RUNNERS = 20
SEQUENTIAL_DELAYED_RUNNERS = 3
PACED_RUNNERS = 20
# A runner whose reply has not come after this long is reported stuck rather than awaited.
REPLY_TIMEOUT_SECONDS = 120.0
# The long poll of the bot and of the bare Application (as in the test harness): an idle poll
# ends every second, which costs nothing measurable and lets both stop promptly.
POLL_TIMEOUT = 1

# Keys of `Session.info` the wrappers set and the commit listener reads.
_STORED = "bench_stored_chats"
_APPLIED = "bench_applied"
_SET_ASIDE = "bench_set_aside_chat"


# --- figures ---------------------------------------------------------------------------------


def percentile_ms(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of durations in seconds, in milliseconds."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[rank - 1] * 1000


def _ms(value: float) -> str:
    """A duration in ms for the tables: three significant figures or so."""
    if math.isnan(value):
        return "-"
    if value >= 1000:
        return f"{value:,.0f} ms"
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


@dataclass
class Stages:
    """Where each update's time went inside the bot (seconds; see the module doc).

    `store`, `wait`, `apply`: one value per update; `outbox`, `slot_wait` (paced rows only),
    `send`: one per reply."""

    store: list[float] = field(default_factory=list)
    wait: list[float] = field(default_factory=list)
    apply: list[float] = field(default_factory=list)
    outbox: list[float] = field(default_factory=list)
    slot_wait: list[float] = field(default_factory=list)
    send: list[float] = field(default_factory=list)

    # Database.inline or .threaded: each transaction's duration, by function name.
    transactions: dict[str, list[float]] = field(default_factory=dict)

    COLUMNS = (
        ("store", "(a) queued -> stored"),
        ("wait", "stored -> apply starts"),
        ("apply", "(b) apply transaction"),
        ("outbox", "(c) apply commit -> sendMessage, per reply"),
        ("slot_wait", "of which waiting for the send slot"),
        ("send", "sendMessage call"),
    )

    def summary(self) -> str:
        return "; ".join(
            f"{name} p50 {percentile_ms(getattr(self, name), 0.5):.2f}"
            f" p99 {percentile_ms(getattr(self, name), 0.99):.2f}"
            for name, _ in self.COLUMNS
            if getattr(self, name)
        )

    def database_summary(self, updates: int, wall_seconds: float) -> str:
        """Time in transactions, per update and by transaction (the busiest first)."""
        if not self.transactions or not updates:
            return ""
        busy = sum(sum(times) for times in self.transactions.values())
        parts = [
            f"{name} {sum(times) / updates * 1000:.2f} ms ({len(times) / updates:.2f}x"
            f" {statistics.fmean(times) * 1000:.2f} ms)"
            for name, times in sorted(self.transactions.items(), key=lambda kv: -sum(kv[1]))
        ]
        return (
            f"in transactions {busy / wall_seconds:.0%} of wall,"
            f" {busy / updates * 1000:.2f} ms per update: " + "; ".join(parts)
        )


@dataclass(frozen=True)
class Measurement:
    """What one workload did: updates, wall time, per-update latencies, finished conversations."""

    label: str
    runners: int
    at_once: bool
    updates: int
    wall_seconds: float
    latencies: tuple[float, ...]
    driver_seconds: float
    conversations_completed: int
    errors: int
    first_error: str | None = None
    stages: Stages | None = None
    # The latency of each runner's last update (the three-message outcome, in full runs).
    last_update_latencies: tuple[float, ...] = ()

    @property
    def updates_per_second(self) -> float:
        return self.updates / self.wall_seconds if self.wall_seconds else math.inf

    def percentile_ms(self, fraction: float) -> float:
        """The nearest-rank percentile of the per-update latencies, in milliseconds."""
        return percentile_ms(self.latencies, fraction)

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000 if self.latencies else math.nan

    @property
    def complete(self) -> bool:
        return (
            self.conversations_completed == self.runners
            and self.errors == 0
            and not self.instrumentation_gap
        )

    def by_step_ms(self, steps: int) -> list[tuple[float, float]] | None:
        """One runner at a time, whole scripts of `steps` updates: each update of the script's
        p50 and largest latency (ms); None when the latencies do not line up with the script."""
        if self.at_once or not self.latencies or len(self.latencies) % steps:
            return None
        return [
            (percentile_ms(self.latencies[i::steps], 0.5), max(self.latencies[i::steps]) * 1000)
            for i in range(steps)
        ]

    @property
    def instrumentation_gap(self) -> bool:
        """Whether the inbox/outbox timing missed updates (a wrapped function was renamed or no
        longer called where it is looked up): then those figures are not to be trusted."""
        return (
            self.stages is not None and self.errors == 0 and len(self.stages.apply) < self.updates
        )

    @property
    def how(self) -> str:
        return "at once" if self.at_once else "one at a time"

    def line(self) -> str:
        line = (
            f"{self.label}: {self.runners} runners {self.how}, {self.updates} updates in "
            f"{self.wall_seconds:.2f} s = {self.updates_per_second:,.0f} updates/s; "
            f"latency p50 {self.percentile_ms(0.50):.2f} ms, p99 {self.percentile_ms(0.99):.2f} ms,"
            f" mean {self.mean_ms:.2f} ms; driver {self.driver_seconds / self.wall_seconds:.0%}"
            f" of wall; conversations completed {self.conversations_completed}/{self.runners}"
        )
        if self.errors:
            line += f"; ERRORS {self.errors} (first: {self.first_error})"
        if self.stages is not None:
            line += f"\n  inbox/outbox ms: {self.stages.summary()}"
            database = self.stages.database_summary(self.updates, self.wall_seconds)
            if database:
                line += f"\n  {database}"
            if self.instrumentation_gap:
                line += (
                    f"\n  INSTRUMENTATION GAP: timed {len(self.stages.apply)} apply transactions"
                    f" for {self.updates} updates"
                )
        return line


class ErrorCounter(logging.Handler):
    """Counts ERROR log records (the bot logs every failed update there) and keeps the first."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first is None:
            error = record.exc_info[1] if record.exc_info else None
            self.first = record.getMessage() + (f": {error!r}" if error is not None else "")


class OneLineFormatter(logging.Formatter):
    """Log records on one line, an exception as its repr: a failing run stays readable."""

    def formatException(self, ei: Any) -> str:
        return repr(ei[1])

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", " | ")


# --- scripts ---------------------------------------------------------------------------------


def bot_script() -> list[ScriptStep]:
    """The full home-care conversation, tapping the buttons the bot actually showed."""

    def tap(label: str) -> ScriptStep:
        return lambda api, chat: api.user_taps(chat, label, enqueue=False)

    steps: list[ScriptStep] = [lambda api, chat: api.user_sends_text(chat, "/new", enqueue=False)]
    steps += [tap(label) for label in [*SPRAIN_TAPS, *NO_TAPS]]
    return steps


def bare_script() -> list[ScriptStep]:
    """As many updates of the same kinds: one command, then presses under the last reply."""

    def press(api: FakeBotApi, chat: int) -> Json:
        last = api.last_message(chat)["message_id"]
        return api.user_presses(chat, last, "tap", enqueue=False, require_button=False)

    steps: list[ScriptStep] = [lambda api, chat: api.user_sends_text(chat, "/new", enqueue=False)]
    steps += [press] * (UPDATES_PER_CONVERSATION - 1)
    return steps


def _in_chat(chat_id: int, step: ScriptStep) -> ScriptStep:
    """`step` played in `chat_id` whatever chat the driver passes (for the warm-up runner)."""
    return lambda api, _chat: step(api, chat_id)


# --- knowing when the bot is done with an update ---------------------------------------------


@dataclass(eq=False)
class Flight:
    """One update in flight: when it was queued, what the bot must still do for it, and the
    times the instrumentation saw it pass. Times are `time.perf_counter()` values."""

    chat: int
    done: asyncio.Future[float]
    query_id: str | None
    # Replies the bot sends for it: known once its apply transaction commits (None until then)
    # for the bot, fixed for the bare Application.
    expected: int | None
    queued_at: float = 0.0
    sent: int = 0
    answered: bool = True
    last_call_at: float = 0.0
    stored_at: float | None = None
    apply_started_at: float | None = None
    applied_at: float | None = None
    set_aside: bool = False
    # When the sender called `deliver` for each reply, and when each send returned, in order
    # (one chat's replies are sent one after another).
    send_starts: list[float] = field(default_factory=list)
    send_ends: list[float] = field(default_factory=list)
    # How long each reply waited for its send slot (the rate limiter; paced rows only).
    slot_waits: list[float] = field(default_factory=list)


class Tracker:
    """Follows every update from the driver's queueing to the bot's last Bot API call for it.

    The request layer reports each call that returned (`call_returned`); the instrumentation
    reports the store and apply commits (from the database thread) and each send. One update is
    in flight per chat at a time (a runner waits for the reply), so everything is keyed by chat.
    """

    def __init__(self) -> None:
        self.flights: dict[int, Flight] = {}
        self.queries: dict[str, int] = {}
        self.stages = Stages()
        self._loop: asyncio.AbstractEventLoop | None = None

    def begin(self, chat: int, update: Json, *, expected: int | None) -> Flight:
        """Register an update about to be queued (before the bot can possibly see it)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        query = update.get("callback_query")
        query_id = query.get("id") if isinstance(query, dict) else None
        flight = Flight(
            chat=chat,
            done=loop.create_future(),
            query_id=query_id,
            expected=expected,
            answered=query_id is None,
        )
        if query_id is not None:
            self.queries[query_id] = chat
        self.flights[chat] = flight
        return flight

    def forget(self, flight: Flight) -> None:
        if self.flights.get(flight.chat) is flight:
            del self.flights[flight.chat]
        if flight.query_id is not None:
            self.queries.pop(flight.query_id, None)

    # Reported from the database thread (or the loop, with Database.asyncio).

    def stored(self, chats: list[int], at: float) -> None:
        for chat in chats:
            flight = self.flights.get(chat)
            if flight is not None and flight.stored_at is None:
                flight.stored_at = at

    def applied(self, chat: int, started: float, at: float, queued: int) -> None:
        flight = self.flights.get(chat)
        if flight is None or flight.applied_at is not None:
            return
        flight.apply_started_at = started
        flight.applied_at = at
        flight.expected = max(queued, 0)
        if flight.expected == 0:
            self._check_soon(chat)

    def set_aside(self, chat: int, at: float) -> None:
        """The update failed every try and the runner was told so (one error message)."""
        flight = self.flights.get(chat)
        if flight is None:
            return
        flight.set_aside = True
        flight.applied_at = at
        flight.expected = 1

    def _check_soon(self, chat: int) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._check_chat, chat)

    def _check_chat(self, chat: int) -> None:
        flight = self.flights.get(chat)
        if flight is not None:
            self._check(flight)

    # Reported on the event loop.

    def sending(self, chat: int, at: float) -> None:
        """The sender calls `deliver` for the chat's next reply."""
        flight = self.flights.get(chat)
        if flight is not None:
            flight.send_starts.append(at)

    def waited_for_slot(self, chat: int, waited: float) -> None:
        flight = self.flights.get(chat)
        if flight is not None:
            flight.slot_waits.append(waited)

    def call_returned(self, method: str, params: dict[str, Any], ok: bool, at: float) -> None:
        if method in SEND_METHODS:
            if not ok:
                return  # the outbox tries again; only a sent message counts
            chat = params.get("chat_id")
            flight = self.flights.get(chat) if isinstance(chat, int) else None
            if flight is None:
                return
            flight.sent += 1
            flight.send_ends.append(at)
        elif method == ANSWER_METHOD:
            chat = self.queries.pop(str(params.get("callback_query_id")), None)
            flight = self.flights.get(chat) if chat is not None else None
            if flight is None:
                return
            flight.answered = True
        else:
            return
        flight.last_call_at = at
        self._check(flight)

    def _check(self, flight: Flight) -> None:
        if flight.done.done() or flight.expected is None:
            return
        if flight.sent < flight.expected or not flight.answered:
            return
        finished = flight.last_call_at or time.perf_counter()
        self.forget(flight)
        self._record_stages(flight)
        flight.done.set_result(finished)

    def _record_stages(self, flight: Flight) -> None:
        if flight.set_aside or flight.applied_at is None:
            return
        if flight.stored_at is None or flight.apply_started_at is None:
            return
        stages = self.stages
        stages.store.append(flight.stored_at - flight.queued_at)
        stages.wait.append(flight.apply_started_at - flight.stored_at)
        stages.apply.append(flight.applied_at - flight.apply_started_at)
        for started, ended in zip(flight.send_starts, flight.send_ends, strict=False):
            stages.outbox.append(started - flight.applied_at)
            stages.send.append(ended - started)
        stages.slot_wait.extend(flight.slot_waits)


class TimedRequest(BaseRequest):
    """Any request layer (in process, httpx or aiohttp) that tells the tracker when each call
    returned to the bot."""

    def __init__(self, inner: BaseRequest, tracker: Tracker) -> None:
        self.inner = inner
        self.tracker = tracker

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        status, body = await self.inner.do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        name = url.rstrip("/").rsplit("/", 1)[-1]
        if request_data is not None and (name in SEND_METHODS or name == ANSWER_METHOD):
            self.tracker.call_returned(
                name, request_data.parameters, status == 200, time.perf_counter()
            )
        return status, body


@dataclass(frozen=True)
class BotApiLink:
    """How a workload reaches the fake: PTB's request layers and the base URL they call."""

    request: BaseRequest
    get_updates_request: BaseRequest
    base_url: str = "https://api.telegram.org/bot"


@contextmanager
def bot_api_link(
    transport: Transport, api: FakeBotApi, tracker: Tracker, *, bare: bool = False
) -> Iterator[BotApiLink]:
    """The fake in process ("local"), or served over HTTP on loopback and reached through the
    bot's production request layers (`bot.app.default_requests`) on httpx or aiohttp; the bare
    Application gets PTB's own defaults (HTTPXRequest) over httpx, and the bot's aiohttp layer
    over aiohttp (`--bare-http same`)."""
    if transport == "local":
        yield BotApiLink(
            TimedRequest(LocalBotApiRequest(api), tracker),
            LocalBotApiRequest(api, read_timeout=POLL_TIMEOUT + 10),
        )
        return
    with FakeBotApiServer(api) as server:
        if bare and transport == "httpx":
            general: BaseRequest = HTTPXRequest(connection_pool_size=256)
            polling: BaseRequest = HTTPXRequest(read_timeout=POLL_TIMEOUT + 10)
        else:
            general, polling = default_requests(transport)
        yield BotApiLink(TimedRequest(general, tracker), polling, server.base_url)


def time_slot_waits(bot_: Any, tracker: Tracker) -> None:
    """Time the waits for send slots of the bot's rate limiter (when it has one): the outbox
    sender takes each slot from this pacer itself, before marking the message `sending`."""
    pacer = getattr(getattr(bot_, "rate_limiter", None), "pacer", None)
    if pacer is None:
        return
    acquire = pacer.acquire

    async def timed_acquire(chat_id: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await acquire(chat_id, *args, **kwargs)
        finally:
            tracker.waited_for_slot(chat_id, time.perf_counter() - started)

    pacer.acquire = timed_acquire


# The applier's transaction applies the update and claims its first reply for the sender.
TRANSACTION_LABELS = {
    "_apply_and_claim": "apply_inbox_update+claim_reply",
    # Database.run_grouped: applies and send records of several chats in one transaction.
    "_each": "grouped apply_inbox_update+claim_reply and _record",
}


def time_transactions(db: Database, tracker: Tracker) -> None:
    """Time every transaction (Database.inline runs `run_sync` on the loop, Database.threaded
    hands it to its thread), by the name of the function run in it."""
    if not isinstance(db, InlineDatabase | ThreadedDatabase):
        return
    run_sync = db.run_sync

    def timed_run_sync(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return run_sync(fn, *args, **kwargs)
        finally:
            name = getattr(fn, "__name__", type(fn).__name__)
            name = TRANSACTION_LABELS.get(name, name)
            # setdefault and append are each atomic under the GIL; the loop only reads.
            tracker.stages.transactions.setdefault(name, []).append(time.perf_counter() - started)

    db.run_sync = timed_run_sync  # type: ignore[method-assign]


@contextmanager
def instrumented(tracker: Tracker) -> Iterator[None]:
    """Time the inbox and the outbox by wrapping production functions where they are looked up
    (see the module doc), and put everything back afterwards."""
    store_updates = inbox_store.store_updates
    apply_inbox_update = bot.inbox.apply_inbox_update
    queue_error_reply = bot.inbox.queue_error_reply
    deliver = bot.outbox.deliver

    def timed_store_updates(session: Session, *, updates: Any, now: Any) -> int:
        updates = list(updates)
        session.info.setdefault(_STORED, []).extend(u.chat_key for u in updates)
        return store_updates(session, updates=updates, now=now)

    @functools.wraps(apply_inbox_update)
    def timed_apply_inbox_update(session: Session, *, inbox_id: int, route: Any, now: Any) -> int:
        started = time.perf_counter()
        queued = apply_inbox_update(session, inbox_id=inbox_id, route=route, now=now)
        sender = getattr(route, "sender", None)
        if sender is not None:
            # A list: grouped transactions (`Database.run_grouped`) apply several updates.
            session.info.setdefault(_APPLIED, []).append((sender.chat_id, started, queued))
        return queued

    def timed_queue_error_reply(session: Session, *, chat_id: int, now: Any) -> None:
        queue_error_reply(session, chat_id=chat_id, now=now)
        session.info.setdefault(_SET_ASIDE, []).append(chat_id)

    async def timed_deliver(bot_: Any, chat_id: int, *args: Any, **kwargs: Any) -> None:
        tracker.sending(chat_id, time.perf_counter())
        await deliver(bot_, chat_id, *args, **kwargs)

    def after_commit(session: Session) -> None:
        info = session.info
        if not (_STORED in info or _APPLIED in info or _SET_ASIDE in info):
            return
        at = time.perf_counter()
        chats = info.pop(_STORED, None)
        if chats:
            tracker.stored(chats, at)
        for chat, started, queued in info.pop(_APPLIED, ()):
            tracker.applied(chat, started, at, queued)
        for chat in info.pop(_SET_ASIDE, ()):
            tracker.set_aside(chat, at)

    event.listen(Session, "after_commit", after_commit)
    inbox_store.store_updates = timed_store_updates  # type: ignore[assignment]
    bot.inbox.apply_inbox_update = timed_apply_inbox_update  # type: ignore[assignment]
    bot.inbox.queue_error_reply = timed_queue_error_reply  # type: ignore[assignment]
    bot.outbox.deliver = timed_deliver  # type: ignore[assignment]
    try:
        yield
    finally:
        inbox_store.store_updates = store_updates  # type: ignore[assignment]
        bot.inbox.apply_inbox_update = apply_inbox_update  # type: ignore[assignment]
        bot.inbox.queue_error_reply = queue_error_reply  # type: ignore[assignment]
        bot.outbox.deliver = deliver  # type: ignore[assignment]
        event.remove(Session, "after_commit", after_commit)


# --- the driver ------------------------------------------------------------------------------


@dataclass
class Driver:
    """Plays runners' scripts through the fake's update queue and collects the timings."""

    api: FakeBotApi
    tracker: Tracker
    # Replies per update when known in advance (the bare Application); None: the bot's apply
    # transaction says.
    expected: int | None = None
    driver_seconds: float = 0.0
    # The stage times of the last `run`.
    measured: Stages = field(default_factory=Stages)

    async def play(
        self,
        chat_id: int,
        script: Sequence[ScriptStep],
        latencies: list[float],
        last: list[float],
    ) -> None:
        """One runner: queue each update, wait for the bot to finish with it, queue the next."""
        latency = math.nan
        for step in script:
            started = time.perf_counter()
            try:
                data = step(self.api, chat_id)
            except LookupError:
                # The bot did not show the button this runner needs (it failed and said so):
                # the runner is stuck, and the completeness check reports it.
                return
            # The update's own chat (the warm-up runner plays in its own chat whatever it is
            # passed), as the inbox keys it.
            flight = self.tracker.begin(chat_key(data), data, expected=self.expected)
            self.api.enqueue_update(data)
            flight.queued_at = queued_at = time.perf_counter()
            self.driver_seconds += queued_at - started
            try:
                finished_at = await asyncio.wait_for(flight.done, timeout=REPLY_TIMEOUT_SECONDS)
            except TimeoutError:
                self.tracker.forget(flight)
                return
            latency = finished_at - queued_at
            latencies.append(latency)
        last.append(latency)

    async def run(
        self, runners: int, script: Sequence[ScriptStep], *, at_once: bool = True
    ) -> tuple[float, list[float], list[float]]:
        """Play `runners` runners, all at once or one after another: the wall time, every
        update's latency and each runner's last update's latency."""
        latencies: list[float] = []
        last: list[float] = []
        self.driver_seconds = 0.0
        self.tracker.stages = Stages()
        chats = [FIRST_RUNNER_CHAT + index for index in range(runners)]
        started = time.perf_counter()
        if at_once:
            async with asyncio.TaskGroup() as group:
                for chat_id in chats:
                    group.create_task(self.play(chat_id, script, latencies, last))
        else:
            for chat_id in chats:
                await self.play(chat_id, script, latencies, last)
        wall = time.perf_counter() - started
        # What the bot does from here on (stopping, the completeness checks) is not timed.
        self.measured, self.tracker.stages = self.tracker.stages, Stages()
        return wall, latencies, last


@dataclass
class Profiler:
    """cProfile of the event loop thread and of the database thread (Database.threaded)."""

    loop: cProfile.Profile = field(default_factory=cProfile.Profile)
    db: cProfile.Profile = field(default_factory=cProfile.Profile)

    async def enable(self, database: Database) -> None:
        # The database's worker thread: its one SQLite thread is the one that runs `db.run`.
        if _threaded(database):
            await database.run(lambda _session: self.db.enable())
        self.loop.enable()

    async def disable(self, database: Database) -> None:
        self.loop.disable()
        if _threaded(database):
            await database.run(lambda _session: self.db.disable())


def _threaded(database: Database) -> bool:
    return isinstance(database, ThreadedDatabase)


# --- the workloads ---------------------------------------------------------------------------


def open_database(kind: DbKind, directory: Path) -> Database:
    """A fresh, migrated SQLite file database of the given kind."""
    url = f"sqlite:///{directory / f'bench-{kind}-{time.monotonic_ns()}.db'}"
    db: Database = getattr(Database, kind)(url)
    upgrade_to_head(db.engine)
    return db


async def measure_bot(
    *,
    runners: int,
    db_kind: DbKind,
    delay: float,
    directory: Path,
    label: str,
    at_once: bool = True,
    updates_per_runner: int = UPDATES_PER_CONVERSATION,
    pace: bool = False,
    profiler: Profiler | None = None,
    transport: Transport = "local",
) -> Measurement:
    """The bot's runtime: each runner plays the first `updates_per_runner` updates of the
    conversation (all of it by default), every Bot API call delayed by `delay` s, the rate
    limiter on only with `pace`, the fake reached through `transport`."""
    script = bot_script()[:updates_per_runner]
    api = FakeBotApi(record_calls=False)  # the call log is for tests; it costs a deep copy
    api.set_delay(delay)
    db = open_database(db_kind, directory)
    tracker = Tracker()
    links = ExitStack()
    link = links.enter_context(bot_api_link(transport, api, tracker))
    telegram_bot = build_bot(
        token=DEFAULT_TOKEN,
        base_url=link.base_url,
        request=link.request,
        get_updates_request=link.get_updates_request,
        pace=pace,
    )
    time_slot_waits(telegram_bot, tracker)
    time_transactions(db, tracker)
    runtime = BotRuntime(
        bot=telegram_bot,
        db=db,
        scheduler_interval=None,
        poll_timeout=POLL_TIMEOUT,
    )
    driver = Driver(api=api, tracker=tracker)
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    try:
        with instrumented(tracker):
            await runtime.start()
            try:
                await driver.run(1, [_in_chat(WARM_UP_CHAT, step) for step in script])
                if profiler is not None:
                    await profiler.enable(db)
                try:
                    wall, latencies, last = await driver.run(runners, script, at_once=at_once)
                finally:
                    if profiler is not None:
                        await profiler.disable(db)
            finally:
                api.release_pollers()
                await runtime.stop()

        def completed(chat_id: int) -> bool:
            # A reply per update, the state stored, and a whole conversation at home care.
            sent = api.sent_to(chat_id)
            state = db.run_sync(load_state, chat_id=chat_id)
            if len(sent) < len(script) or state is None:
                return False
            if len(script) < UPDATES_PER_CONVERSATION:
                return state.step != DONE
            return state.step == DONE and any(
                message.get("text", "").startswith("Home care") for message in sent
            )

        finished = sum(completed(FIRST_RUNNER_CHAT + index) for index in range(runners))
    finally:
        logging.getLogger().removeHandler(errors)
        await db.dispose()
        links.close()
    return Measurement(
        label=label,
        runners=runners,
        at_once=at_once,
        updates=len(latencies),
        wall_seconds=wall,
        latencies=tuple(latencies),
        driver_seconds=driver.driver_seconds,
        conversations_completed=finished,
        errors=errors.count,
        first_error=errors.first,
        stages=driver.measured,
        last_update_latencies=tuple(last),
    )


def build_bare_application(link: BotApiLink) -> Application:
    """python-telegram-bot with PTB's defaults and two handlers that reply with a fixed text."""

    async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, BARE_REPLY)

    async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None and update.effective_chat is not None
        await update.callback_query.answer()
        await context.bot.send_message(update.effective_chat.id, BARE_REPLY)

    app = (
        ApplicationBuilder()
        .token(DEFAULT_TOKEN)
        .base_url(link.base_url)
        .request(link.request)
        .get_updates_request(link.get_updates_request)
        .build()
    )
    app.add_handler(MessageHandler(filters.ALL, on_message))
    app.add_handler(CallbackQueryHandler(on_callback))
    return app


async def measure_bare(*, runners: int, label: str, transport: Transport = "local") -> Measurement:
    """The bare Application, polling the fake with PTB's Updater, on the same driver and number
    of updates, without delay; over HTTP (any `transport` but "local") with PTB's defaults."""
    api = FakeBotApi(record_calls=False)
    tracker = Tracker()
    links = ExitStack()
    app = build_bare_application(
        links.enter_context(bot_api_link(transport, api, tracker, bare=True))
    )
    driver = Driver(api=api, tracker=tracker, expected=1)
    script = bare_script()
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    try:
        async with app:
            assert app.updater is not None
            await app.updater.start_polling(timeout=POLL_TIMEOUT)
            await app.start()
            try:
                await driver.run(1, [_in_chat(WARM_UP_CHAT, step) for step in script])
                wall, latencies, last = await driver.run(runners, script)
            finally:
                api.release_pollers()
                await app.updater.stop()
                await app.stop()
    finally:
        logging.getLogger().removeHandler(errors)
        links.close()

    def completed(chat_id: int) -> bool:
        sent = api.sent_to(chat_id)
        return len(sent) == UPDATES_PER_CONVERSATION and all(
            message["text"] == BARE_REPLY for message in sent
        )

    return Measurement(
        label=label,
        runners=runners,
        at_once=True,
        updates=len(latencies),
        wall_seconds=wall,
        latencies=tuple(latencies),
        driver_seconds=driver.driver_seconds,
        conversations_completed=sum(
            completed(FIRST_RUNNER_CHAT + index) for index in range(runners)
        ),
        errors=errors.count,
        first_error=errors.first,
        last_update_latencies=tuple(last),
    )


# --- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """The command line: workload sizes, simulated round trip, and which Database(s)."""

    runners: int = 200
    delay_ms: float = 50.0
    db: Literal["inline", "threaded", "asyncio", "both", "all"] = "inline"
    concurrency: int = 1000
    scaling_updates: int = SCALING_UPDATES_PER_RUNNER
    paced_runners: int = PACED_RUNNERS
    profile: str | None = None
    profile_top: int = 15
    transport: Literal["local", "httpx", "aiohttp", "both"] = "aiohttp"
    # Over HTTP, the bare Application's request layer: PTB's default (httpx), or the same as the
    # bot's last transport (a like-for-like ratio).
    bare_http: Literal["ptb", "same"] = "ptb"
    # Pairs of (bot, bare) throughput rows; with more than one the verdicts are their medians.
    rounds: int = 1

    @property
    def db_kinds(self) -> tuple[DbKind, ...]:
        if self.db == "both":
            return ("threaded", "inline")
        if self.db == "all":
            return ("threaded", "inline", "asyncio")
        return (self.db,)

    @property
    def transports(self) -> tuple[Transport, ...]:
        """The bot's transports, before (PTB's httpx) then after (aiohttp) with "both"; the
        last one runs the scaling and paced rows and the profile."""
        return ("httpx", "aiohttp") if self.transport == "both" else (self.transport,)

    @property
    def bare_transport(self) -> Transport:
        """The bare Application's: in process with the bot in process, else HTTP (PTB's own,
        or with `bare_http="same"` the bot's last transport)."""
        if self.transport == "local":
            return "local"
        return self.transports[-1] if self.bare_http == "same" else "httpx"


def _reached(transports: Sequence[Transport]) -> str:
    return " / ".join(
        "in process" if t == "local" else f"over HTTP on loopback ({t})" for t in transports
    )


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def summary_tables(results: Sequence[Measurement], stages_label: str) -> list[str]:
    """The figures as Markdown tables (the README's form)."""
    lines = [
        "| workload | updates | updates/s | p50 | p99 |",
        "|---|---|---|---|---|",
    ]
    for m in results:
        lines.append(
            f"| {m.label}, {m.runners} runners {m.how} | {m.updates:,} |"
            f" {m.updates_per_second:,.0f} | {_ms(m.percentile_ms(0.5))} |"
            f" {_ms(m.percentile_ms(0.99))} |"
        )
    staged = [m for m in results if m.stages is not None]
    if staged:
        lines += [
            "",
            f"Inbox and outbox per update ({stages_label}), p50 / p99:",
            "",
            "| workload | " + " | ".join(title for _, title in Stages.COLUMNS) + " |",
            "|---" * (len(Stages.COLUMNS) + 1) + "|",
        ]
        for m in staged:
            assert m.stages is not None
            cells = [
                f"{_ms(percentile_ms(getattr(m.stages, name), 0.5))} /"
                f" {_ms(percentile_ms(getattr(m.stages, name), 0.99))}"
                for name, _ in Stages.COLUMNS
            ]
            lines.append(f"| {m.label}, {m.runners} {m.how} | " + " | ".join(cells) + " |")
    return lines


async def run_benchmark(options: Options, out: TextIO) -> list[Measurement]:
    """Run every workload, print its figures to `out` as it finishes, and return them all."""
    results: list[Measurement] = []

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    def report(measurement: Measurement) -> Measurement:
        say(measurement.line())
        results.append(measurement)
        return measurement

    conclusions: list[str] = []

    def conclude(text: str) -> None:
        say(text)
        conclusions.append(text)

    kinds = options.db_kinds
    last = options.transports[-1]
    delay = options.delay_ms / 1000
    say(
        "# The bot's runtime (poller -> inbox_updates -> applier -> outbox -> sender), updates"
        " queued at the in-process fake Bot API and fetched by long polling; SQLite file (WAL)."
        " Rate limiter OFF (pace=False) except in the paced row: with it on, Telegram's"
        " 30 messages/s overall cap would limit every throughput figure to 30 replies/s."
    )
    with tempfile.TemporaryDirectory(prefix="bench-triage-") as temp:
        directory = Path(temp)

        say(
            f"# 1. Bot throughput: {options.runners} runners x {UPDATES_PER_CONVERSATION} updates,"
            f" Bot API answered without delay, {_reached(options.transports)}"
        )
        loaded: dict[tuple[DbKind, Transport], Measurement] = {}
        unloaded: dict[tuple[DbKind, Transport], Measurement] = {}
        for kind in kinds:
            for transport in options.transports:
                at_once, alone = await measure_throughput(
                    options, kind, transport, directory=directory, prefix=""
                )
                loaded[kind, transport] = report(at_once)
                unloaded[kind, transport] = report(alone)

        say(
            "# 2. Bare python-telegram-bot (its Updater long-polling the same fake, MessageHandler"
            " + CallbackQueryHandler with a fixed reply, default sequential processing, request"
            " layer: PTB's default (httpx) unless --bare-http same), same driver and number of"
            " updates,"
            f" {_reached((options.bare_transport,))}"
        )
        bare = report(
            await measure_bare(
                runners=options.runners,
                label=f"bare PTB, {options.bare_transport}",
                transport=options.bare_transport,
            )
        )
        for (kind, transport), bot_ in loaded.items():
            ratio = bot_.updates_per_second / bare.updates_per_second
            conclude(
                f"ratio bot ({kind} db, {transport}) / bare PTB updates/s: {ratio:.2f}"
                f" (target >= {TARGET_RATIO}: {_verdict(ratio >= TARGET_RATIO)})"
            )
            p99_loaded = bot_.percentile_ms(0.99)
            p99_unloaded = unloaded[kind, transport].percentile_ms(0.99)
            conclude(
                f"p99 ({kind} db, {transport}), target < {TARGET_P99_MS:g} ms: {p99_loaded:.2f} ms"
                f" with {bot_.runners} runners at once ({_verdict(p99_loaded < TARGET_P99_MS)};"
                f" Little's law: {bot_.runners} runners / {bot_.updates_per_second:,.0f}"
                f" updates/s = {bot_.runners / bot_.updates_per_second * 1000:.0f} ms mean),"
                f" {p99_unloaded:.2f} ms unloaded ({_verdict(p99_unloaded < TARGET_P99_MS)})"
            )
            # Which updates make the p99 of one runner: /new and the three-message outcome
            # do more than a tap (effects, several sends), and are 2 of every 11 updates.
            steps = unloaded[kind, transport].by_step_ms(UPDATES_PER_CONVERSATION)
            if steps is not None:
                conclude(
                    f"one at a time ({kind} db, {transport}), p50 / largest by update of the"
                    " conversation (1 = /new, last = the outcome): "
                    + ", ".join(
                        f"{i}: {p50:.1f} / {top:.1f} ms" for i, (p50, top) in enumerate(steps, 1)
                    )
                )

        if options.rounds > 1:
            await repeat_rounds(
                options,
                first=(loaded[kinds[-1], last], unloaded[kinds[-1], last], bare),
                directory=directory,
                say=say,
                conclude=conclude,
            )

        say(
            f"# 3. Scaling: every Bot API call delayed {options.delay_ms:g} ms,"
            f" {options.concurrency} runners x {options.scaling_updates} updates at once against"
            f" runners one at a time, {_reached((last,))}"
        )
        for kind in kinds:
            many = report(
                await measure_bot(
                    runners=options.concurrency,
                    db_kind=kind,
                    delay=delay,
                    directory=directory,
                    label=f"bot, {kind} db, {options.delay_ms:g} ms Bot API",
                    updates_per_runner=options.scaling_updates,
                    transport=last,
                )
            )
            sequential = report(
                await measure_bot(
                    runners=min(options.concurrency, SEQUENTIAL_DELAYED_RUNNERS),
                    db_kind=kind,
                    delay=delay,
                    directory=directory,
                    label=f"bot, {kind} db, {options.delay_ms:g} ms Bot API, sequential",
                    at_once=False,
                    updates_per_runner=options.scaling_updates,
                    transport=last,
                )
            )
            conclude(
                f"scaling ({kind} db): {many.runners} runners at once get"
                f" {many.updates_per_second / sequential.updates_per_second:.1f}x the updates/s"
                f" of one runner at a time ({many.updates_per_second:,.0f} vs"
                f" {sequential.updates_per_second:,.1f})"
            )

        kind = kinds[-1]
        say(
            f"# 4. Rate limiter ON (Telegram's limits: 30 messages/s overall, 1 message/s per"
            f" chat), {options.paced_runners} runners x {UPDATES_PER_CONVERSATION} updates one at"
            " a time, each tapping as soon as the reply arrived, no delay"
        )
        if options.paced_runners < 1:
            say("paced row skipped (--paced-runners 0)")
        else:
            paced = report(
                await measure_bot(
                    runners=options.paced_runners,
                    db_kind=kind,
                    delay=0.0,
                    directory=directory,
                    label=f"bot, {kind} db, paced, unloaded",
                    at_once=False,
                    pace=True,
                    transport=last,
                )
            )
            free = unloaded[kind, last]
            conclude(
                f"pacing cost ({kind} db): per update p50 {paced.percentile_ms(0.5):,.0f} ms"
                f" paced vs {free.percentile_ms(0.5):.2f} ms unpaced; the last update (the"
                f" three-message outcome) p50"
                f" {percentile_ms(paced.last_update_latencies, 0.5):,.0f} ms paced vs"
                f" {percentile_ms(free.last_update_latencies, 0.5):.2f} ms unpaced"
            )

    say("# Summary")
    for line in summary_tables(results, "see the module doc for where each stage starts and ends"):
        say(line)
    say("")
    for line in conclusions:
        say(line)
    return results


async def measure_throughput(
    options: Options, kind: DbKind, transport: Transport, *, directory: Path, prefix: str
) -> tuple[Measurement, Measurement]:
    """Row 1 for one database and transport: the bot with every runner at once, then with
    runners one at a time (the unloaded latency)."""
    loaded = await measure_bot(
        runners=options.runners,
        db_kind=kind,
        delay=0.0,
        directory=directory,
        label=f"{prefix}bot, {kind} db, {transport}",
        transport=transport,
    )
    alone = await measure_bot(
        runners=min(options.runners, UNLOADED_RUNNERS),
        db_kind=kind,
        delay=0.0,
        directory=directory,
        label=f"{prefix}bot, {kind} db, {transport}, unloaded",
        at_once=False,
        transport=transport,
    )
    return loaded, alone


async def repeat_rounds(
    options: Options,
    *,
    first: tuple[Measurement, Measurement, Measurement],
    directory: Path,
    say: Callable[[str], None],
    conclude: Callable[[str], None],
) -> None:
    """Run the last database's and transport's throughput rows again, alternating the bot (at
    once, then one at a time) and the bare Application, `rounds - 1` more times; conclude with
    each round's ratio and unloaded p99 and their medians. On a shared machine one pair of
    rows can move by a third from one minute to the next; the median of rounds run
    alternately is the steadier verdict."""
    kind, transport = options.db_kinds[-1], options.transports[-1]
    say(
        f"# 2b. {options.rounds - 1} more rounds of rows 1 and 2 ({kind} db, {transport}),"
        " alternating bot and bare"
    )
    rounds = [first]
    for number in range(2, options.rounds + 1):
        loaded, alone = await measure_throughput(
            options, kind, transport, directory=directory, prefix=f"round {number}: "
        )
        say(loaded.line())
        say(alone.line())
        bare = await measure_bare(
            runners=options.runners,
            label=f"round {number}: bare PTB, {options.bare_transport}",
            transport=options.bare_transport,
        )
        say(bare.line())
        rounds.append((loaded, alone, bare))
    ratios = [bot_.updates_per_second / bare.updates_per_second for bot_, _, bare in rounds]
    p99s = [alone.percentile_ms(0.99) for _, alone, _ in rounds]
    ratio, p99 = statistics.median(ratios), statistics.median(p99s)
    conclude(
        f"over {len(rounds)} rounds ({kind} db, {transport}): ratio bot / bare per round"
        f" {', '.join(f'{r:.2f}' for r in ratios)}, median {ratio:.2f} (target >="
        f" {TARGET_RATIO}: {_verdict(ratio >= TARGET_RATIO)}); unloaded p99 per round"
        f" {', '.join(f'{p:.2f}' for p in p99s)} ms, median {p99:.2f} ms (target <"
        f" {TARGET_P99_MS:g} ms: {_verdict(p99 < TARGET_P99_MS)})"
    )


async def run_profile(options: Options, out: TextIO) -> list[Measurement]:
    """The first throughput row alone under cProfile; the stats are written next to PREFIX and
    their heads printed."""
    assert options.profile is not None
    profiler = Profiler()
    kind = options.db_kinds[-1]
    with tempfile.TemporaryDirectory(prefix="bench-triage-") as temp:
        measurement = await measure_bot(
            runners=options.runners,
            db_kind=kind,
            delay=0.0,
            directory=Path(temp),
            label=f"bot, {kind} db, {options.transports[-1]} (under cProfile: slower than"
            " unprofiled)",
            profiler=profiler,
            transport=options.transports[-1],
        )
    print(measurement.line(), file=out, flush=True)
    for thread, profile in (("loop", profiler.loop), ("db", profiler.db)):
        path = f"{options.profile}.{thread}.pstats"
        profile.dump_stats(path)
        try:
            stats = pstats.Stats(path, stream=out)
        except TypeError:  # nothing was profiled in that thread (Database.asyncio: no db thread)
            continue
        for order in ("cumulative", "tottime"):
            print(f"# {thread} thread, top {options.profile_top} by {order} ({path})", file=out)
            stats.sort_stats(order).print_stats(options.profile_top)
    return [measurement]


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.triage", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument(
        "--runners", type=int, default=Options.runners,
        help="runners at once in the no-delay throughput workloads (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--delay-ms", type=float, default=Options.delay_ms,
        help="simulated Bot API round trip in the scaling workload (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--db", choices=["inline", "threaded", "asyncio", "both", "all"], default=Options.db,
        help="the Database the bot runs on; both runs threaded (before) then inline (after),"
        " all adds asyncio (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--concurrency", type=int, default=Options.concurrency,
        help="runners at once in the delayed scaling workload (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--scaling-updates", type=int, default=Options.scaling_updates,
        help=f"updates each runner sends in the scaling workload, at most"
        f" {UPDATES_PER_CONVERSATION} (the whole conversation); default %(default)s",
    )  # fmt: skip
    parser.add_argument(
        "--paced-runners", type=int, default=Options.paced_runners,
        help="runners one at a time with the rate limiter on, about 20 s each; 0 leaves the"
        " row out (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", metavar="PREFIX", default=None,
        help="instead of the benchmark, run the first throughput row under cProfile, write"
        " PREFIX.loop.pstats and PREFIX.db.pstats and print their heads",
    )  # fmt: skip
    parser.add_argument(
        "--transport", choices=[*TRANSPORTS, "both"], default=Options.transport,
        help="how the bot reaches the fake Bot API: in process (local), or over HTTP on"
        " loopback through PTB's httpx or the bot's aiohttp request layer; both runs the"
        " throughput rows on httpx then aiohttp, side by side (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--bare-http", choices=["ptb", "same"], default=Options.bare_http,
        help="over HTTP, the bare python-telegram-bot's request layer: PTB's default (httpx),"
        " or the same as the bot's (last) transport (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--rounds", type=int, default=Options.rounds,
        help="pairs of bot and bare throughput rows, run alternately; with more than one the"
        " ratio and unloaded p99 verdicts are their medians (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--profile-top", type=int, default=Options.profile_top,
        help="functions printed per profile listing (default %(default)s)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.runners < 1 or args.concurrency < 1 or args.delay_ms < 0 or args.paced_runners < 0:
        parser.error(
            "--runners and --concurrency must be at least 1, --delay-ms and --paced-runners"
            " at least 0"
        )
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not 1 <= args.scaling_updates <= UPDATES_PER_CONVERSATION:
        parser.error(f"--scaling-updates must be between 1 and {UPDATES_PER_CONVERSATION}")
    return Options(
        runners=args.runners,
        delay_ms=args.delay_ms,
        db=args.db,
        concurrency=args.concurrency,
        scaling_updates=args.scaling_updates,
        paced_runners=args.paced_runners,
        profile=args.profile,
        profile_top=args.profile_top,
        transport=args.transport,
        bare_http=args.bare_http,
        rounds=args.rounds,
    )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the benchmark; exit status 1 when any conversation did not complete."""
    options = parse_options(argv)
    out = out or sys.stdout
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    run = run_profile if options.profile else run_benchmark
    results = asyncio.run(run(options, out))
    incomplete = [m.label for m in results if not m.complete]
    if incomplete:
        print(f"INCOMPLETE: {'; '.join(incomplete)}", file=out)
        return 1
    print("all conversations completed", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
