"""The in-process transport: python-telegram-bot talking to a `FakeBotApi` without a socket.

`LocalBotApiRequest` is a `telegram.request.BaseRequest`, PTB's public interface for the layer
that carries Bot API calls, so a `telegram.Bot` or an `Application` built with
`.request(LocalBotApiRequest(api))` has every call answered by the fake in the same process and
event loop: fast enough for benchmarks making millions of calls, and a test can arm a fault and
see exactly what PTB raises for it.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from fakebotapi.faults import DroppedConnection
from fakebotapi.server import FakeBotApi
from fakebotapi.telegram_rules import Json, UploadedFile

# What httpx says when a server closes the connection instead of answering; PTB's HTTPXRequest
# wraps it as NetworkError("httpx.RemoteProtocolError: <this>").
DISCONNECTED = "Server disconnected without sending a response."


class LocalBotApiRequest(BaseRequest):
    """PTB's request interface answered by a `FakeBotApi` in the same process, without sockets.

    Parameters go through their wire form (`json_parameters`, the text a real HTTP request
    carries) so the fake reads exactly what Telegram would. A call slower than the read timeout
    raises `telegram.error.TimedOut` like an HTTP client does; a dropped connection (an injected
    reset, or a hang that ends) raises the NetworkError PTB's HTTPXRequest raises for it, caused
    by an `httpx.RemoteProtocolError`.
    """

    def __init__(self, api: FakeBotApi, *, read_timeout: float | None = 5.0) -> None:
        self.api = api
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to open: there is no connection pool."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        # PTB documents these as a float, None, or `BaseRequest.DEFAULT_NONE` ("not passed: use
        # your own default"), a plain `object`; the precise type, ODVInput, is in a private
        # module of PTB, so it is not named here.
        read_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        segments = urlsplit(url).path.rstrip("/").split("/")
        if method == "GET" or len(segments) < 2:
            # File downloads (getFile paths) are not served by the fake.
            return 404, _encode({"ok": False, "error_code": 404, "description": "Not Found"})
        token = segments[-2].removeprefix("bot")
        if not self.api.accepts_token(token):
            return 401, _encode({"ok": False, "error_code": 401, "description": "Unauthorized"})
        params = request_data.json_parameters if request_data else {}
        files = _uploaded_files(request_data) if request_data else {}
        # The check BaseRequest.DEFAULT_NONE's documentation prescribes; the Bot's methods pass
        # exactly that object when the caller gave no timeout.
        timeout = self._read_timeout if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout
        try:
            async with asyncio.timeout(timeout):
                status, body = await self.api.respond_async(segments[-1], params, files)
        except TimeoutError as error:
            raise TimedOut(
                f"the fake Bot API did not answer {segments[-1]} in {timeout} s"
            ) from error
        except DroppedConnection:
            cause = httpx.RemoteProtocolError(DISCONNECTED)
            raise NetworkError(f"httpx.RemoteProtocolError: {cause}") from cause
        return status, _encode(body)


def _uploaded_files(request_data: RequestData) -> dict[str, UploadedFile]:
    uploaded: dict[str, UploadedFile] = {}
    for part_name, (filename, content, mime_type) in request_data.multipart_data.items():
        data = content if isinstance(content, bytes) else content.read()
        uploaded[part_name] = UploadedFile(filename=filename, content_type=mime_type, data=data)
    return uploaded


def _encode(body: Json) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")
