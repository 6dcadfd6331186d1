"""The fake Bot API over HTTP: PTB polls it, errors become PTB exceptions, curl can drive it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from fakebotapi import FakeBotApi
from fakebotapi.http_server import FakeBotApiServer, parse_multipart

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


@pytest.mark.parametrize("module", ["fakebotapi", "fakebotapi.http_server"])
def test_standalone_server_prints_its_url_and_answers(module: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
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
    assert process.stderr is not None
    # The package must not import http_server before runpy runs it (RuntimeWarning, two copies).
    assert "Warning" not in process.stderr.read()


def control(server: FakeBotApiServer, action: str, **params: object) -> httpx.Response:
    return httpx.post(f"{server.url}/_fake/{action}", json=params, timeout=30)


async def test_a_targeted_failure_with_a_count_set_over_http(server: FakeBotApiServer) -> None:
    armed = control(
        server,
        "fail",
        method="sendMessage",
        code=429,
        parameters={"retry_after": 2},
        text_contains="Emergency",
        count=2,
    )
    assert armed.json() == {"ok": True, "result": True}
    assert control(server, "faults").json()["result"] == [
        {
            "kind": "fail",
            "method": "sendMessage",
            "text_contains": "Emergency",
            "after_delivery": False,
            "remaining": 2,
        }
    ]
    async with application(server) as app, httpx.AsyncClient() as client:
        await app.bot.send_message(RUNNER, "Day 2 check-in")
        with pytest.raises(RetryAfter, match="Retry in 2 seconds"):
            await app.bot.send_message(RUNNER, "Emergency: call 112")
        form = {"chat_id": str(RUNNER), "text": "Emergency!"}
        refused = await client.post(api_url(server, "sendMessage"), data=form)
        accepted = await client.post(api_url(server, "sendMessage"), data=form)
    assert refused.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 2",
        "parameters": {"retry_after": 2},
    }
    assert accepted.is_success
    assert control(server, "faults").json()["result"] == []


async def test_a_reset_before_delivery_is_a_network_error_in_ptb(
    server: FakeBotApiServer,
) -> None:
    control(server, "reset", method="sendMessage", after_delivery=False, text_contains="Emergency")
    async with application(server) as app:
        with pytest.raises(NetworkError) as reset:
            await app.bot.send_message(RUNNER, "Emergency: call 112")
        # The same client carries on over a new connection.
        await app.bot.send_message(RUNNER, "Day 2 check-in")
    assert str(reset.value) == (
        "httpx.RemoteProtocolError: Server disconnected without sending a response."
    )
    assert isinstance(reset.value.__cause__, httpx.RemoteProtocolError)
    assert [m["text"] for m in server.api.sent_to(RUNNER)] == ["Day 2 check-in"]


def test_a_reset_after_delivery_leaves_the_message_in_the_chat(server: FakeBotApiServer) -> None:
    missing = control(server, "reset", method="sendMessage", text_contains="Day")
    assert missing.status_code == 400 and "after_delivery" in missing.json()["description"]
    # Form fields work as well as JSON.
    httpx.post(
        f"{server.url}/_fake/reset", data={"method": "sendMessage", "after_delivery": "true"}
    )
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(api_url(server, "sendMessage"), json={"chat_id": RUNNER, "text": "Day 3"})
    assert [m["text"] for m in server.api.sent_to(RUNNER)] == ["Day 3"]
    dropped = httpx.get(f"{server.url}/_fake/dropped").json()["result"]
    assert [(d["params"]["text"], d["delivered"]) for d in dropped] == [("Day 3", True)]


async def test_a_hang_times_the_client_out(server: FakeBotApiServer) -> None:
    control(server, "hang", method="sendMessage", seconds=3, text_contains="Day 2")
    async with application(server) as app:
        with pytest.raises(TimedOut):
            await app.bot.send_message(RUNNER, "Day 2 check-in", read_timeout=0.2)
    assert server.api.sent_to(RUNNER) == []


def test_stopping_the_server_drops_hanging_and_paused_calls() -> None:
    server = FakeBotApiServer()
    server.start()
    server.api.hang_next("sendMessage", 60)
    server.api.pause_next("getMe")
    errors: list[Exception] = []

    def call(method: str, params: dict) -> None:
        try:
            httpx.post(api_url(server, method), json=params, timeout=60)
        except httpx.HTTPError as error:
            errors.append(error)

    clients = [
        threading.Thread(target=call, args=("sendMessage", {"chat_id": RUNNER, "text": "x"})),
        threading.Thread(target=call, args=("getMe", {})),
    ]
    for client in clients:
        client.start()
    server.api.wait_paused(within=5)
    server.api.wait_until(lambda: len(server.api.calls) == 2)
    started = time.monotonic()
    server.stop()
    for client in clients:
        client.join(5)
    assert time.monotonic() - started < 2
    assert [type(error) for error in errors] == [httpx.RemoteProtocolError] * 2


def test_a_pause_holds_a_call_until_the_test_releases_it(server: FakeBotApiServer) -> None:
    pause = control(server, "pause", method="sendMessage", text_contains="Day 2").json()["result"]
    assert pause["state"] == "armed" and pause["after_delivery"] is False
    answers: list[httpx.Response] = []
    sender = threading.Thread(
        target=lambda: answers.append(
            httpx.post(
                api_url(server, "sendMessage"),
                json={"chat_id": RUNNER, "text": "Day 2 check-in"},
                timeout=30,
            )
        )
    )
    sender.start()
    held = control(server, "wait_paused", id=pause["id"], timeout=5).json()["result"]
    assert held["state"] == "blocked" and held["params"]["text"] == "Day 2 check-in"
    assert [p["id"] for p in httpx.get(f"{server.url}/_fake/paused").json()["result"]] == [
        pause["id"]
    ]
    assert server.api.sent_to(RUNNER) == []
    released = control(server, "release", id=pause["id"]).json()["result"]
    assert released["state"] == "released"
    sender.join(5)
    assert answers[0].json()["result"]["text"] == "Day 2 check-in"
    waited = control(server, "wait_paused", timeout=0.1)
    assert waited.status_code == 408


def test_the_bot_process_can_be_killed_while_its_send_is_held(
    server: FakeBotApiServer,
) -> None:
    """The moment an end-to-end test kills the bot at: the message is in the chat, and the
    process that sent it never learns so."""
    control(server, "pause", method="sendMessage", after_delivery=True)
    client = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import httpx, sys; httpx.post(sys.argv[1], "
            "json={'chat_id': int(sys.argv[2]), 'text': 'Day 2'}, timeout=60)",
            api_url(server, "sendMessage"),
            str(RUNNER),
        ],
        cwd=PROJECT_ROOT,
    )
    try:
        held = control(server, "wait_paused", timeout=20).json()["result"]
        assert held["result"]["text"] == "Day 2"
        seen = httpx.get(f"{server.url}/_fake/messages", params={"chat_id": RUNNER}).json()
        assert [m["text"] for m in seen["result"]] == ["Day 2"]
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait(10)
    assert control(server, "release", drop=True).json()["result"] == 1
    server.api.wait_until(lambda: server.api.dropped_calls)
    assert server.api.dropped_calls[0]["delivered"] is True
    assert httpx.post(api_url(server, "getMe")).is_success


def test_odd_updates_and_confirmations_over_http(server: FakeBotApiServer) -> None:
    poison = {"callback_query": {"id": "9", "from": {"id": RUNNER, "is_bot": False}}}
    raw = control(server, "raw", update=poison).json()["result"]
    group = control(server, "group_press", chat_id=-4001, user_id=5150, data="v1:x").json()
    inline = control(server, "inline_press", user_id=5150, data="v1:y").json()
    assert group["result"]["callback_query"]["message"]["chat"]["type"] == "group"
    assert "message" not in inline["result"]["callback_query"]
    updates = httpx.post(api_url(server, "getUpdates")).json()["result"]
    assert updates[0] == raw and [u["update_id"] for u in updates] == [1, 2, 3]

    # The confirming getUpdates is held: nothing is confirmed until it goes on.
    control(server, "pause", method="getUpdates", confirms=3)
    poll = threading.Thread(
        target=lambda: httpx.post(api_url(server, "getUpdates"), json={"offset": 4}, timeout=30)
    )
    poll.start()
    control(server, "wait_paused", timeout=5)
    assert control(server, "confirmations").json()["result"] == []
    control(server, "release")
    poll.join(5)
    confirmed = httpx.get(f"{server.url}/_fake/confirmations").json()["result"]
    assert [(c["update_id"], c["offset"], c["deliveries"]) for c in confirmed] == [
        (1, 4, 1),
        (2, 4, 1),
        (3, 4, 1),
    ]

    for _ in range(2):
        httpx.post(api_url(server, "sendMessage"), json={"chat_id": RUNNER, "text": "Day 2"})
    duplicates = httpx.get(f"{server.url}/_fake/duplicates", params={"chat_id": RUNNER})
    assert duplicates.json()["result"] == {"Day 2": 2}
