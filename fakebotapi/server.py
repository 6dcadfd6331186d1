"""The fake Bot API server's state: what Telegram knows about one bot, and how it answers.

`FakeBotApi` answers the methods the bot uses with the JSON shapes Telegram sends (PTB parses
every answer into its own objects), and it refuses what Telegram refuses (bad HTML, unchanged
edits, oversize callback data, unknown methods) with Telegram's status codes and descriptions,
so the bot meets the same errors here as in production. Tests inject failures (429 with
`retry_after`, 403 for a blocked bot), network delay, and the faults of faults.py at exact
calls; the runner simulator it inherits (simulator.py) queues the updates people cause for
`getUpdates`; inspection helpers say what each chat saw, and `confirmations` and `duplicates`
say when each update was confirmed by a getUpdates offset and what a chat received twice. It
has no transport of its own: `LocalBotApiRequest` (transport.py) plugs it into `telegram.Bot`
in process, `FakeBotApiServer` (http_server.py) serves it over HTTP. The state is guarded by
one lock, so HTTP server threads, a benchmark's driver thread and an asyncio event loop can
share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from fakebotapi.faults import Call, DroppedConnection, Pause, _Fault, _Hold, _Hook, _Match
from fakebotapi.flood import SENDING_METHODS, FloodControl
from fakebotapi.simulator import RunnerSimulator
from fakebotapi.telegram_rules import (
    BLOCKED,
    BOT_COMMAND_NAME_RE,
    CHAT_ACTIONS,
    CONFLICT,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    WEBHOOK_ACTIVE,
    ApiError,
    Json,
    UploadedFile,
    bad_request,
    copy_json,
    formatted,
    inline_keyboard,
    input_file,
    normalise_parameters,
    png_size,
    visible_content,
)

DEFAULT_TOKEN = "123456789:fake-bot-token-for-tests"
# A paused call waits for its release this long at most when the fake runs in an event loop (a
# forgotten pause must not hang a test run forever); over HTTP it waits until the server stops.
MAX_ASYNC_PAUSE = 3600.0

T = TypeVar("T")
# The `result` of a call the fake has not performed yet (None is a real result).
_NOT_PERFORMED: Any = object()


@dataclass(frozen=True)
class Upload:
    """A file the bot sent with sendPhoto or sendDocument, kept so tests can check the bytes."""

    method: str
    chat_id: int
    message_id: int
    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class Confirmation:
    """An update a getUpdates `offset` confirmed: Telegram forgets it and never sends it again.

    `at` is the wall clock (`time.time()`) when the fake applied the confirming offset (a
    getUpdates paused before delivery confirms nothing until released), comparable with what
    another process records; `deliveries` is how many getUpdates answers had carried it.
    """

    update_id: int
    offset: int
    at: float
    deliveries: int


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FakeBotApi(RunnerSimulator):
    """Everything a fake Telegram server knows about one bot, with no transport of its own.

    Entry points: `handle` (blocking; HTTP server threads) and `handle_async` (the event loop);
    `respond`/`respond_async` wrap them into an HTTP status and JSON body.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "ankle_test_bot",
        bot_name: str = "Ankle Bot",
        delay: float = 0.0,
        clock: Callable[[], datetime] | None = None,
        check_token: bool = True,
        record_calls: bool = True,
        flood: FloodControl | None = None,
    ) -> None:
        """`record_calls=False` keeps `calls` empty, for benchmarks making millions of calls.
        `flood`: answer sends over Telegram's flood limits with 429 (off by default: flood.py)."""
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("a bot token looks like '<bot id digits>:<secret>'")
        self.token = token
        self.check_token = check_token
        self.record_calls = record_calls
        self.delay = delay
        self.flood = flood
        self.method_delays: dict[str, float] = {}
        self._clock = clock or _utc_now
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._bot_user: Json = {
            "id": int(bot_id),
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self._updates: deque[Json] = deque()
        self._last_update_id = 0
        self._allowed_updates: list[str] | None = None
        # What setWebhook registered (url, secret_token, max_connections), or None: polling.
        self._webhook: Json | None = None
        self._webhook_error: Json = {}
        self._poll_ticket = 0
        self._wake_epoch = 0
        # Faults, pauses and hooks, each in the order they were set up: the first that matches
        # a call applies (hooks: every one that matches).
        self._faults: list[_Fault] = []
        self._armed_pauses: list[Pause] = []
        self._pauses: dict[int, Pause] = {}
        self._pause_numbers = itertools.count(1)
        self._held: list[_Hold] = []
        self._hooks: list[_Hook] = []
        self._hook_errors: list[BaseException] = []
        self._dropped: list[Json] = []
        self._confirmations: list[Confirmation] = []
        self._confirmed: dict[int, Confirmation] = {}
        self._deliveries: dict[int, list[float]] = defaultdict(list)
        self._blocked: set[int] = set()
        self._chats: dict[int, Json] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[int, dict[int, Json]] = defaultdict(dict)
        self._events: dict[int, list[Json]] = defaultdict(list)
        self._open_queries: set[str] = set()
        self._query_ids = itertools.count(1)
        self._file_numbers = itertools.count(1)
        self._files: dict[str, Any] = {}
        self._commands: dict[tuple[str, str], list[Json]] = {}
        self._callback_answers: list[Json] = []
        self._calls: list[tuple[str, Json]] = []
        self._uploads: list[Upload] = []
        self._chat_actions: list[tuple[int | str, str]] = []
        self._methods: dict[str, tuple[str, Callable[[Json, Mapping[str, UploadedFile]], Any]]] = {
            name.lower(): (name, implementation)
            for name, implementation in [
                ("getMe", self._get_me),
                ("setWebhook", self._set_webhook),
                ("deleteWebhook", self._delete_webhook),
                ("getWebhookInfo", self._get_webhook_info),
                ("getUpdates", self._get_updates_now),
                ("setMyCommands", self._set_my_commands),
                ("getMyCommands", self._get_my_commands),
                ("sendMessage", self._send_message),
                ("editMessageText", self._edit_message_text),
                ("editMessageReplyMarkup", self._edit_message_reply_markup),
                ("answerCallbackQuery", self._answer_callback_query),
                ("sendPhoto", self._send_photo),
                ("sendDocument", self._send_document),
                ("sendChatAction", self._send_chat_action),
                ("close", self._true),
                ("logOut", self._true),
            ]
        }

    # ----------------------------------------------------------------------------------------
    # Configuration: failures, delays, blocked runners

    @property
    def bot_user(self) -> Json:
        """The bot as a Telegram User object (what `getMe` describes)."""
        return dict(self._bot_user)

    def accepts_token(self, token: str) -> bool:
        """Whether a request carrying `token` is answered (otherwise 401 Unauthorized)."""
        return not self.check_token or token == self.token

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        text_contains: str | None = None,
        when_text_contains: str | None = None,
        chat_id: int | str | None = None,
        when: Callable[[Json], bool] | None = None,
        count: int = 1,
    ) -> None:
        """Make the next call of `method` fail with this error, without performing it.

        Failures queue up in order. A targeted one (`text_contains`, or its alias
        `when_text_contains`, on the `text` or `caption` parameter; `chat_id`; `when(params)`)
        fails only a call that matches and lets the others through; `count` fails that many
        matching calls. For a 429, pass `parameters={"retry_after": seconds}`.
        """
        if text_contains is not None and when_text_contains is not None:
            raise ValueError("give text_contains or when_text_contains, not both")
        match = self._match(
            method, text_contains=text_contains or when_text_contains, chat_id=chat_id, when=when
        )
        error = (error_code, description, dict(parameters) if parameters else None)
        self._add_fault(_Fault("fail", match, False, count, error=error))

    def reset_next(
        self,
        method: str,
        *,
        after_delivery: bool,
        text_contains: str | None = None,
        chat_id: int | str | None = None,
        confirms: int | None = None,
        delivers: int | None = None,
        when: Callable[[Json], bool] | None = None,
        count: int = 1,
    ) -> None:
        """Close the connection of the next matching call without answering.

        With `after_delivery=False` the call never takes effect; with `after_delivery=True` it
        does (the message is in the chat, a getUpdates offset has confirmed its updates) but the
        client sees only the dropped connection: PTB raises NetworkError in both cases.
        `confirms=N` matches a getUpdates whose offset confirms update N; `delivers=N` (with
        `after_delivery=True`) a getUpdates whose answer carries update N. After-delivery faults
        only hit calls the fake accepted: a refused call has nothing delivered.
        """
        match = self._match(
            method,
            text_contains=text_contains,
            chat_id=chat_id,
            confirms=confirms,
            delivers=delivers,
            when=when,
            after_delivery=after_delivery,
        )
        self._add_fault(_Fault("reset", match, after_delivery, count))

    def hang_next(
        self,
        method: str,
        seconds: float,
        *,
        after_delivery: bool = False,
        text_contains: str | None = None,
        chat_id: int | str | None = None,
        confirms: int | None = None,
        delivers: int | None = None,
        when: Callable[[Json], bool] | None = None,
        count: int = 1,
    ) -> None:
        """Let the next matching call go unanswered for `seconds`, then close its connection.

        A client with a shorter timeout times out (PTB: TimedOut); one that waits longer sees
        the connection dropped (NetworkError). The call takes effect first with
        `after_delivery=True` (a timed-out send that did reach the chat), never otherwise. For
        a slow answer that does arrive, use `set_delay`. Matching as in `reset_next`.
        """
        if seconds < 0:
            raise ValueError("a hang lasts zero seconds or more")
        match = self._match(
            method,
            text_contains=text_contains,
            chat_id=chat_id,
            confirms=confirms,
            delivers=delivers,
            when=when,
            after_delivery=after_delivery,
        )
        self._add_fault(_Fault("hang", match, after_delivery, count, seconds=float(seconds)))

    def pause_next(
        self,
        method: str,
        *,
        after_delivery: bool = False,
        text_contains: str | None = None,
        chat_id: int | str | None = None,
        confirms: int | None = None,
        delivers: int | None = None,
        when: Callable[[Json], bool] | None = None,
    ) -> Pause:
        """Hold the next matching call until the test releases it; returns the `Pause`.

        Before delivery the call has reached the server and not taken effect; after delivery
        it has taken effect and its answer is held. `pause.wait()` (or `wait_paused()`) returns
        once a call is held, which is when an end-to-end test kills the bot process; then
        `pause.release()` lets it carry on, `release(drop=True)` drops its connection. Stopping
        the HTTP server drops held calls. Matching as in `reset_next`.
        """
        match = self._match(
            method,
            text_contains=text_contains,
            chat_id=chat_id,
            confirms=confirms,
            delivers=delivers,
            when=when,
            after_delivery=after_delivery,
        )
        with self._lock:
            pause = Pause(self, next(self._pause_numbers), match, after_delivery=after_delivery)
            self._pauses[pause.id] = pause
            self._armed_pauses.append(pause)
            return pause

    def on_call(
        self,
        method: str,
        callback: Callable[[Call], Any],
        *,
        after_delivery: bool = False,
        text_contains: str | None = None,
        chat_id: int | str | None = None,
        confirms: int | None = None,
        delivers: int | None = None,
        when: Callable[[Json], bool] | None = None,
        once: bool = False,
    ) -> Callable[[], None]:
        """Run `callback(Call)` when a matching call arrives (before it takes effect) or, with
        `after_delivery=True`, once it took effect and before its answer goes out. Returns a
        function that removes the hook; `once=True` removes it after the first call.

        The callback runs in the thread serving the call (the event loop, in process), without
        the fake's lock: it may inspect the bot's database or kill the bot process. What it
        raises is kept in `hook_errors` and the call carries on. Matching as in `reset_next`.
        """
        match = self._match(
            method,
            text_contains=text_contains,
            chat_id=chat_id,
            confirms=confirms,
            delivers=delivers,
            when=when,
            after_delivery=after_delivery,
        )
        hook = _Hook(match, callback, after_delivery, once)
        with self._lock:
            self._hooks.append(hook)

        def remove() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._hooks.remove(hook)

        return remove

    def clear_faults(self) -> None:
        """Forget every fault not yet used up and disarm pauses no call has reached."""
        with self._lock:
            self._faults.clear()
            for pause in self._armed_pauses:
                pause.state = "released"
            self._armed_pauses.clear()
            self._notify()

    @property
    def armed_faults(self) -> list[Json]:
        """The faults still waiting for a call, in order (empty once all fired)."""
        with self._lock:
            return [
                {
                    "kind": fault.kind,
                    **fault.match.describe(),
                    "after_delivery": fault.after_delivery,
                    "remaining": fault.remaining,
                }
                for fault in self._faults
            ]

    def _match(
        self,
        method: str,
        *,
        text_contains: str | None = None,
        chat_id: int | str | None = None,
        confirms: int | None = None,
        delivers: int | None = None,
        when: Callable[[Json], bool] | None = None,
        after_delivery: bool = False,
    ) -> _Match:
        known = self._methods.get(method.lower())
        if known is None:
            # A typo would otherwise make a fault that silently never fires.
            raise ValueError(f"the fake Bot API has no method {method!r}")
        name = known[0]
        if (confirms is not None or delivers is not None) and name != "getUpdates":
            raise ValueError("confirms and delivers describe getUpdates calls")
        if delivers is not None and not after_delivery:
            raise ValueError(
                "the updates a getUpdates answer delivers are known only once it ran: "
                "use after_delivery=True"
            )
        return _Match(name, text_contains, chat_id, confirms, delivers, when)

    def _add_fault(self, fault: _Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(fault)

    def set_delay(self, seconds: float, *, method: str | None = None) -> None:
        """Simulate a network round trip of `seconds` on every call, or on one method only.

        Half of it passes before the fake acts and half after, so a client that times out may
        have had its message delivered, as with a real network.
        """
        if method is None:
            self.delay = seconds
        else:
            self.method_delays[method.lower()] = seconds

    def user_blocks_bot(self, chat_id: int) -> None:
        """From now on sends to this chat fail with 403 "bot was blocked by the user"."""
        with self._lock:
            self._blocked.add(chat_id)

    def user_unblocks_bot(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.discard(chat_id)

    # ----------------------------------------------------------------------------------------
    # Entry points

    def handle(
        self,
        method: str,
        params: Mapping[str, Any],
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[bool, Any]:
        """Answer one Bot API call, blocking while `getUpdates` long-polls.

        Returns `(True, result)` or `(False, error body)` where the body is what Telegram sends
        (`ok`, `error_code`, `description`, maybe `parameters`). Raises `DroppedConnection` when
        an injected reset or hang ends the call without an answer.
        """
        delay = self._delay_for(method)
        if delay:
            time.sleep(delay / 2)
        try:
            name, normalised = self._admit(method, params)
            self._wait_hold(self._checkpoint(name, normalised, _NOT_PERFORMED))
            self._wait_hold(self._take_fault(name, normalised, _NOT_PERFORMED))
            if name == "getUpdates":
                result = self._get_updates_blocking(normalised)
            else:
                result = self._run(name, normalised, files or {})
            self._wait_hold(self._checkpoint(name, normalised, result))
            self._wait_hold(self._take_fault(name, normalised, result))
            outcome: tuple[bool, Any] = (True, result)
        except ApiError as error:
            outcome = (False, error.body())
        if delay:
            time.sleep(delay / 2)
        return outcome

    async def handle_async(
        self,
        method: str,
        params: Mapping[str, Any],
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[bool, Any]:
        """`handle` for the event loop: long polls, delays, hangs and pauses wait without
        blocking the loop."""
        delay = self._delay_for(method)
        if delay:
            await asyncio.sleep(delay / 2)
        try:
            name, normalised = self._admit(method, params)
            await self._wait_hold_async(self._checkpoint(name, normalised, _NOT_PERFORMED))
            await self._wait_hold_async(self._take_fault(name, normalised, _NOT_PERFORMED))
            if name == "getUpdates":
                result = await self._get_updates_waiting(normalised)
            else:
                result = self._run(name, normalised, files or {})
            await self._wait_hold_async(self._checkpoint(name, normalised, result))
            await self._wait_hold_async(self._take_fault(name, normalised, result))
            outcome: tuple[bool, Any] = (True, result)
        except ApiError as error:
            outcome = (False, error.body())
        if delay:
            await asyncio.sleep(delay / 2)
        return outcome

    def respond(
        self,
        method: str,
        params: Mapping[str, Any],
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[int, Json]:
        """`handle` as an HTTP status code and the JSON body Telegram would send (or
        `DroppedConnection` when there is to be no answer)."""
        return _as_response(self.handle(method, params, files))

    async def respond_async(
        self,
        method: str,
        params: Mapping[str, Any],
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[int, Json]:
        """`handle_async` as an HTTP status code and the JSON body Telegram would send."""
        return _as_response(await self.handle_async(method, params, files))

    def _delay_for(self, method: str) -> float:
        return self.method_delays.get(method.lower(), self.delay)

    def _admit(self, method: str, params: Mapping[str, Any]) -> tuple[str, Json]:
        """Log the call and resolve the method (names are case-insensitive)."""
        with self._lock:
            known = self._methods.get(method.lower())
            name = known[0] if known else method
            try:
                normalised = normalise_parameters(params)
            except ApiError:
                if self.record_calls:
                    self._calls.append((name, copy_json(dict(params))))
                raise
            if self.record_calls:
                self._calls.append((name, copy_json(normalised)))
            if known is None:
                raise ApiError(404, "Not Found: method not found")
            return known[0], normalised

    # ----------------------------------------------------------------------------------------
    # Faults, pauses and hooks at two points of a call: when it arrives (`result` is
    # _NOT_PERFORMED) and once it took effect (`result` is what the fake will answer)

    def _checkpoint(self, name: str, params: Json, result: Any) -> Pause | None:
        """Run the matching `on_call` hooks, then hold the call at the first matching pause."""
        after = result is not _NOT_PERFORMED
        with self._lock:
            if not self._hooks and not self._armed_pauses:
                return None  # the common case, kept cheap for benchmarks
            hooks = [
                hook
                for hook in self._hooks
                if hook.after_delivery == after and hook.match.matches(name, params, result)
            ]
            for hook in hooks:
                if hook.once:
                    self._hooks.remove(hook)
        if hooks:
            # Outside the lock: a callback may take its time (read a database, kill a process).
            call = Call(name, copy_json(params), after, copy_json(result) if after else None)
        for hook in hooks:
            try:
                hook.callback(call)
            except Exception as error:  # the call carries on; the test reads hook_errors
                with self._lock:
                    self._hook_errors.append(error)
        with self._lock:
            for pause in self._armed_pauses:
                if pause.after_delivery == after and pause.match.matches(name, params, result):
                    self._armed_pauses.remove(pause)
                    pause.state = "blocked"
                    pause.params = copy_json(params)
                    pause.result = copy_json(result) if after else None
                    self._held.append(pause)
                    self._notify()
                    return pause
        return None

    def _take_fault(self, name: str, params: Json, result: Any) -> _Hold | None:
        """Use up the first matching fault: raise for a failure or a reset, return a hang."""
        after = result is not _NOT_PERFORMED
        with self._lock:
            if not self._faults:
                return None
            for fault in self._faults:
                if fault.after_delivery == after and fault.match.matches(name, params, result):
                    break
            else:
                return None
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            if fault.kind == "fail":
                assert fault.error is not None
                raise ApiError(*fault.error)
            if fault.kind == "reset":
                raise self._drop(name, params, delivered=after)
            hang = _Hold(name, after_delivery=after, deadline=time.monotonic() + fault.seconds)
            hang.params = copy_json(params)
            self._held.append(hang)
            self._notify()
            return hang

    def _wait_hold(self, hold: _Hold | None) -> None:
        """Block this thread while the call is held; raise DroppedConnection if it is dropped."""
        if hold is None:
            return
        with self._lock:
            while hold.state == "blocked":
                remaining = None if hold.deadline is None else hold.deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    hold.state = "dropped"
                    break
                self._changed.wait(remaining)
            self._end_hold(hold)

    async def _wait_hold_async(self, hold: _Hold | None) -> None:
        """`_wait_hold` for the event loop; a client that gives up abandons the held call."""
        if hold is None:
            return

        def ended() -> str | None:
            expired = hold.deadline is not None and time.monotonic() >= hold.deadline
            if expired and hold.state == "blocked":
                hold.state = "dropped"
            return None if hold.state == "blocked" else hold.state

        within = MAX_ASYNC_PAUSE if hold.deadline is None else hold.deadline - time.monotonic()
        try:
            await self._wait_async(ended, within, on_timeout=lambda: "dropped")
        except BaseException:
            with self._lock:
                if hold.state == "blocked":
                    hold.state = "abandoned"
                with contextlib.suppress(ValueError):
                    self._held.remove(hold)
                self._notify()
            raise
        with self._lock:
            if hold.state == "blocked":
                hold.state = "dropped"
            self._end_hold(hold)

    def _end_hold(self, hold: _Hold) -> None:
        with contextlib.suppress(ValueError):
            self._held.remove(hold)
        self._notify()
        if hold.state == "dropped":
            raise self._drop(hold.method, hold.params or {}, delivered=hold.after_delivery)

    def _drop(self, name: str, params: Json, *, delivered: bool) -> DroppedConnection:
        self._dropped.append({"method": name, "params": copy_json(params), "delivered": delivered})
        return DroppedConnection(name, delivered=delivered)

    @property
    def paused(self) -> list[Pause]:
        """The pauses holding a call right now, in the order the calls arrived."""
        with self._lock:
            return [hold for hold in self._held if isinstance(hold, Pause)]

    def pause(self, pause_id: int) -> Pause:
        """A pause by its `id` (for the HTTP control API)."""
        with self._lock:
            found = self._pauses.get(pause_id)
            if found is None:
                raise LookupError(f"no pause {pause_id}")
            return found

    def wait_paused(self, *, within: float = 5.0) -> Pause:
        """Block until some call is held at a pause, and return that pause."""
        return self.wait_until(lambda: next(iter(self.paused), None), within=within)

    def release_paused(self, *, drop: bool = False) -> int:
        """Release every held call (see `Pause.release`); returns how many there were."""
        held = self.paused
        for pause in held:
            pause.release(drop=drop)
        return len(held)

    def drop_held_calls(self) -> int:
        """End every paused or hanging call by dropping its connection (a stopping server)."""
        with self._lock:
            held = [hold for hold in self._held if hold.state == "blocked"]
            for hold in held:
                hold.state = "dropped"
            self._notify()
            return len(held)

    @property
    def hook_errors(self) -> list[BaseException]:
        """What `on_call` callbacks raised, in order."""
        with self._lock:
            return list(self._hook_errors)

    @property
    def dropped_calls(self) -> list[Json]:
        """Calls ended by closing the connection: method, params, and whether delivered."""
        with self._lock:
            return copy_json(self._dropped)

    def _run(self, name: str, params: Json, files: Mapping[str, UploadedFile]) -> Any:
        with self._lock:
            if self.flood is not None and name in SENDING_METHODS:
                self.flood.admit(
                    self._sendable_chat(params), paid=bool(params.get("allow_paid_broadcast"))
                )
            result = self._methods[name.lower()][1](params, files)
            self._notify()
            return copy_json(result)

    def _notify(self) -> None:
        """Wake everyone waiting for a change: long polls and `wait_until`/`wait_for` callers."""
        self._changed.notify_all()
        for loop, event in list(self._async_waiters):
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop is closed; its waiter can never run again
                self._async_waiters.remove((loop, event))

    # ----------------------------------------------------------------------------------------
    # getUpdates: confirmation by offset, long polling, one poller at a time

    def _start_poll(self, params: Json) -> tuple[int, int]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_ACTIVE)
        offset = params.get("offset")
        if offset:
            if offset > 0:
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._confirm(self._updates.popleft(), offset)
            else:
                while len(self._updates) > -offset:
                    self._confirm(self._updates.popleft(), offset)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self._allowed_updates = list(allowed) or None
        # A new getUpdates ends the one still waiting, as on Telegram (409 for the old one).
        self._poll_ticket += 1
        self._notify()
        return self._poll_ticket, self._wake_epoch

    def _poll_result(self, params: Json, ticket: int, epoch: int) -> list[Json] | None:
        if ticket != self._poll_ticket:
            raise ApiError(409, CONFLICT)
        if self._updates:
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            answer = list(itertools.islice(self._updates, limit))
            if self.record_calls:
                now = time.time()
                for update in answer:
                    self._deliveries[update["update_id"]].append(now)
            return copy_json(answer)
        if epoch != self._wake_epoch:
            return []
        return None

    def _confirm(self, update: Json, offset: int) -> None:
        """Note that an offset confirmed this update (skipped with record_calls=False)."""
        if not self.record_calls:
            return
        update_id = update["update_id"]
        confirmation = Confirmation(
            update_id, offset, time.time(), len(self._deliveries.get(update_id, ()))
        )
        self._confirmations.append(confirmation)
        self._confirmed.setdefault(update_id, confirmation)

    def _get_updates_now(self, params: Json, files: Mapping[str, UploadedFile]) -> list[Json]:
        """getUpdates without waiting; `handle` and `handle_async` call the waiting variants."""
        ticket, epoch = self._start_poll(params)
        return self._poll_result(params, ticket, epoch) or []

    def _get_updates_blocking(self, params: Json) -> list[Json]:
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        with self._lock:
            ticket, epoch = self._start_poll(params)
            while True:
                result = self._poll_result(params, ticket, epoch)
                if result is not None:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._changed.wait(remaining)

    async def _get_updates_waiting(self, params: Json) -> list[Json]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(params.get("timeout") or 0)
        with self._lock:
            ticket, epoch = self._start_poll(params)

        def ready() -> list[Json] | None:
            result = self._poll_result(params, ticket, epoch)
            if result is None and loop.time() >= deadline:
                return []
            return result

        return await self._wait_async(ready, deadline - loop.time(), on_timeout=list)

    def release_pollers(self) -> None:
        """End every waiting long poll now with no updates (a server shutting down does this)."""
        with self._lock:
            self._wake_epoch += 1
            self._notify()

    # ----------------------------------------------------------------------------------------
    # Bot API methods (called with the lock held; they raise ApiError to refuse)

    def _true(self, params: Json, files: Mapping[str, UploadedFile]) -> bool:
        return True

    def _get_me(self, params: Json, files: Mapping[str, UploadedFile]) -> Json:
        return {
            **self._bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _set_webhook(self, params: Json, files: Mapping[str, UploadedFile]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params, files)
        # Telegram wants https; the fake also takes http, for a server on loopback.
        if not url.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        max_connections = int(params.get("max_connections") or 40)
        if not 1 <= max_connections <= 100:
            raise ApiError(400, "Bad Request: bad webhook: max_connections must be 1-100")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self._allowed_updates = list(allowed) or None
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": max_connections,
        }
        self._webhook_error = {}
        # A long poll still waiting ends, as on Telegram.
        self._poll_ticket += 1
        return True

    def _delete_webhook(self, params: Json, files: Mapping[str, UploadedFile]) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = None
        return True

    def _get_webhook_info(self, params: Json, files: Mapping[str, UploadedFile]) -> Json:
        info: Json = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook is not None:
            info["max_connections"] = self._webhook["max_connections"]
            if self._allowed_updates is not None:
                info["allowed_updates"] = list(self._allowed_updates)
            info.update(self._webhook_error)
        return info

    # ----------------------------------------------------------------------------------------
    # Webhook delivery (the HTTP side is fakebotapi.webhook)

    @property
    def webhook(self) -> Json | None:
        """What setWebhook registered (url, secret_token, max_connections), or None."""
        with self._lock:
            return copy_json(self._webhook) if self._webhook is not None else None

    def webhook_delivered(self, update_id: int, status: int | None, error: str = "") -> None:
        """Record one POST of a queued update: a 2xx answer confirms it (it leaves the queue),
        anything else keeps it queued and shows in getWebhookInfo's last_error_*."""
        with self._lock:
            if self.record_calls:
                self._deliveries[update_id].append(time.time())
            if status is not None and 200 <= status < 300:
                for index, queued in enumerate(self._updates):
                    if queued["update_id"] == update_id:
                        del self._updates[index]
                        self._confirm(queued, update_id + 1)
                        break
            else:
                self._webhook_error = {
                    "last_error_date": self._now(),
                    "last_error_message": error or f"Wrong response from the webhook: {status}",
                }
            self._notify()

    def _set_my_commands(self, params: Json, files: Mapping[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be a list of at most 100 BotCommand objects")
        for command in commands:
            if not isinstance(command, dict) or not BOT_COMMAND_NAME_RE.fullmatch(
                str(command.get("command", ""))
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description must be 1-256 characters")
        self._commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _get_my_commands(self, params: Json, files: Mapping[str, UploadedFile]) -> list[Json]:
        return self._commands.get(self._commands_key(params), [])

    @staticmethod
    def _commands_key(params: Json) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _send_message(self, params: Json, files: Mapping[str, UploadedFile]) -> Json:
        chat_id = self._sendable_chat(params)
        text, entities = formatted(
            params.get("text"), params.get("parse_mode"), params.get("entities"), MAX_TEXT_LENGTH
        )
        content: Json = {"text": text}
        if entities:
            content["entities"] = entities
        return self._new_bot_message(chat_id, content, params.get("reply_markup"))

    def _send_photo(self, params: Json, files: Mapping[str, UploadedFile]) -> Json:
        return self._send_media("sendPhoto", "photo", params, files)

    def _send_document(self, params: Json, files: Mapping[str, UploadedFile]) -> Json:
        return self._send_media("sendDocument", "document", params, files)

    def _send_media(
        self, method: str, field: str, params: Json, files: Mapping[str, UploadedFile]
    ) -> Json:
        chat_id = self._sendable_chat(params)
        upload = input_file(field, params, files)
        content: Json = {}
        if isinstance(upload, UploadedFile):
            content[field] = self._stored_media(field, upload)
        elif upload in self._files:
            content[field] = self._files[upload]
        elif upload.startswith(("http://", "https://")):
            content[field] = self._stored_media(
                field, UploadedFile(upload.rsplit("/")[-1], None, b"")
            )
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if params.get("caption"):
            caption, entities = formatted(
                params["caption"],
                params.get("parse_mode"),
                params.get("caption_entities"),
                MAX_CAPTION_LENGTH,
                too_long="message caption is too long",
            )
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        message = self._new_bot_message(chat_id, content, params.get("reply_markup"))
        if isinstance(upload, UploadedFile):
            self._uploads.append(
                Upload(
                    method=method,
                    chat_id=chat_id,
                    message_id=message["message_id"],
                    field=field,
                    filename=upload.filename,
                    content_type=upload.content_type,
                    data=upload.data,
                )
            )
        return message

    def _stored_media(self, field: str, upload: UploadedFile) -> Any:
        number = next(self._file_numbers)
        file_id = f"fake-{field}-{number}"
        described: Json = {"file_id": file_id, "file_unique_id": f"u{number}"}
        if field == "photo":
            width, height = png_size(upload.data) or (1, 1)
            media: Any = [
                {**described, "width": width, "height": height, "file_size": len(upload.data)}
            ]
        else:
            media = {
                **described,
                "file_name": upload.filename or "document",
                "mime_type": upload.content_type or "application/octet-stream",
                "file_size": len(upload.data),
            }
        self._files[file_id] = media
        return media

    def _send_chat_action(self, params: Json, files: Mapping[str, UploadedFile]) -> bool:
        chat_id = self._sendable_chat(params)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._chat_actions.append((chat_id, str(action)))
        return True

    def _edit_message_text(self, params: Json, files: Mapping[str, UploadedFile]) -> Json:
        current = self._editable_message(params)
        if "text" not in current:
            raise bad_request("there is no text in the message to edit")
        text, entities = formatted(
            params.get("text"), params.get("parse_mode"), params.get("entities"), MAX_TEXT_LENGTH
        )
        edited = {
            k: v for k, v in current.items() if k not in {"entities", "reply_markup", "edit_date"}
        }
        edited["text"] = text
        if entities:
            edited["entities"] = entities
        # Like Telegram, an edit without reply_markup removes the inline keyboard.
        return self._replace_bot_message(current, edited, params.get("reply_markup"))

    def _edit_message_reply_markup(self, params: Json, files: Mapping[str, UploadedFile]) -> Json:
        current = self._editable_message(params)
        edited = {k: v for k, v in current.items() if k not in {"reply_markup", "edit_date"}}
        return self._replace_bot_message(current, edited, params.get("reply_markup"))

    def _answer_callback_query(self, params: Json, files: Mapping[str, UploadedFile]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        if len(str(params.get("text") or "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._open_queries.discard(query_id)
        self._callback_answers.append(dict(params))
        return True

    # ----------------------------------------------------------------------------------------
    # Messages and chats (lock held)

    def _sendable_chat(self, params: Json) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if not isinstance(chat_id, int):
            raise bad_request("chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, BLOCKED)
        return chat_id

    def _editable_message(self, params: Json) -> Json:
        if "inline_message_id" in params:
            raise bad_request("inline messages are not supported by the fake Bot API")
        chat_id = params.get("chat_id")
        if chat_id is None:
            raise bad_request("chat_id is empty")
        message = self._messages.get(chat_id, {}).get(params.get("message_id", 0))
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self._bot_user["id"]:
            raise bad_request("message can't be edited")
        return message

    def _chat(
        self, chat_id: int, *, first_name: str | None = None, title: str | None = None
    ) -> Json:
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                chat = {
                    "id": chat_id,
                    "type": "private",
                    "first_name": first_name or f"Runner {chat_id}",
                }
            else:
                supergroup = str(chat_id).startswith("-100") and len(str(chat_id)) > 13
                chat = {
                    "id": chat_id,
                    "type": "supergroup" if supergroup else "group",
                    "title": title or f"Running club {-chat_id}",
                }
            self._chats[chat_id] = chat
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        # One sequence per chat shared by the runner's and the bot's messages, as in private chats.
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _now(self) -> int:
        return int(self._clock().timestamp())

    def _new_bot_message(self, chat_id: int, content: Json, reply_markup: Any) -> Json:
        message: Json = {
            "message_id": self._next_message_id(chat_id),
            "from": dict(self._bot_user),
            "chat": self._chat(chat_id),
            "date": self._now(),
            **content,
        }
        inline = inline_keyboard(reply_markup)
        if inline is not None:
            message["reply_markup"] = inline
        self._store(message, bot_event=True)
        return message

    def _replace_bot_message(self, current: Json, edited: Json, reply_markup: Any) -> Json:
        inline = inline_keyboard(reply_markup)
        if inline is not None:
            edited["reply_markup"] = inline
        if visible_content(edited) == visible_content(current):
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        edited["edit_date"] = self._now()
        self._store(edited, bot_event=True)
        return edited

    def _store(self, message: Json, *, bot_event: bool) -> None:
        """Keep the message's current state; a stored dict is never mutated, only replaced."""
        chat_id = message["chat"]["id"]
        self._messages[chat_id][message["message_id"]] = message
        if bot_event:
            self._events[chat_id].append(message)

    # ----------------------------------------------------------------------------------------
    # Inspection

    def sent_to(self, chat_id: int, *, start: int = 0) -> list[Json]:
        """What the bot showed this chat, in order: each send, and each edit as the edited message
        (it carries `edit_date`); from the `start`-th on (a copy of only those)."""
        with self._lock:
            return copy_json(self._events.get(chat_id, [])[start:])

    def sent_count(self, chat_id: int) -> int:
        """How many entries `sent_to(chat_id)` has, without copying them (for waits that check
        it at every change of the fake's state)."""
        with self._lock:
            return len(self._events.get(chat_id, []))

    def last_message(self, chat_id: int) -> Json:
        """The newest entry of `sent_to(chat_id)`; LookupError when the bot sent nothing there."""
        with self._lock:
            events = self._events.get(chat_id)
            if not events:
                raise LookupError(f"the bot has sent nothing to chat {chat_id}")
            return copy_json(events[-1])

    def message(self, chat_id: int, message_id: int) -> Json:
        """The current state of any message in a chat (the runner's or the bot's)."""
        with self._lock:
            found = self._messages.get(chat_id, {}).get(message_id)
            if found is None:
                raise LookupError(f"chat {chat_id} has no message {message_id}")
            return copy_json(found)

    @staticmethod
    def buttons(message: Mapping[str, Any]) -> list[list[tuple[str, str | None]]]:
        """The inline keyboard of a message as rows of (label, callback_data or None)."""
        keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        return [
            [(button["text"], button.get("callback_data")) for button in row] for row in keyboard
        ]

    @property
    def callback_answers(self) -> list[Json]:
        """Parameters of every accepted answerCallbackQuery, in order."""
        with self._lock:
            return copy_json(self._callback_answers)

    @property
    def commands(self) -> list[Json]:
        """The commands setMyCommands registered for the default scope and all languages."""
        with self._lock:
            return copy_json(self._commands.get(self._commands_key({}), []))

    @property
    def calls(self) -> list[tuple[str, Json]]:
        """Every call as (method, parameters), including refused ones, in arrival order."""
        with self._lock:
            return copy_json(self._calls)

    def calls_to(self, method: str) -> list[Json]:
        """The parameters of every call of one method."""
        with self._lock:
            return [copy_json(p) for name, p in self._calls if name.lower() == method.lower()]

    @property
    def uploads(self) -> list[Upload]:
        with self._lock:
            return list(self._uploads)

    @property
    def chat_actions(self) -> list[tuple[int | str, str]]:
        with self._lock:
            return list(self._chat_actions)

    @property
    def pending_updates(self) -> list[Json]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        with self._lock:
            return copy_json(list(self._updates))

    def text_counts(self, chat_id: int) -> dict[str, int]:
        """How many messages with each text (or caption) the bot sent this chat; edits are not
        new messages and do not count."""
        with self._lock:
            counts: Counter[str] = Counter()
            for message in self._events.get(chat_id, []):
                text = message.get("text", message.get("caption"))
                if "edit_date" not in message and isinstance(text, str):
                    counts[text] += 1
            return dict(counts)

    def duplicates(self, chat_id: int) -> dict[str, int]:
        """The texts this chat received more than once, with how many times: `{}` when the
        runner never saw the same message twice."""
        return {text: n for text, n in self.text_counts(chat_id).items() if n > 1}

    @property
    def confirmations(self) -> list[Confirmation]:
        """Every update a getUpdates offset confirmed, in order (empty with record_calls=False)."""
        with self._lock:
            return list(self._confirmations)

    def confirmed_at(self, update_id: int) -> float | None:
        """When (`time.time()`) an offset first confirmed this update; None while unconfirmed."""
        with self._lock:
            confirmation = self._confirmed.get(update_id)
            return confirmation.at if confirmation else None

    def delivered_at(self, update_id: int) -> list[float]:
        """When (`time.time()`) each getUpdates answer carrying this update was made."""
        with self._lock:
            return list(self._deliveries.get(update_id, ()))

    # ----------------------------------------------------------------------------------------
    # Waiting for the bot

    def wait_until(self, predicate: Callable[[], T], *, within: float = 5.0) -> T:
        """Block until `predicate()` is truthy and return it; TimeoutError after `within` s."""
        deadline = time.monotonic() + within
        with self._lock:
            while not (result := predicate()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {within} s")
                self._changed.wait(remaining)
            return result

    async def wait_for(self, predicate: Callable[[], T], *, within: float = 5.0) -> T:
        """`wait_until` for the event loop: re-checks `predicate()` after every state change."""

        def give_up() -> T:
            raise TimeoutError(f"condition not met within {within} s")

        return await self._wait_async(lambda: predicate() or None, within, on_timeout=give_up)

    async def wait_for_sent(
        self, chat_id: int, count: int = 1, *, within: float = 5.0
    ) -> list[Json]:
        """Wait until the bot has shown this chat at least `count` messages or edits."""
        return await self.wait_for(
            lambda: self.sent_to(chat_id) if len(self._events.get(chat_id, [])) >= count else None,
            within=within,
        )

    async def _wait_async(
        self, ready: Callable[[], T | None], within: float, *, on_timeout: Callable[[], T]
    ) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        event = asyncio.Event()
        waiter = (loop, event)
        with self._lock:
            self._async_waiters.append(waiter)
        try:
            while True:
                with self._lock:
                    event.clear()
                    result = ready()
                if result is not None:
                    return result
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return on_timeout()
                try:
                    async with asyncio.timeout(remaining):
                        await event.wait()
                except TimeoutError:
                    pass
        finally:
            with self._lock, contextlib.suppress(ValueError):
                self._async_waiters.remove(waiter)


def _as_response(outcome: tuple[bool, Any]) -> tuple[int, Json]:
    ok, payload = outcome
    if ok:
        return 200, {"ok": True, "result": payload}
    return int(payload["error_code"]), payload
