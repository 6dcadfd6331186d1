"""Webhook benchmark: updates a second and time to reply over real HTTP on loopback, beside
polling in the same run.

Both modes run the real runtime on a fresh SQLite file with the fake Bot API answered in process
(no rate limiter: the figure is the bot's own ceiling, Telegram allows about 30 messages a
second). N runners each send one `/start`, R rounds:
- webhook: `python -m bot serve`'s `WebhookServer` on 127.0.0.1, and `fakebotapi.webhook.deliver`
  posting the queued updates with the secret header over aiohttp, up to `max_connections` at once
  (as Telegram does). Time to reply runs from the start of an update's POST to the fake receiving
  the bot's first message to that chat; "to 200" is the POST's own round trip (stored and
  committed in the inbox before the answer).
- polling (the baseline): the same runtime's own getUpdates loop; time to reply runs from the
  update being queued at the fake to the reply.
Run `python -m bench.webhook --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import time
from pathlib import Path

from bot.app import BotRuntime, build_bot
from bot.config import WebhookSettings
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.webhook import WebhookServer
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, LocalBotApiRequest
from fakebotapi.webhook import deliver

SECRET = "bench-secret-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000


async def _run(mode: str, runners: int, rounds: int, connections: int, folder: Path) -> dict:
    api = FakeBotApi(record_calls=False)
    db = Database.threaded(f"sqlite:///{folder / (mode + '.db')}")
    upgrade_to_head(db.engine)
    bot = build_bot(
        token=DEFAULT_TOKEN,
        request=LocalBotApiRequest(api),
        get_updates_request=LocalBotApiRequest(api, read_timeout=30),
        pace=False,
    )
    runtime = BotRuntime(bot=bot, db=db, scheduler_interval=1.0, poll=mode == "polling")
    replied: dict[int, float] = {}

    def on_send(call) -> None:
        replied.setdefault(int(call.params["chat_id"]), time.perf_counter())

    api.on_call("sendMessage", on_send)
    server = None
    await runtime.start()
    if mode == "webhook":
        port = _free_port()
        settings = WebhookSettings(
            url=f"http://127.0.0.1:{port}",
            secret=SECRET,
            path="/telegram/bench",
            port=port,
            max_connections=connections,
        )
        server = WebhookServer(
            settings=settings,
            db=db,
            bot=bot,
            intake=runtime.poller.intake,
            scheduler=runtime.scheduler,
        )
        await server.start()
        await server.register()
    to_reply: list[float] = []
    to_200: list[float] = []
    total = 0.0
    try:
        for round_ in range(rounds):
            replied.clear()
            chats = [10_000 * (round_ + 1) + n for n in range(runners)]
            began = time.perf_counter()
            queued: dict[int, float] = {}
            for chat in chats:
                queued[chat] = time.perf_counter()
                api.user_sends_text(chat, "/start")
            if server is not None:
                delivery = await deliver(api)
                assert delivery.confirmed == runners, dict(delivery.statuses)
                to_200.extend(delivery.seconds.values())
                by_chat = {u: c for u, c in zip(sorted(delivery.started), chats, strict=True)}
                queued = {by_chat[u]: t for u, t in delivery.started.items()}
            await api.wait_for(lambda: len(replied) >= runners or None, within=120)
            total += time.perf_counter() - began
            to_reply.extend(replied[chat] - queued[chat] for chat in chats)
            await runtime.settle(within=120)
    finally:
        if server is not None:
            await server.stop()
        await runtime.stop()
        db.dispose_sync()
    result = {
        "updates_per_s": runners * rounds / total,
        "reply_p50_ms": _p(to_reply, 0.5),
        "reply_p99_ms": _p(to_reply, 0.99),
    }
    if to_200:
        result["ack_p50_ms"] = _p(to_200, 0.5)
        result["ack_p99_ms"] = _p(to_200, 0.99)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook", description=__doc__)
    parser.add_argument("--runners", type=int, default=200, help="runners per round (200)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    parser.add_argument("--connections", type=int, default=40, help="max_connections (40)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        results = {
            mode: asyncio.run(_run(mode, args.runners, args.rounds, args.connections, Path(folder)))
            for mode in ("polling", "webhook")
        }
    print(f"{args.runners} runners x {args.rounds} rounds, /start each, SQLite, no rate limit")
    print(f"{'':22}{'polling':>10}{'webhook':>10}")
    for key, label in [
        ("updates_per_s", "updates/s"),
        ("reply_p50_ms", "to reply p50 (ms)"),
        ("reply_p99_ms", "to reply p99 (ms)"),
        ("ack_p50_ms", "to 200 p50 (ms)"),
        ("ack_p99_ms", "to 200 p99 (ms)"),
    ]:
        cells = [results[mode].get(key) for mode in ("polling", "webhook")]
        text = [f"{c:10.1f}" if c is not None else f"{'-':>10}" for c in cells]
        print(f"{label:22}{''.join(text)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
