"""python-telegram-bot's HTTP layer on aiohttp: the same Bot API calls for less CPU per call.

`AiohttpRequest` is a `telegram.request.BaseRequest`, PTB's public interface for the layer that
carries Bot API calls, so `ExtBot` and everything above it are unchanged. It exists because
profiles of the bot's busiest path put PTB's default HTTPX transport among the largest costs per
update; aiohttp does the same request for about half the CPU. `HTTPXRequest` stays selectable
(`BOT_HTTP_TRANSPORT=httpx`, see `bot.config`).

Errors mean what HTTPXRequest's mean, so the outbox's verdicts (`bot.outgoing.ERROR_TABLE`)
hold: a timeout while waiting for a pooled connection or connecting is `TimedOut` caused by
`aiohttp.ConnectionTimeoutError` (nothing was sent); any other timeout is a plain `TimedOut`
(the request may have arrived); a broken connection is `NetworkError` caused by the aiohttp
error, which says whether the request could have left (`ClientConnectorError`: never
connected) or not. aiohttp has no write timeout: a request's socket-read timeout (which runs
from sending until the whole answer is read) gets the write timeout added when it uploads
files, so a chart or a PDF on a slow uplink is not cut off by the read timeout alone.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# `BaseRequest.DEFAULT_NONE`'s type (PTB's DefaultValue) lives in a private module: compare
# against the sentinel itself.
_DEFAULT = BaseRequest.DEFAULT_NONE
_JSON_HEADERS = {"Content-Type": "application/json", "User-Agent": BaseRequest.USER_AGENT}
_HEADERS = {"User-Agent": BaseRequest.USER_AGENT}


class AiohttpRequest(BaseRequest):
    """A pool of up to `connection_pool_size` connections with PTB's four timeouts (seconds,
    None for none). The session is opened by `initialize` (inside the running loop) and closed
    by `shutdown`; PTB's `Bot.initialize`/`shutdown` call them."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 1,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                # PTB parses the body itself; aiohttp need not guess its encoding.
                auto_decompress=True,
                raise_for_status=False,
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _timeout(
        self, read: Any, write: Any, connect: Any, pool: Any, *, uploads: bool
    ) -> aiohttp.ClientTimeout:
        read = self._read_timeout if read is _DEFAULT else read
        write = self._write_timeout if write is _DEFAULT else write
        connect = self._connect_timeout if connect is _DEFAULT else connect
        pool = self._pool_timeout if pool is _DEFAULT else pool
        if uploads and read is not None and write is not None:
            read = read + write
        # aiohttp's `connect` covers waiting for a pooled connection and opening a new one.
        waiting = None if connect is None or pool is None else connect + pool
        return aiohttp.ClientTimeout(
            total=None, connect=waiting, sock_connect=connect, sock_read=read
        )

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | object | None = _DEFAULT,
        write_timeout: float | object | None = _DEFAULT,
        connect_timeout: float | object | None = _DEFAULT,
        pool_timeout: float | object | None = _DEFAULT,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data is not None else None
        timeout = self._timeout(
            read_timeout, write_timeout, connect_timeout, pool_timeout, uploads=bool(files)
        )
        kwargs: dict[str, Any]
        if request_data is None:
            kwargs = {"headers": _HEADERS}
        elif files:
            kwargs = {"headers": _HEADERS, "data": _form(request_data, files)}
        else:
            # JSON, as PTB already encoded it: no form encoding of every parameter.
            kwargs = {"headers": _JSON_HEADERS, "data": request_data.json_payload}
        try:
            async with self._session.request(method, url, timeout=timeout, **kwargs) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as error:
            raise TimedOut(
                "Pool or connect timeout: no connection to Telegram in time. Request was *not*"
                " sent to Telegram."
            ) from error
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def _form(request_data: RequestData, files: dict[str, Any]) -> aiohttp.FormData:
    """A multipart body: every parameter as a field, every file as a part (a chart, a PDF)."""
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, part in files.items():
        # PTB gives (filename, content, mimetype), or bare content for an unnamed part.
        if isinstance(part, tuple):
            filename, content, *rest = part
            form.add_field(name, content, filename=filename, content_type=rest[0] if rest else None)
        else:
            form.add_field(name, part, filename=name)
    return form
