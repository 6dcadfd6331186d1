"""The aiohttp transport (bot/request.py) against the fake Bot API over real HTTP: what the bot
sends arrives as sent (text, keyboards, the chart and the PDF), and every failure is the PTB
error the outbox already reads (bot/outgoing.py `classify`) with the same verdict as httpx's."""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from bot import outgoing, progress_chart, summary_pdf
from bot.app import build_bot, default_requests
from bot.config import ConfigError, settings_from_env
from bot.progress_chart import AssessmentMark, ProgressData, SorenessPoint
from bot.request import AiohttpRequest
from bot.summary_pdf import SummaryData
from fakebotapi import FakeBotApi
from fakebotapi.http_server import FakeBotApiServer

RUNNER = 7
NOW = datetime(2025, 5, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer(FakeBotApi()) as running:
        yield running


def aiohttp_bot(server: FakeBotApiServer, **timeouts: float) -> ExtBot:
    request = AiohttpRequest(connection_pool_size=4, **timeouts)
    return build_bot(
        token=server.api.token,
        base_url=server.base_url,
        base_file_url=server.url + "/file/bot",
        request=request,
        get_updates_request=AiohttpRequest(read_timeout=5),
        pace=False,
    )


@pytest.fixture
async def bot(server: FakeBotApiServer) -> AsyncIterator[ExtBot]:
    async with aiohttp_bot(server) as running:
        yield running


async def test_a_message_with_a_keyboard_arrives_as_sent(
    server: FakeBotApiServer, bot: ExtBot
) -> None:
    keyboard = {"inline_keyboard": [[{"text": "Ja", "callback_data": "a1:1:x"}]]}
    sent = await bot.send_message(
        RUNNER, "<b>Tag 2</b>: wie geht’s?", parse_mode="HTML", reply_markup=keyboard
    )
    shown = server.api.sent_to(RUNNER)
    assert sent.text == "Tag 2: wie geht’s?"
    assert shown[0]["text"] == "Tag 2: wie geht’s?"
    assert shown[0]["reply_markup"] == keyboard


async def test_an_update_is_fetched_by_long_polling(server: FakeBotApiServer, bot: ExtBot) -> None:
    server.api.user_sends_text(RUNNER, "/new")
    updates = await bot.get_updates(timeout=2)
    assert [u.message.text for u in updates if u.message] == ["/new"]


async def test_a_429_is_retry_after_with_its_seconds(server: FakeBotApiServer, bot: ExtBot) -> None:
    server.api.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", {"retry_after": 7})
    with pytest.raises(RetryAfter) as error:
        await bot.send_message(RUNNER, "Day 2 check-in")
    assert "Retry in 7 seconds" in str(error.value)
    assert outgoing.classify(error.value)[0] is outgoing.Verdict.WAIT
    await bot.send_message(RUNNER, "Day 2 check-in")
    assert [m["text"] for m in server.api.sent_to(RUNNER)] == ["Day 2 check-in"]


async def test_no_answer_in_time_is_timed_out_and_may_have_arrived(
    server: FakeBotApiServer, bot: ExtBot
) -> None:
    server.api.hang_next("sendMessage", 3, after_delivery=True)
    with pytest.raises(TimedOut) as error:
        await bot.send_message(RUNNER, "Day 2 check-in", read_timeout=0.3)
    # The message did arrive: sending it again could repeat it.
    assert outgoing.classify(error.value)[0] is outgoing.Verdict.UNKNOWN
    assert [m["text"] for m in server.api.sent_to(RUNNER)] == ["Day 2 check-in"]


async def test_a_dropped_connection_is_a_network_error_that_may_have_arrived(
    server: FakeBotApiServer, bot: ExtBot
) -> None:
    server.api.reset_next("sendMessage", after_delivery=True)
    with pytest.raises(NetworkError) as error:
        await bot.send_message(RUNNER, "Emergency: call 112")
    assert not isinstance(error.value, TimedOut)
    assert outgoing.classify(error.value)[0] is outgoing.Verdict.UNKNOWN
    # The same client carries on over a new connection.
    await bot.send_message(RUNNER, "Day 2 check-in")
    assert [m["text"] for m in server.api.sent_to(RUNNER)] == [
        "Emergency: call 112",
        "Day 2 check-in",
    ]


async def test_no_connection_at_all_means_nothing_was_sent() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    request = AiohttpRequest(connect_timeout=1)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as error:
            await request.post(f"http://127.0.0.1:{port}/bot1:x/getMe")
    finally:
        await request.shutdown()
    assert outgoing.classify(error.value)[0] is outgoing.Verdict.RETRY


async def test_a_full_pool_times_out_as_not_sent(server: FakeBotApiServer) -> None:
    server.api.hang_next("sendMessage", 2)
    request = AiohttpRequest(connection_pool_size=1, read_timeout=5, pool_timeout=0.2)
    async with build_bot(
        token=server.api.token,
        base_url=server.base_url,
        request=request,
        get_updates_request=AiohttpRequest(),
        pace=False,
    ) as bot:
        held = asyncio.ensure_future(bot.send_message(RUNNER, "held"))
        await asyncio.sleep(0.2)
        with pytest.raises(TimedOut) as error:
            await bot.send_message(RUNNER, "waits for the one connection", connect_timeout=0.1)
        held.cancel()
    assert outgoing.classify(error.value)[0] is outgoing.Verdict.RETRY
    assert "waits for the one connection" not in [m["text"] for m in server.api.sent_to(RUNNER)]


async def test_the_chart_and_the_pdf_upload_unchanged(
    server: FakeBotApiServer, bot: ExtBot
) -> None:
    chart = ProgressData(
        zone="UTC",
        soreness=(SorenessPoint(NOW, 4, "assessment"),),
        assessments=(AssessmentMark(NOW, "HOME_CARE"),),
    )
    await outgoing.deliver(
        bot,
        RUNNER,
        outgoing.SEND_PHOTO,
        {"caption": "<b>Your ankle</b>", "chart": progress_chart.progress_to_json(chart)},
    )
    page = summary_pdf.summary_to_json(
        SummaryData(None, "UTC", None, None, ProgressData(zone="UTC")), now=NOW
    )
    await outgoing.deliver(
        bot,
        RUNNER,
        outgoing.SEND_DOCUMENT,
        {"summary": page, "locale": "en", "filename": "ankle.pdf", "caption": "For your clinic"},
    )
    photo, document = server.api.uploads
    assert photo.data == progress_chart.render_png(chart)
    assert document.filename == "ankle.pdf"
    assert document.data == summary_pdf.render_pdf(page, locale="en")
    assert len(PdfReader(io.BytesIO(document.data)).pages) == 1
    captions = [m.get("caption") for m in server.api.sent_to(RUNNER)]
    assert captions == ["Your ankle", "For your clinic"]


def test_the_transport_is_a_setting_aiohttp_by_default() -> None:
    env = {"TELEGRAM_BOT_TOKEN": "1:abc"}
    assert settings_from_env(env).http_transport == "aiohttp"
    assert settings_from_env({**env, "BOT_HTTP_TRANSPORT": "HTTPX"}).http_transport == "httpx"
    with pytest.raises(ConfigError, match="BOT_HTTP_TRANSPORT"):
        settings_from_env({**env, "BOT_HTTP_TRANSPORT": "curl"})
    assert {type(r).__name__ for r in default_requests()} == {"AiohttpRequest"}
    assert {type(r).__name__ for r in default_requests("httpx")} == {"HTTPXRequest"}
