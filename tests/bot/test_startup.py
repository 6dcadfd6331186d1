"""Start-up against the Bot API: 5xx answers, timeouts and refused connections are waited out
with backoff and one log line each; a rejected token stops at once with a one-line error that
never contains the token; running out of attempts is a clear error too."""

from __future__ import annotations

import asyncio
import logging
import socket
import traceback
from collections.abc import Iterator

import pytest
from telegram import Bot
from telegram.error import BadRequest

from bot.startup import (
    BotApiUnreachable,
    TokenRejected,
    connect_before_polling,
    connect_to_bot_api,
)
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, FakeBotApiServer, LocalBotApiRequest

WRONG_TOKEN = "123456789:AAWrongSecretThatMustNotBePrinted42"
WRONG_SECRET = WRONG_TOKEN.partition(":")[2]


class FakeSleep:
    """Records the waits asked for instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


def bot_for(api: FakeBotApi, token: str = DEFAULT_TOKEN, *, read_timeout: float = 5.0) -> Bot:
    request = LocalBotApiRequest(api, read_timeout=read_timeout)
    return Bot(token, request=request, get_updates_request=LocalBotApiRequest(api))


def retry_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.startup" and "retrying" in r.message]


async def test_a_bad_gateway_twice_is_waited_out_with_backoff(
    api: FakeBotApi, sleep: FakeSleep, caplog: pytest.LogCaptureFixture
):
    api.fail_next("getMe", 502, "Bad Gateway")
    api.fail_next("getMe", 502, "Bad Gateway")
    caplog.set_level(logging.INFO, logger="bot.startup")
    user = await connect_to_bot_api(bot_for(api), sleep=sleep)
    assert user.username == "ankle_test_bot"
    assert sleep.waits == [1, 2]
    assert len(api.calls_to("getMe")) == 3
    lines = retry_lines(caplog)
    assert [r.message for r in lines] == [
        "Bot API not answering (NetworkError: Bad Gateway); retrying in 1 s",
        "Bot API not answering (NetworkError: Bad Gateway); retrying in 2 s",
    ]
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in lines)


@pytest.mark.parametrize("status", [500, 503, 504])
async def test_every_server_error_is_retried(api: FakeBotApi, sleep: FakeSleep, status: int):
    api.fail_next("getMe", status, "Internal Server Error")
    user = await connect_to_bot_api(bot_for(api), sleep=sleep)
    assert user.is_bot
    assert sleep.waits == [1]


async def test_the_backoff_doubles_up_to_max_delay(api: FakeBotApi, sleep: FakeSleep):
    for _ in range(6):
        api.fail_next("getMe", 502, "Bad Gateway")
    await connect_to_bot_api(bot_for(api), sleep=sleep, max_delay=5)
    assert sleep.waits == [1, 2, 4, 5, 5, 5]


async def test_flood_control_waits_as_long_as_telegram_asks(api: FakeBotApi, sleep: FakeSleep):
    api.fail_next("getMe", 429, "Too Many Requests: retry after 7", {"retry_after": 7})
    await connect_to_bot_api(bot_for(api), sleep=sleep)
    assert sleep.waits == [7]


async def test_timeouts_past_the_attempts_raise_a_clear_error(
    api: FakeBotApi, sleep: FakeSleep, caplog: pytest.LogCaptureFixture
):
    api.set_delay(10, method="getMe")  # far beyond the read timeout: every attempt times out
    with pytest.raises(BotApiUnreachable) as raised:
        await connect_to_bot_api(bot_for(api, read_timeout=0.01), sleep=sleep, attempts=3)
    assert str(raised.value) == (
        "the Bot API at https://api.telegram.org did not answer getMe in 3 attempts"
        " (last: TimedOut): check TELEGRAM_API_URL and the network"
    )
    assert sleep.waits == [1, 2]
    assert [r.message for r in retry_lines(caplog)] == [
        "Bot API not answering (TimedOut); retrying in 1 s",
        "Bot API not answering (TimedOut); retrying in 2 s",
    ]


async def test_a_wrong_token_is_rejected_at_once_without_printing_it(
    api: FakeBotApi, sleep: FakeSleep
):
    with pytest.raises(TokenRejected) as raised:
        await connect_to_bot_api(bot_for(api, WRONG_TOKEN), sleep=sleep)
    message = str(raised.value)
    assert message == (
        "TELEGRAM_BOT_TOKEN was rejected by the Bot API at https://api.telegram.org:"
        " get a new token from @BotFather"
    )
    assert sleep.waits == []
    # Nothing chained either: PTB's own InvalidToken quotes the token.
    report = "".join(traceback.format_exception(raised.value))
    assert WRONG_TOKEN not in report
    assert WRONG_SECRET not in report
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


async def test_a_404_from_get_me_is_a_rejected_token(api: FakeBotApi, sleep: FakeSleep):
    api.fail_next("getMe", 404, "Not Found")
    with pytest.raises(TokenRejected):
        await connect_to_bot_api(bot_for(api), sleep=sleep)
    assert sleep.waits == []


async def test_a_bad_request_is_not_retried(api: FakeBotApi, sleep: FakeSleep):
    # PTB makes BadRequest a NetworkError: it must not be mistaken for an unreachable server.
    api.fail_next("getMe", 400, "Bad Request: nonsense")
    with pytest.raises(BadRequest):
        await connect_to_bot_api(bot_for(api), sleep=sleep)
    assert sleep.waits == []


# Over real HTTP (httpx): PTB's texts for these paths are the ones that quote URLs and tokens.


async def test_a_wrong_token_over_http_names_the_server_and_not_the_token(sleep: FakeSleep):
    with FakeBotApiServer() as server:
        server_url = server.url
        bot = Bot(WRONG_TOKEN, base_url=server.base_url)
        with pytest.raises(TokenRejected) as raised:
            await connect_to_bot_api(bot, sleep=sleep)
    assert str(raised.value) == (
        f"TELEGRAM_BOT_TOKEN was rejected by the Bot API at {server_url}: get a new token"
        " from @BotFather, or check TELEGRAM_API_URL"
    )
    assert WRONG_SECRET not in "".join(traceback.format_exception(raised.value))


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port nothing listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield probe.getsockname()[1]


async def test_a_refused_connection_is_retried_and_logged_without_the_token(
    closed_port: int, sleep: FakeSleep, caplog: pytest.LogCaptureFixture
):
    bot = Bot(WRONG_TOKEN, base_url=f"http://127.0.0.1:{closed_port}/bot")
    with pytest.raises(BotApiUnreachable) as raised:
        await connect_to_bot_api(bot, sleep=sleep, attempts=2)
    assert sleep.waits == [1]
    [line] = [r.message for r in retry_lines(caplog)]
    assert line.startswith("Bot API not answering (NetworkError: ")
    assert line.endswith("; retrying in 1 s")
    assert f"http://127.0.0.1:{closed_port}" in str(raised.value)
    for text in (line, str(raised.value)):
        assert WRONG_SECRET not in text


def test_connecting_before_polling_leaves_the_bot_ready_on_the_current_loop(api: FakeBotApi):
    bot = bot_for(api)
    user = connect_before_polling(bot, sleep=FakeSleep())
    loop = asyncio.get_event_loop()
    try:
        assert user.username == "ankle_test_bot"
        # What Application.initialize does inside run_polling, on the same loop: no new getMe.
        loop.run_until_complete(bot.initialize())
        assert len(api.calls_to("getMe")) == 1
    finally:
        loop.run_until_complete(bot.shutdown())
        asyncio.set_event_loop(None)
        loop.close()


def test_connecting_before_polling_with_a_wrong_token_raises_and_closes_its_loop(
    api: FakeBotApi,
):
    created: list[asyncio.AbstractEventLoop] = []
    policy = asyncio.get_event_loop_policy()
    real_new_event_loop = policy.new_event_loop

    def recording_new_event_loop() -> asyncio.AbstractEventLoop:
        created.append(real_new_event_loop())
        return created[-1]

    policy.new_event_loop = recording_new_event_loop  # type: ignore[method-assign]
    try:
        with pytest.raises(TokenRejected):
            connect_before_polling(bot_for(api, WRONG_TOKEN), sleep=FakeSleep())
    finally:
        del policy.new_event_loop
    assert len(created) == 1 and created[0].is_closed()
