"""Per-chat ordered, cross-chat concurrent processing of Telegram updates.

A runner answers questions one tap at a time, and each answer must be applied to the state the
previous one left, so the updates of one chat are processed strictly in arrival order, one at a
time. Different runners are independent: while one runner's update waits on a slow database or
Telegram call, everyone else's replies carry on. `PerChatUpdateProcessor` plugs this into PTB
(`ApplicationBuilder().concurrent_updates(PerChatUpdateProcessor())`): the Application starts a
task per update in arrival order, and each task queues on its chat's lock, which asyncio grants
first come, first served.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Hashable
from dataclasses import dataclass, field
from typing import Any, Final

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# PTB's processor semaphore is taken *before* an update reaches its chat's lock, so an update
# waiting behind a slow one of the same chat holds a slot while doing nothing. With a small limit
# one chat's backlog could fill every slot and stall all other chats; a generous limit keeps
# the limit a guard against runaway memory rather than a throttle (the real throttles are the
# database pool and Telegram's rate limits).
DEFAULT_MAX_CONCURRENT_UPDATES: Final = 4096

GLOBAL_KEY: Final = "global"


def ordering_key(update: object) -> Hashable:
    """Which queue an update joins: its chat, else its user, else one shared global queue.

    A private chat's id equals its user's id, so an update that only names a user (an inline
    query) still queues behind that runner's private-chat updates.
    """
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return GLOBAL_KEY


@dataclass
class _ChatQueue:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Updates holding or waiting for the lock; the entry is dropped when it reaches zero.
    members: int = 0


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Runs one update per chat at a time, in arrival order; chats run concurrently."""

    def __init__(self, max_concurrent_updates: int = DEFAULT_MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._queues: dict[Hashable, _ChatQueue] = {}

    @property
    def active_keys(self) -> int:
        """How many chats have an update running or waiting (0 when idle: nothing leaks)."""
        return len(self._queues)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = ordering_key(update)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _ChatQueue()
        queue.members += 1
        started = False
        try:
            async with queue.lock:
                started = True
                await coroutine
        finally:
            queue.members -= 1
            if queue.members == 0:
                del self._queues[key]
            if not started and inspect.iscoroutine(coroutine):
                # Cancelled while queued: close it so Python does not warn it was never awaited.
                coroutine.close()

    async def initialize(self) -> None:
        """Nothing to allocate: queues are created on demand."""

    async def shutdown(self) -> None:
        """Nothing to free: each queue is removed as soon as its chat goes idle."""
