"""The fake Bot API posting updates to a webhook, as Telegram does once `setWebhook` was called.

`deliver` POSTs every queued update to the registered URL with the
`X-Telegram-Bot-Api-Secret-Token` header, over real HTTP (aiohttp). Like Telegram, it keeps one
chat's updates in order (the next is posted once the previous one was answered) and posts to
up to `max_connections` chats at once. A 2xx answer confirms the update (it leaves the queue);
anything else, or no answer, leaves it queued for the next `deliver` and shows in
`getWebhookInfo`. Tests and `bench/webhook.py` call it when they want updates delivered; a
person driving a running fake uses `POST /_fake/deliver`.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

from fakebotapi.telegram_rules import Json

if TYPE_CHECKING:
    from fakebotapi.server import FakeBotApi

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class Delivery:
    """What one `deliver` did: answers by HTTP status (0: no answer), and for each update when
    its POST started (`time.perf_counter`) and how long until the answer, in seconds."""

    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    started: dict[int, float] = field(default_factory=dict)
    seconds: dict[int, float] = field(default_factory=dict)

    @property
    def confirmed(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)


async def deliver(
    api: FakeBotApi,
    *,
    session: aiohttp.ClientSession | None = None,
    request_timeout: float = 60.0,
) -> Delivery:
    """POST the queued updates to the webhook (see module doc); raises when none is set."""
    webhook = api.webhook
    if webhook is None:
        raise RuntimeError("no webhook is set: call setWebhook first")
    by_chat: dict[int, list[Json]] = defaultdict(list)
    for update in api.pending_updates:
        by_chat[_chat_of(update)].append(update)
    delivery = Delivery()
    gate = asyncio.Semaphore(webhook["max_connections"])
    headers = {"Content-Type": "application/json"}
    if webhook.get("secret_token"):
        headers[SECRET_HEADER] = webhook["secret_token"]
    own = session is None
    session = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=request_timeout))

    async def post_chat(updates: list[Json]) -> None:
        async with gate:
            for update in updates:
                started = delivery.started[update["update_id"]] = time.perf_counter()
                try:
                    async with session.post(
                        webhook["url"], json=update, headers=headers
                    ) as response:
                        await response.read()
                        status = response.status
                    error = ""
                except (aiohttp.ClientError, TimeoutError) as failure:
                    status, error = 0, f"Connection failed: {type(failure).__name__}"
                delivery.seconds[update["update_id"]] = time.perf_counter() - started
                delivery.statuses[status] += 1
                api.webhook_delivered(update["update_id"], status or None, error)
                if not 200 <= status < 300:
                    return  # the chat's later updates wait behind this one, as on Telegram

    try:
        await asyncio.gather(*(post_chat(updates) for updates in by_chat.values()))
    finally:
        if own:
            await session.close()
    return delivery


def _chat_of(update: Json) -> int:
    """The chat an update belongs to (its message's chat, else its sender), 0 if neither."""
    for kind, value in update.items():
        if not isinstance(value, dict):
            continue
        message: Any = value.get("message") if kind == "callback_query" else value
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return int(message["chat"].get("id") or 0)
        if isinstance(value.get("from"), dict):
            return int(value["from"].get("id") or 0)
    return 0
