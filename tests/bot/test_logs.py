"""Logging never writes the bot token: not in messages, tracebacks, exception chains, JSON lines
or uncaught-exception reports, and neither the whole token nor its secret part alone."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator

import pytest

from bot.logs import configure_logging, redact, secrets_of

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET_PART = TOKEN.partition(":")[2]
URL = f"https://api.telegram.org/bot{TOKEN}/getMe"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """A stream the tests configure logging to write to; global logging state restored after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, sys.excepthook, threading.excepthook)
    saved_levels = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    yield io.StringIO()
    root.handlers[:], root.level, sys.excepthook, threading.excepthook = saved
    for name, level in saved_levels.items():
        logging.getLogger(name).setLevel(level)


def fetch(url: str) -> None:
    raise ConnectionError(f"could not connect to {url}")


def call_bot_api() -> None:
    try:
        fetch(URL)
    except ConnectionError as error:
        # As some libraries do: the wrapping error names only the secret part.
        raise RuntimeError(f"request failed, secret {SECRET_PART} was sent") from error


def assert_no_token(text: str) -> None:
    assert TOKEN not in text
    assert SECRET_PART not in text
    assert "<token>" in text


def test_an_exception_logged_with_its_chain_shows_no_token(log_output: io.StringIO):
    configure_logging("INFO", token=TOKEN, stream=log_output)
    try:
        call_bot_api()
    except RuntimeError:
        logging.getLogger("bot.test").exception("getMe at %s failed", URL)
    text = log_output.getvalue()
    assert_no_token(text)
    # Still a useful report: the message, both tracebacks and the link between them.
    assert "getMe at https://api.telegram.org/bot<token>/getMe failed" in text
    assert "ConnectionError: could not connect to https://api.telegram.org/bot<token>/getMe" in text
    assert "The above exception was the direct cause of the following exception" in text
    assert "RuntimeError: request failed, secret <token> was sent" in text


def test_the_secret_part_alone_is_redacted_in_messages(log_output: io.StringIO):
    configure_logging("INFO", token=TOKEN, stream=log_output)
    logging.getLogger("some.library").warning("auth=%s", SECRET_PART)
    assert log_output.getvalue().rstrip().endswith("some.library: auth=<token>")


def test_the_token_is_redacted_from_stack_info(log_output: io.StringIO):
    configure_logging("INFO", token=TOKEN, stream=log_output)
    # A stack's source lines can quote a token written in code; a record carries it as text.
    stack = f'Stack (most recent call last):\n  File "x.py", line 1\n    get("{URL}")'
    record = logging.LogRecord("bot.test", logging.INFO, "x.py", 1, "here", None, None, sinfo=stack)
    logging.getLogger("bot.test").handle(record)
    text = log_output.getvalue()
    assert 'get("https://api.telegram.org/bot<token>/getMe")' in text
    assert_no_token(text)


def test_a_second_handler_reusing_the_cached_traceback_sees_it_redacted(log_output: io.StringIO):
    configure_logging("INFO", token=TOKEN, stream=log_output)
    plain = io.StringIO()
    second = logging.StreamHandler(plain)  # logging.Formatter reuses record.exc_text
    logging.getLogger().addHandler(second)
    try:
        fetch(URL)
    except ConnectionError:
        logging.getLogger("bot.test").exception("failed")
    assert TOKEN not in plain.getvalue()
    assert "could not connect to https://api.telegram.org/bot<token>/getMe" in plain.getvalue()


def test_json_lines_are_redacted_and_parse(log_output: io.StringIO):
    configure_logging("INFO", token=TOKEN, json_logs=True, stream=log_output)
    try:
        call_bot_api()
    except RuntimeError:
        logging.getLogger("bot.test").exception("getMe at %s failed", URL)
    text = log_output.getvalue()
    assert_no_token(text)
    [line] = text.splitlines()
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "bot.test"
    assert entry["message"] == "getMe at https://api.telegram.org/bot<token>/getMe failed"
    assert "The above exception was the direct cause" in entry["exception"]


def test_an_uncaught_exception_is_reported_without_the_token(log_output: io.StringIO):
    configure_logging("INFO", token=TOKEN, stream=log_output)
    try:
        call_bot_api()
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    text = log_output.getvalue()
    assert "CRITICAL bot: Uncaught exception" in text
    assert_no_token(text)


def test_an_uncaught_exception_in_a_thread_is_reported_without_the_token(
    log_output: io.StringIO,
):
    configure_logging("INFO", token=TOKEN, stream=log_output)
    thread = threading.Thread(target=call_bot_api, name="poller")
    thread.start()
    thread.join()
    text = log_output.getvalue()
    assert "Uncaught exception in thread poller" in text
    assert_no_token(text)


def test_without_a_token_nothing_is_rewritten(log_output: io.StringIO):
    configure_logging("INFO", stream=log_output)
    logging.getLogger("bot.test").info("GET %s", URL)
    assert URL in log_output.getvalue()
    assert "<token>" not in log_output.getvalue()


def test_the_level_is_applied_and_httpx_is_quietened(log_output: io.StringIO):
    configure_logging("WARNING", token=TOKEN, stream=log_output)
    logging.getLogger("bot.test").info("not shown")
    logging.getLogger("bot.test").warning("shown")
    assert logging.getLogger("httpx").level == logging.WARNING
    assert "not shown" not in log_output.getvalue()
    assert "shown" in log_output.getvalue()


def test_a_short_made_up_secret_is_only_redacted_as_part_of_the_token():
    assert secrets_of("1:abc") == ("1:abc",)
    assert secrets_of(TOKEN) == (TOKEN, SECRET_PART)
    assert secrets_of("") == ()
    assert redact("bot1:abc/getMe abc", secrets_of("1:abc")) == "bot<token>/getMe abc"
