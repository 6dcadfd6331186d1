"""The fake Bot API over HTTP: PTB polls it, errors become PTB exceptions, curl can drive it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import InvalidToken, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from tests.fakes.botapi import FakeBotApi
from tests.fakes.http_server import FakeBotApiServer, parse_multipart

RUNNER = 2001
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer(FakeBotApi()) as running:
        yield running


def application(server: FakeBotApiServer, token: str | None = None) -> Application:
    return (
        Application.builder()
        .token(token or server.api.token)
        .base_url(server.base_url)
        .base_file_url(server.url + "/file/bot")
        .build()
    )


def api_url(server: FakeBotApiServer, method: str) -> str:
    return f"{server.base_url}{server.api.token}/{method}"


async def test_a_polling_application_receives_an_update_and_replies(
    server: FakeBotApiServer,
) -> None:
    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
        await update.message.reply_text(
            f"<b>Heard</b>: {update.message.text}", parse_mode="HTML", reply_markup=markup
        )

    async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("Saved")
        await update.callback_query.edit_message_reply_markup(None)

    app = application(server)
    app.add_handler(MessageHandler(filters.TEXT, on_text))
    app.add_handler(CallbackQueryHandler(on_press))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        await app.start()
        server.api.user_sends_text(RUNNER, "my ankle")
        reply = (await server.api.wait_for_sent(RUNNER, 1))[0]
        server.api.user_taps(RUNNER, "Yes")
        shown = await server.api.wait_for_sent(RUNNER, 2)
        await app.updater.stop()
        await app.stop()
    assert reply["text"] == "Heard: my ankle"
    assert reply["entities"] == [{"type": "bold", "offset": 0, "length": 5}]
    assert "reply_markup" not in shown[1]
    assert server.api.callback_answers[0]["text"] == "Saved"


async def test_an_injected_429_surfaces_as_retry_after(server: FakeBotApiServer) -> None:
    server.api.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", {"retry_after": 7})
    async with application(server) as app:
        with pytest.raises(RetryAfter, match="Retry in 7 seconds"):
            await app.bot.send_message(RUNNER, "Day 2 check-in")
        sent = await app.bot.send_message(RUNNER, "Day 2 check-in")
    assert sent.text == "Day 2 check-in"


async def test_a_wrong_token_is_unauthorized(server: FakeBotApiServer) -> None:
    with pytest.raises(InvalidToken):
        async with application(server, token="42:not-the-token"):
            pass


async def test_uploaded_bytes_arrive_unchanged(server: FakeBotApiServer) -> None:
    payload = bytes(range(256)) * 4 + b"\r\n--boundary-lookalike\r\n"
    async with application(server) as app:
        await app.bot.send_document(RUNNER, payload, filename="export.bin")
    assert server.api.uploads[0].data == payload
    assert server.api.uploads[0].filename == "export.bin"


def test_a_long_poll_does_not_block_other_requests(server: FakeBotApiServer) -> None:
    answers: list[httpx.Response] = []
    poll = threading.Thread(
        target=lambda: answers.append(
            httpx.post(api_url(server, "getUpdates"), data={"timeout": "30"}, timeout=40)
        )
    )
    poll.start()
    server.api.wait_until(lambda: server.api.calls_to("getUpdates"))
    sent = httpx.post(
        api_url(server, "sendMessage"), json={"chat_id": RUNNER, "text": "meanwhile"}, timeout=5
    )
    assert sent.json()["result"]["text"] == "meanwhile"
    assert poll.is_alive()
    server.api.user_sends_text(RUNNER, "wake up")
    poll.join(5)
    assert answers[0].json()["result"][0]["message"]["text"] == "wake up"


def test_get_with_a_query_string_is_answered(server: FakeBotApiServer) -> None:
    response = httpx.get(
        api_url(server, "sendMessage"), params={"chat_id": RUNNER, "text": "via GET"}
    )
    assert response.status_code == 200
    assert response.json()["result"]["text"] == "via GET"


def test_errors_carry_telegrams_status_code_and_body(server: FakeBotApiServer) -> None:
    response = httpx.post(api_url(server, "noSuchMethod"))
    assert response.status_code == 404
    assert response.json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }


def test_stopping_the_server_ends_a_waiting_long_poll() -> None:
    server = FakeBotApiServer()
    server.start()
    answers: list[httpx.Response] = []
    poll = threading.Thread(
        target=lambda: answers.append(
            httpx.post(api_url(server, "getUpdates"), data={"timeout": "30"}, timeout=40)
        )
    )
    poll.start()
    server.api.wait_until(lambda: server.api.calls_to("getUpdates"))
    server.stop()
    poll.join(5)
    assert not poll.is_alive()
    assert answers[0].json() == {"ok": True, "result": []}


def test_control_api_plays_the_runner_and_shows_what_the_chat_saw(
    server: FakeBotApiServer,
) -> None:
    control = server.url + "/_fake"
    update = httpx.post(f"{control}/text", json={"chat_id": RUNNER, "text": "/start"}).json()
    assert update["result"]["message"]["text"] == "/start"
    httpx.post(
        api_url(server, "sendMessage"),
        data={
            "chat_id": str(RUNNER),
            "text": "Where?",
            "reply_markup": json.dumps(
                {"inline_keyboard": [[{"text": "Outside", "callback_data": "loc:out"}]]}
            ),
        },
    )
    pressed = httpx.post(f"{control}/press", data={"chat_id": str(RUNNER), "button": "Outside"})
    assert pressed.json()["result"]["callback_query"]["data"] == "loc:out"
    seen = httpx.get(f"{control}/messages", params={"chat_id": RUNNER}).json()["result"]
    assert [m["text"] for m in seen] == ["Where?"]
    missing = httpx.post(f"{control}/press", json={"chat_id": RUNNER, "button": "Heel"})
    assert missing.status_code == 400
    failing = httpx.post(
        f"{control}/fail",
        json={
            "method": "sendMessage",
            "error_code": 403,
            "description": "Forbidden: bot was blocked by the user",
        },
    )
    assert failing.json()["result"] is True
    assert (
        httpx.post(api_url(server, "sendMessage"), data={"chat_id": "1", "text": "x"}).status_code
        == 403
    )
    assert "POST /_fake/text" in httpx.get(f"{control}/").text


def test_multipart_parsing_separates_fields_from_files() -> None:
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="chat_id"\r\n\r\n'
        b"7\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="photo"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n"
        b"\x89PNG\r\n\r\nbinary\r\n"
        b"--XyZ--\r\n"
    )
    fields, files = parse_multipart(body, "multipart/form-data; boundary=XyZ")
    assert fields == {"chat_id": "7"}
    assert files["photo"].data == b"\x89PNG\r\n\r\nbinary"
    assert files["photo"].content_type == "image/png"


def test_standalone_server_prints_its_url_and_answers() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.http_server", "--port", "0"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()))
        reader.start()
        reader.join(10)
        assert lines, "the standalone server printed nothing"
        url = lines[0].strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        me = httpx.get(f"{url}/bot{FakeBotApi().token}/getMe", timeout=5)
        assert me.json()["result"]["is_bot"] is True
    finally:
        process.terminate()
        process.wait(10)
