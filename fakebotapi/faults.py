"""Faults, pauses and hooks: what a test arms on a `FakeBotApi` to hit one exact call.

A fault fails a call with Telegram's error, closes its connection without an answer
(`DroppedConnection`, before or after the call took effect) or lets it hang; a `Pause` holds one
call until the test releases it, so an end-to-end test can kill the bot process at that moment;
a hook runs a callback with the `Call` when it arrives or once it took effect. `FakeBotApi`
(server.py) arms them with `fail_next`, `reset_next`, `hang_next`, `pause_next` and `on_call`,
and applies them at two points of every call; this module holds what they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fakebotapi.telegram_rules import Json, copy_json

if TYPE_CHECKING:  # Pause holds its FakeBotApi; server.py imports this module
    from fakebotapi.server import FakeBotApi


@dataclass(frozen=True)
class Call:
    """One call as an `on_call` callback sees it: its parameters and, once it took effect, the
    result the fake is about to answer with."""

    method: str
    params: Json
    after_delivery: bool
    result: Any = None


class DroppedConnection(Exception):
    """The fake ends a call by closing the connection without an answer (an injected reset, or
    the end of a hang). The HTTP server closes the socket; `LocalBotApiRequest` raises what PTB
    raises for a dropped connection. `delivered` says whether the call had taken effect."""

    def __init__(self, method: str, *, delivered: bool) -> None:
        state = "after it took effect" if delivered else "before it took effect"
        super().__init__(f"{method}: connection closed without an answer {state}")
        self.method = method
        self.delivered = delivered


@dataclass(frozen=True)
class _Match:
    """Which calls a fault, pause or hook applies to: one method, optionally narrowed."""

    method: str
    text_contains: str | None = None
    chat_id: int | str | None = None
    confirms: int | None = None
    delivers: int | None = None
    when: Callable[[Json], bool] | None = None

    def matches(self, method: str, params: Json, result: Any) -> bool:
        if method != self.method:
            return False
        if self.text_contains is not None:
            # A media send has no text; its caption is what the runner reads.
            text = params.get("text", params.get("caption"))
            if not isinstance(text, str) or self.text_contains not in text:
                return False
        if self.chat_id is not None and params.get("chat_id") != self.chat_id:
            return False
        if self.confirms is not None:
            offset = params.get("offset")
            if not isinstance(offset, int) or offset <= self.confirms:
                return False
        if self.delivers is not None and (
            not isinstance(result, list)
            or all(update.get("update_id") != self.delivers for update in result)
        ):
            return False
        return self.when is None or bool(self.when(copy_json(params)))

    def describe(self) -> Json:
        described: Json = {"method": self.method}
        for key in ("text_contains", "chat_id", "confirms", "delivers"):
            if getattr(self, key) is not None:
                described[key] = getattr(self, key)
        if self.when is not None:
            described["when"] = getattr(self.when, "__name__", "predicate")
        return described


@dataclass
class _Fault:
    kind: str  # "fail", "reset" or "hang"
    match: _Match
    after_delivery: bool
    remaining: int
    error: tuple[int, str, Json | None] | None = None
    seconds: float = 0.0


@dataclass
class _Hook:
    match: _Match
    callback: Callable[[Call], Any]
    after_delivery: bool
    once: bool


class _Hold:
    """A call the fake keeps without answering. `state` is "blocked" while held, then
    "released" (the call carries on), "dropped" (the connection closes without an answer) or
    "abandoned" (the in-process client gave up waiting)."""

    def __init__(self, method: str, *, after_delivery: bool, deadline: float | None) -> None:
        self.method = method
        self.after_delivery = after_delivery
        self.deadline = deadline
        self.state = "blocked"
        self.params: Json | None = None
        self.result: Any = None


class Pause(_Hold):
    """One `pause_next`: armed until a matching call arrives, then that call is blocked (before
    or after it took effect) until `release()`.

    The test learns the moment with `wait()`, and may then kill the bot process: the call is
    held exactly between "the server received it" (or "the server performed it") and "the client
    got an answer". `release(drop=True)` then closes the connection without an answer.
    """

    def __init__(self, api: FakeBotApi, number: int, match: _Match, *, after_delivery: bool):
        super().__init__(match.method, after_delivery=after_delivery, deadline=None)
        self.id = number
        self.match = match
        self.state = "armed"
        self._api = api

    @property
    def blocked(self) -> bool:
        """Whether a call is held here right now."""
        with self._api._lock:
            return self.state == "blocked"

    def wait(self, *, within: float = 5.0) -> Json:
        """Block until a call has reached this pause; returns its parameters."""
        return self._api.wait_until(self._reached, within=within)

    async def wait_async(self, *, within: float = 5.0) -> Json:
        """`wait` for the event loop (where the paused call may itself be running)."""
        return await self._api.wait_for(self._reached, within=within)

    def release(self, *, drop: bool = False) -> None:
        """Let the held call carry on (perform it and answer, or just answer), or with
        `drop=True` close its connection without an answer. Releasing a pause no call has
        reached yet disarms it."""
        with self._api._lock:
            if self.state == "armed":
                self._api._armed_pauses.remove(self)
                self.state = "released"
            elif self.state == "blocked":
                self.state = "dropped" if drop else "released"
            self._api._notify()

    def describe(self) -> Json:
        """The pause as JSON (what the HTTP control API answers)."""
        with self._api._lock:
            return {
                "id": self.id,
                **self.match.describe(),
                "after_delivery": self.after_delivery,
                "state": self.state,
                "params": copy_json(self.params),
                "result": copy_json(self.result),
            }

    def _reached(self) -> Json | None:
        if self.params is not None:
            return copy_json(self.params)
        if self.state != "armed":
            raise RuntimeError(f"pause {self.id} was released before any call reached it")
        return None
