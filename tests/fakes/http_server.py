"""The fake Bot API over real HTTP, for end-to-end tests and for driving a running bot by hand.

`FakeBotApiServer` serves a `FakeBotApi` on 127.0.0.1 with Telegram's path format,
`/bot<token>/<method>`, accepting what real clients send: POST bodies form-urlencoded, JSON or
multipart (uploads), and GET with a query string. Each request runs in its own thread, so a
long-polling getUpdates never holds up the bot's sendMessage. Point the bot at it with
`base_url = server.url + "/bot"`.

Run standalone with `python -m tests.fakes.http_server --port 8081`; a small JSON control API
under `/_fake/` then plays the runner (see `CONTROL_HELP`), so a person can talk to a running bot
with curl.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import socket
import sys
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.botapi import DEFAULT_TOKEN, FakeBotApi
from tests.fakes.telegram_rules import Json, UploadedFile

_API_PATH_RE = re.compile(r"/bot([^/]+)/([A-Za-z]+)/?")
_BOUNDARY_RE = re.compile(r'boundary="?([^";]+)"?')
_DISPOSITION_PARAM_RE = re.compile(r'(\w+)="([^"]*)"')

CONTROL_HELP = """\
Fake Bot API control (JSON in, JSON out; form fields and query strings work too):
  POST /_fake/text      {"chat_id": 1, "text": "/start"}          the runner writes
  POST /_fake/press     {"chat_id": 1, "button": "Outside"}       the runner taps a button by label
  POST /_fake/press     {"chat_id": 1, "message_id": 3, "data": "v1:q:loc:out"}   ... or by data
  GET  /_fake/messages?chat_id=1                                   what the bot showed the chat
  GET  /_fake/calls                                                every Bot API call so far
  POST /_fake/fail      {"method": "sendMessage", "error_code": 429,
                         "description": "Too Many Requests: retry after 3",
                         "parameters": {"retry_after": 3}}         the next call of it fails
"""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], api: FakeBotApi) -> None:
        super().__init__(address, _Handler)
        self.api = api
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        self.in_flight = 0
        self.idle = threading.Condition(self.connections_lock)
        self.stopping = False

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def begin_request(self) -> bool:
        """Count a request in; False once stopping (a kept-alive connection asked again)."""
        with self.connections_lock:
            if self.stopping:
                return False
            self.in_flight += 1
            return True

    def end_request(self) -> None:
        with self.connections_lock:
            self.in_flight -= 1
            self.idle.notify_all()

    def close_connections(self, *, grace: float) -> None:
        """Let answers being written finish, then drop kept-alive client connections so their
        handler threads end with the server."""
        with self.connections_lock:
            self.idle.wait_for(lambda: self.in_flight == 0, timeout=grace)
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a cancelled long poll) closes its socket before our answer.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, as api.telegram.org offers; every answer carries a Content-Length.
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._serve_counted()

    def do_POST(self) -> None:
        self._serve_counted()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: test output should show the bot's logs, not one line per request."""

    def _serve_counted(self) -> None:
        if not self.server.begin_request():
            self.close_connection = True
            self._send_json(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
            return
        try:
            self._serve()
        finally:
            self.server.end_request()

    def _serve(self) -> None:
        target = urlsplit(self.path)
        params: Json = dict(parse_qsl(target.query, keep_blank_values=True))
        try:
            body_params, files = self._read_body()
        except ValueError as error:
            self._send_json(400, {"ok": False, "error_code": 400, "description": str(error)})
            return
        params.update(body_params)
        if target.path.startswith("/_fake"):
            self._serve_control(target.path.removeprefix("/_fake").strip("/"), params)
            return
        match = _API_PATH_RE.fullmatch(target.path)
        if match is None:
            self._send_json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        token, method = match.groups()
        if not self.server.api.accepts_token(token):
            self._send_json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        status, body = self.server.api.respond(method, params, files)
        self._send_json(status, body)

    def _read_body(self) -> tuple[Json, dict[str, UploadedFile]]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type") or ""
        if not body:
            return {}, {}
        if content_type.startswith("application/json"):
            decoded = json.loads(body)
            if not isinstance(decoded, dict):
                raise ValueError("Bad Request: the JSON body must be an object")
            return decoded, {}
        if content_type.startswith("multipart/form-data"):
            return parse_multipart(body, content_type)
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)), {}

    def _serve_control(self, action: str, params: Json) -> None:
        api = self.server.api
        try:
            result = _control(api, action, params)
        except (LookupError, ValueError, TypeError) as error:
            self._send_json(400, {"ok": False, "description": str(error)})
            return
        if result is None:
            body = CONTROL_HELP.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self._send_json(200, {"ok": True, "result": result})

    def _send_json(self, status: int, body: Json) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status, _reason(status))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _control(api: FakeBotApi, action: str, params: Json) -> Any:
    """Run one control action; None means "show the help"."""
    if action == "text":
        return api.user_sends_text(int(params["chat_id"]), str(params["text"]))
    if action == "press":
        chat_id = int(params["chat_id"])
        if "button" in params:
            message_id = int(params["message_id"]) if params.get("message_id") else None
            return api.user_taps(chat_id, str(params["button"]), message_id=message_id)
        return api.user_presses(chat_id, int(params["message_id"]), str(params["data"]))
    if action == "messages":
        return api.sent_to(int(params["chat_id"]))
    if action == "calls":
        return [[method, call_params] for method, call_params in api.calls]
    if action == "fail":
        parameters = params.get("parameters")
        if isinstance(parameters, str):
            parameters = json.loads(parameters)
        api.fail_next(
            str(params["method"]),
            int(params["error_code"]),
            str(params["description"]),
            parameters,
        )
        return True
    return None


def parse_multipart(body: bytes, content_type: str) -> tuple[Json, dict[str, UploadedFile]]:
    """Split a multipart/form-data body into text fields and file parts (bytes untouched)."""
    boundary_match = _BOUNDARY_RE.search(content_type)
    if boundary_match is None:
        raise ValueError("Bad Request: multipart body without a boundary")
    delimiter = b"--" + boundary_match.group(1).encode("latin-1")
    fields: Json = {}
    files: dict[str, UploadedFile] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        headers = _part_headers(head)
        disposition = dict(_DISPOSITION_PARAM_RE.findall(headers.get("content-disposition", "")))
        name = disposition.get("name")
        if name is None:
            continue
        if "filename" in disposition:
            files[name] = UploadedFile(
                filename=disposition["filename"],
                content_type=headers.get("content-type"),
                data=data,
            )
        else:
            fields[name] = data.decode("utf-8")
    return fields, files


def _part_headers(head: bytes) -> Mapping[str, str]:
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        name, _, value = line.partition(":")
        if value:
            headers[name.strip().lower()] = value.strip()
    return headers


class FakeBotApiServer:
    """A `FakeBotApi` served over HTTP on 127.0.0.1 in a daemon thread; a context manager."""

    def __init__(self, api: FakeBotApi | None = None, *, host: str = "127.0.0.1", port: int = 0):
        self.api = api if api is not None else FakeBotApi()
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`, the server's root (the port is known once started)."""
        if self._server is None:
            raise RuntimeError("the fake Bot API server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """What PTB's `base_url` should be: the token and method are appended to it."""
        return self.url + "/bot"

    def start(self) -> str:
        """Start serving; returns `url`."""
        if self._server is not None:
            return self.url
        self._server = _Server(self._address, self.api)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-bot-api-server",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving: long polls end at once, open connections are dropped."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server, self._thread = None, None
        server.shutdown()
        # Order matters: refuse new requests, end the long polls, let their answers go out.
        with server.connections_lock:
            server.stopping = True
        self.api.release_pollers()
        server.close_connections(grace=2.0)
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeBotApiServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve a fake Bot API until interrupted, printing how to point a bot at it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the token the bot must use")
    arguments = parser.parse_args(argv)
    server = FakeBotApiServer(
        FakeBotApi(token=arguments.token), host=arguments.host, port=arguments.port
    )
    server.start()
    print(f"Fake Bot API at {server.url}", flush=True)
    print(f"  bot token: {arguments.token}", flush=True)
    print(f"  bot base_url: {server.base_url}", flush=True)
    print(f"  control: curl {server.url}/_fake/", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
