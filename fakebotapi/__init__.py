"""A fake Telegram Bot API for tests, benchmarks and trying the bot without Telegram.

Telegram cannot be reached from the machines that test and benchmark this bot, so whatever would
talk to api.telegram.org talks to a `FakeBotApi` instead: it answers and refuses like Telegram,
plays the runners (`api.user_sends_text`, `api.user_taps`...) and injects faults at exact calls.
The package is split by job: `server` (the state and the Bot API methods), `simulator` (the
updates people cause), `faults` (failures, dropped connections, hangs, pauses, hooks),
`transport` (`LocalBotApiRequest`, the fake inside python-telegram-bot without a socket),
`http_server` (`FakeBotApiServer`, the fake over real HTTP with a `/_fake/` control API;
`python -m fakebotapi --port 8081`), `webhook` (posting queued updates to the webhook set by
`setWebhook`), `flood` (Telegram's 429s over 30 a second, when turned on), and
`telegram_rules`/`telegram_html` (what Telegram accepts, as pure functions). It is a tool of
the project, not a test file: the tests, `bench/` and the README all use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fakebotapi.faults import Call, DroppedConnection, Pause
from fakebotapi.server import DEFAULT_TOKEN, Confirmation, FakeBotApi, Upload
from fakebotapi.simulator import DEFAULT_GROUP_MEMBER_ID, RunnerSimulator
from fakebotapi.telegram_rules import ApiError, Json, UploadedFile
from fakebotapi.transport import LocalBotApiRequest

if TYPE_CHECKING:
    from fakebotapi.http_server import FakeBotApiServer

__all__ = [
    "DEFAULT_GROUP_MEMBER_ID",
    "DEFAULT_TOKEN",
    "ApiError",
    "Call",
    "Confirmation",
    "DroppedConnection",
    "FakeBotApi",
    "FakeBotApiServer",
    "Json",
    "LocalBotApiRequest",
    "Pause",
    "RunnerSimulator",
    "Upload",
    "UploadedFile",
]


def __getattr__(name: str) -> Any:
    # http_server is imported on first use, not here: `python -m fakebotapi.http_server` would
    # otherwise find the module already imported by the package and run a second copy of it
    # (runpy warns "found in sys.modules ... prior to execution").
    if name == "FakeBotApiServer":
        from fakebotapi.http_server import FakeBotApiServer

        return FakeBotApiServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
