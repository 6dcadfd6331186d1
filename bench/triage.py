"""Triage benchmark: how many runner updates per second the real bot handles, and how fast.

Runners play the whole sprain conversation (/new, six answers, twelve "No"s: 19 updates, each
answered) against the real Application from `bot.app.build_application`: its per-chat update
processor, handlers, one committed SQLite transaction per update (a file in a temp dir, WAL) and
template rendering. Telegram is a `FakeBotApi` answered in process by `LocalBotApiRequest`.
Updates are built by the fake's runner simulator and put straight into `app.update_queue` (no
long polling); each runner sends its next update only once the bot has finished with the
previous one, as a person waits for the reply, and all runners play at once. The same driver
runs a bare python-telegram-bot Application (one MessageHandler and one CallbackQueryHandler
replying with a fixed text, PTB's default sequential processing) as the yardstick; then the bot
again with every Bot API call delayed by a simulated round trip, many runners at once against
runners one at a time, to show that runners do not wait on each other's network calls (there
each runner plays the conversation up to the pain score unless `--scaling-updates` says more).
`--db both` runs the bot's workloads on `Database.threaded` and on `Database.asyncio`. The
Application's post_init (command registration, the follow-up scheduler) is not run: this measures
update handling.

Latency is measured per update from just before it is put in the update queue until the
Application's update processor returns from it (its `do_process_update` is wrapped on the
instance). PTB awaits the handlers inside that call, and a handler returns only after its last
`sendMessage` (and the callback answer) came back from the Bot API, so the stop time is when the
bot knows its last reply was delivered: with a simulated round trip, half a round trip after the
fake stored the message, as on a real network. The same wrapper wakes the waiting runner, which
costs one future per update instead of every runner re-reading the fake's message lists on each
change. Wall time includes the driver building updates in the fake (its share is printed), for
the bot and the bare Application alike. With N runners always waiting for a reply, the mean
latency is N / throughput (Little's law), so under saturation latency measures throughput; the
"one at a time" lines give the latency of an unloaded bot.

Run `python -m bench.triage --help`; the defaults take about two minutes on two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.app import build_application
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.service import load_state
from flows.questions import Step
from tests.bot.harness import SPRAIN_TAPS, WARNING_SIGNS_ON_THE_SPRAIN_PATH
from tests.fakes.botapi import DEFAULT_TOKEN, FakeBotApi, LocalBotApiRequest

DbKind = Literal["threaded", "asyncio"]
Json = dict[str, Any]
# One step of a runner's script: build the next update in the fake without queueing it.
ScriptStep = Callable[[FakeBotApi, int], Json]

# The red-flag and Ottawa questions of the sudden-onset path, all answered "No": home care.
NO_TAPS: tuple[str, ...] = ("No",) * WARNING_SIGNS_ON_THE_SPRAIN_PATH
UPDATES_PER_CONVERSATION = 1 + len(SPRAIN_TAPS) + len(NO_TAPS)
# The scaling workload plays the conversation up to the pain score by default: the per-update
# cost is the same as in the rest of it, and the default run stays within about two minutes.
SCALING_UPDATES_PER_RUNNER = 1 + len(SPRAIN_TAPS)
BARE_REPLY = "Got it."

# The targets.
TARGET_RATIO = 0.25
TARGET_P99_MS = 5.0

# The warm-up runner compiles templates, fills statement caches and walks every code path once.
WARM_UP_CHAT = 1
FIRST_RUNNER_CHAT = 100_000
# Runners played one at a time: enough updates for a p99 without lengthening the run much.
UNLOADED_RUNNERS = 20
SEQUENTIAL_DELAYED_RUNNERS = 3
# A runner whose reply has not come after this long is reported stuck rather than awaited.
REPLY_TIMEOUT_SECONDS = 120.0


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

    @property
    def updates_per_second(self) -> float:
        return self.updates / self.wall_seconds if self.wall_seconds else math.inf

    def percentile_ms(self, fraction: float) -> float:
        """The nearest-rank percentile of the per-update latencies, in milliseconds."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = max(math.ceil(fraction * len(ordered)), 1)
        return ordered[rank - 1] * 1000

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000 if self.latencies else math.nan

    @property
    def complete(self) -> bool:
        return self.conversations_completed == self.runners and self.errors == 0

    def line(self) -> str:
        how = "at once" if self.at_once else "one at a time"
        line = (
            f"{self.label}: {self.runners} runners {how}, {self.updates} updates in "
            f"{self.wall_seconds:.2f} s = {self.updates_per_second:,.0f} updates/s; "
            f"latency p50 {self.percentile_ms(0.50):.2f} ms, p99 {self.percentile_ms(0.99):.2f} ms,"
            f" mean {self.mean_ms:.2f} ms; driver {self.driver_seconds / self.wall_seconds:.0%}"
            f" of wall; conversations completed {self.conversations_completed}/{self.runners}"
        )
        if self.errors:
            line += f"; ERRORS {self.errors} (first: {self.first_error})"
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


class UpdateTimer:
    """Wraps an Application's update processor to time each update and wake its runner."""

    def __init__(self, app: Application) -> None:
        self._waiting: dict[int, asyncio.Future[float]] = {}
        processor = app.update_processor
        original = processor.do_process_update

        async def timed(update: object, coroutine: Awaitable[Any]) -> None:
            try:
                await original(update, coroutine)
            finally:
                if isinstance(update, Update):
                    done = self._waiting.pop(update.update_id, None)
                    if done is not None and not done.done():
                        done.set_result(time.perf_counter())

        # An instance attribute: `process_update` looks the method up on the instance.
        processor.do_process_update = timed  # type: ignore[method-assign]

    def expect(self, update_id: int) -> asyncio.Future[float]:
        """A future resolved with the perf_counter time the update finished processing."""
        done = asyncio.get_running_loop().create_future()
        self._waiting[update_id] = done
        return done


@dataclass
class Driver:
    """Plays runners' scripts against a started Application and collects the timings."""

    app: Application
    api: FakeBotApi
    timer: UpdateTimer
    driver_seconds: float = 0.0

    async def play(
        self, chat_id: int, script: Sequence[ScriptStep], latencies: list[float]
    ) -> None:
        """One runner: send each update, wait for the bot to finish with it, send the next."""
        for step in script:
            started = time.perf_counter()
            try:
                data = step(self.api, chat_id)
            except LookupError:
                # The bot did not show the button this runner needs (it failed and said so):
                # the runner is stuck, and the completeness check reports it.
                return
            update = Update.de_json(data, self.app.bot)
            done = self.timer.expect(update.update_id)
            put_at = time.perf_counter()
            self.driver_seconds += put_at - started
            self.app.update_queue.put_nowait(update)
            try:
                finished_at = await asyncio.wait_for(done, timeout=REPLY_TIMEOUT_SECONDS)
            except TimeoutError:
                return
            latencies.append(finished_at - put_at)

    async def run(
        self, runners: int, script: Sequence[ScriptStep], *, at_once: bool = True
    ) -> tuple[float, list[float]]:
        """Play `runners` runners, all at once or one after another; wall time and latencies."""
        latencies: list[float] = []
        self.driver_seconds = 0.0
        chats = [FIRST_RUNNER_CHAT + index for index in range(runners)]
        started = time.perf_counter()
        if at_once:
            async with asyncio.TaskGroup() as group:
                for chat_id in chats:
                    group.create_task(self.play(chat_id, script, latencies))
        else:
            for chat_id in chats:
                await self.play(chat_id, script, latencies)
        return time.perf_counter() - started, latencies


async def _measure(
    app: Application,
    api: FakeBotApi,
    *,
    label: str,
    runners: int,
    at_once: bool,
    script: Sequence[ScriptStep],
    completed: Callable[[int], bool],
) -> Measurement:
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    try:
        async with app:
            await app.start()
            try:
                driver = Driver(app=app, api=api, timer=UpdateTimer(app))
                await driver.run(1, [_in_chat(WARM_UP_CHAT, step) for step in script])
                wall, latencies = await driver.run(runners, script, at_once=at_once)
            finally:
                await app.stop()
    finally:
        logging.getLogger().removeHandler(errors)
    return Measurement(
        label=label,
        runners=runners,
        at_once=at_once,
        updates=len(latencies),
        wall_seconds=wall,
        latencies=tuple(latencies),
        driver_seconds=driver.driver_seconds,
        conversations_completed=sum(
            completed(FIRST_RUNNER_CHAT + index) for index in range(runners)
        ),
        errors=errors.count,
        first_error=errors.first,
    )


def _in_chat(chat_id: int, step: ScriptStep) -> ScriptStep:
    """`step` played in `chat_id` whatever chat the driver passes (for the warm-up runner)."""
    return lambda api, _chat: step(api, chat_id)


def open_database(kind: DbKind, directory: Path) -> Database:
    """A fresh, migrated SQLite file database of the given kind."""
    url = f"sqlite:///{directory / f'bench-{kind}-{time.monotonic_ns()}.db'}"
    db = Database.threaded(url) if kind == "threaded" else Database.asyncio(url)
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
) -> Measurement:
    """The real bot: each runner plays the first `updates_per_runner` updates of the
    conversation (all of it by default), every Bot API call delayed by `delay` s."""
    script = bot_script()[:updates_per_runner]
    api = FakeBotApi(record_calls=False)  # the call log is for tests; it costs a deep copy
    api.set_delay(delay)
    db = open_database(db_kind, directory)
    app = build_application(token=DEFAULT_TOKEN, db=db, request=LocalBotApiRequest(api))

    def completed(chat_id: int) -> bool:
        # At least one reply per update, the state stored, and a whole conversation at home care.
        sent = api.sent_to(chat_id)
        state = db.run_sync(load_state, chat_id=chat_id)
        if len(sent) < len(script) or state is None:
            return False
        if len(script) < UPDATES_PER_CONVERSATION:
            return state.step is not Step.DONE
        return state.step is Step.DONE and any(
            message.get("text", "").startswith("Home care") for message in sent
        )

    try:
        return await _measure(
            app,
            api,
            label=label,
            runners=runners,
            at_once=at_once,
            script=script,
            completed=completed,
        )
    finally:
        await db.dispose()


def build_bare_application(api: FakeBotApi) -> Application:
    """python-telegram-bot with PTB's defaults and two handlers that reply with a fixed text."""

    async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, BARE_REPLY)

    async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None and update.effective_chat is not None
        await update.callback_query.answer()
        await context.bot.send_message(update.effective_chat.id, BARE_REPLY)

    app = ApplicationBuilder().token(DEFAULT_TOKEN).request(LocalBotApiRequest(api)).build()
    app.add_handler(MessageHandler(filters.ALL, on_message))
    app.add_handler(CallbackQueryHandler(on_callback))
    return app


async def measure_bare(*, runners: int, label: str) -> Measurement:
    """The bare Application on the same driver and number of updates, without delay."""
    api = FakeBotApi(record_calls=False)  # the call log is for tests; it costs a deep copy

    def completed(chat_id: int) -> bool:
        sent = api.sent_to(chat_id)
        return len(sent) == UPDATES_PER_CONVERSATION and all(
            message["text"] == BARE_REPLY for message in sent
        )

    return await _measure(
        build_bare_application(api),
        api,
        label=label,
        runners=runners,
        at_once=True,
        script=bare_script(),
        completed=completed,
    )


@dataclass(frozen=True)
class Options:
    """The command line: workload sizes, simulated round trip, and which Database(s)."""

    runners: int = 200
    delay_ms: float = 50.0
    db: Literal["threaded", "asyncio", "both"] = "threaded"
    concurrency: int = 1000
    scaling_updates: int = SCALING_UPDATES_PER_RUNNER

    @property
    def db_kinds(self) -> tuple[DbKind, ...]:
        return ("threaded", "asyncio") if self.db == "both" else (self.db,)


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


async def run_benchmark(options: Options, out: TextIO) -> list[Measurement]:
    """Run every workload, print its figures to `out` as it finishes, and return them all."""
    results: list[Measurement] = []

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    def report(measurement: Measurement) -> Measurement:
        say(measurement.line())
        results.append(measurement)
        return measurement

    kinds = options.db_kinds
    delay = options.delay_ms / 1000
    with tempfile.TemporaryDirectory(prefix="bench-triage-") as temp:
        directory = Path(temp)

        say(
            f"# 1. Bot throughput: {options.runners} runners x {UPDATES_PER_CONVERSATION} updates,"
            " Bot API answered in process without delay, SQLite file (WAL)"
        )
        loaded: dict[DbKind, Measurement] = {}
        unloaded: dict[DbKind, Measurement] = {}
        for kind in kinds:
            loaded[kind] = report(
                await measure_bot(
                    runners=options.runners,
                    db_kind=kind,
                    delay=0.0,
                    directory=directory,
                    label=f"bot, {kind} db",
                )
            )
            unloaded[kind] = report(
                await measure_bot(
                    runners=min(options.runners, UNLOADED_RUNNERS),
                    db_kind=kind,
                    delay=0.0,
                    directory=directory,
                    label=f"bot, {kind} db, unloaded",
                    at_once=False,
                )
            )

        say(
            "# 2. Bare python-telegram-bot (MessageHandler + CallbackQueryHandler, fixed reply,"
            " default sequential processing), same driver and number of updates"
        )
        bare = report(await measure_bare(runners=options.runners, label="bare PTB"))
        for kind in kinds:
            bot = loaded[kind]
            ratio = bot.updates_per_second / bare.updates_per_second
            say(
                f"ratio bot ({kind} db) / bare PTB updates/s: {ratio:.2f}"
                f" (target >= {TARGET_RATIO}: {_verdict(ratio >= TARGET_RATIO)})"
            )
            p99_loaded = bot.percentile_ms(0.99)
            p99_unloaded = unloaded[kind].percentile_ms(0.99)
            say(
                f"p99 ({kind} db), target < {TARGET_P99_MS:g} ms: {p99_loaded:.2f} ms with"
                f" {bot.runners} runners at once ({_verdict(p99_loaded < TARGET_P99_MS)}; Little's"
                f" law: {bot.runners} runners / {bot.updates_per_second:,.0f} updates/s ="
                f" {bot.runners / bot.updates_per_second * 1000:.0f} ms mean),"
                f" {p99_unloaded:.2f} ms unloaded ({_verdict(p99_unloaded < TARGET_P99_MS)})"
            )

        say(
            f"# 3. Scaling: every Bot API call delayed {options.delay_ms:g} ms,"
            f" {options.concurrency} runners x {options.scaling_updates} updates at once against"
            " runners one at a time"
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
                )
            )
            say(
                f"scaling ({kind} db): {many.runners} runners at once get"
                f" {many.updates_per_second / sequential.updates_per_second:.1f}x the updates/s"
                f" of one runner at a time ({many.updates_per_second:,.0f} vs"
                f" {sequential.updates_per_second:,.1f})"
            )

    if len(kinds) > 1:
        say("# 4. Databases compared on the same workloads (updates/s, p99)")
        for kind in kinds:
            by_label = {m.label: m for m in results if m.label.startswith(f"bot, {kind} db")}
            say(
                f"{kind}: "
                + "; ".join(
                    f"{label.removeprefix(f'bot, {kind} db').strip(', ') or 'no delay'}"
                    f" ({m.runners} {'at once' if m.at_once else 'one at a time'})"
                    f" {m.updates_per_second:,.0f}/s p99 {m.percentile_ms(0.99):.1f} ms"
                    + (f" ERRORS {m.errors}" if m.errors else "")
                    for label, m in by_label.items()
                )
            )
    return results


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
        "--db", choices=["threaded", "asyncio", "both"], default=Options.db,
        help="the Database the bot runs on; both compares them (default %(default)s)",
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
    args = parser.parse_args(argv)
    if args.runners < 1 or args.concurrency < 1 or args.delay_ms < 0:
        parser.error("--runners and --concurrency must be at least 1, --delay-ms at least 0")
    if not 1 <= args.scaling_updates <= UPDATES_PER_CONVERSATION:
        parser.error(f"--scaling-updates must be between 1 and {UPDATES_PER_CONVERSATION}")
    return Options(
        runners=args.runners,
        delay_ms=args.delay_ms,
        db=args.db,
        concurrency=args.concurrency,
        scaling_updates=args.scaling_updates,
    )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the benchmark; exit status 1 when any conversation did not complete."""
    options = parse_options(argv)
    out = out or sys.stdout
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    results = asyncio.run(run_benchmark(options, out))
    incomplete = [m.label for m in results if not m.complete]
    if incomplete:
        print(f"INCOMPLETE: {'; '.join(incomplete)}", file=out)
        return 1
    print("all conversations completed", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
