"""The fake Bot API over real HTTP, for end-to-end tests and for driving a running bot by hand.

`FakeBotApiServer` serves a `FakeBotApi` on 127.0.0.1 with Telegram's path format,
`/bot<token>/<method>`, accepting what real clients send: POST bodies form-urlencoded, JSON or
multipart (uploads), and GET with a query string. Each request runs in its own thread, so a
long-polling getUpdates never holds up the bot's sendMessage. Point the bot at it with
`base_url = server.url + "/bot"`.

Run standalone with `python -m fakebotapi --port 8081` (or `python -m fakebotapi.http_server`);
a small JSON control API under `/_fake/` then plays the runner (see `CONTROL_HELP`), so a person
can talk to a running bot with curl. The same API injects faults at exact calls (failures,
dropped connections, hangs, pauses to kill the bot at), for end-to-end tests that do not hold the
`FakeBotApi` object; a test that runs `FakeBotApiServer` in its own process can call the same
methods on `server.api`.

A dropped connection is closed without a byte of answer: httpx raises RemoteProtocolError
("Server disconnected without sending a response.") and PTB turns it into NetworkError.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
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

from fakebotapi.faults import DroppedConnection
from fakebotapi.server import DEFAULT_TOKEN, FakeBotApi
from fakebotapi.telegram_rules import Json, UploadedFile

_API_PATH_RE = re.compile(r"/bot([^/]+)/([A-Za-z]+)/?")
_BOUNDARY_RE = re.compile(r'boundary="?([^";]+)"?')
_DISPOSITION_PARAM_RE = re.compile(r'(\w+)="([^"]*)"')

CONTROL_HELP = """\
Fake Bot API control (JSON in, JSON out; form fields and query strings work too):
  POST /_fake/text      {"chat_id": 1, "text": "/start"}          the runner writes
  POST /_fake/press     {"chat_id": 1, "button": "Outside"}       the runner taps a button by label
  POST /_fake/press     {"chat_id": 1, "message_id": 3, "data": "a1:1:loc:outside"}  ... or by data
  GET  /_fake/messages?chat_id=1                                   what the bot showed the chat
  GET  /_fake/calls                                                every Bot API call so far
  POST /_fake/fail      {"method": "sendMessage", "error_code": 429,
                         "description": "Too Many Requests: retry after 3",
                         "parameters": {"retry_after": 3}}         the next call of it fails
        optional: "text_contains": "Emergency" (only a call whose text has it), "chat_id": 1,
        "count": 2 (that many matching calls); "code" works for "error_code"; without
        "description" Telegram's usual one for the code
  POST /_fake/reset     {"method": "sendMessage", "after_delivery": true}
        close the connection without an answer, before or after the call took effect;
        optional: text_contains, chat_id, count, and for getUpdates "confirms": <update id>
        (its offset confirms that update) or "delivers": <update id> (after delivery only)
  POST /_fake/hang      {"method": "sendMessage", "seconds": 30, "after_delivery": false}
        no answer for that long, then the connection closes; same options as reset
  POST /_fake/pause     {"method": "sendMessage", "after_delivery": true}   -> {"id": 1, ...}
        hold the next matching call until released; same options as reset, without count
  POST /_fake/wait_paused {"id": 1, "timeout": 10}    answers once a call is held (408 if not)
  GET  /_fake/paused                                               the calls held now
  POST /_fake/release   {"id": 1, "drop": false}       let it go (without "id": every held one)
  GET  /_fake/faults                                  faults not yet used up
  POST /_fake/clear                                   forget unused faults and pauses
  GET  /_fake/dropped                                 calls ended by a dropped connection
  POST /_fake/raw       {"update": {...}}              queue any JSON as an update
  POST /_fake/group_press  {"chat_id": -100, "user_id": 5, "data": "v1:x"}   a tap in a group
  POST /_fake/inline_press {"user_id": 5, "data": "v1:x"}    a tap under an inline message
  GET  /_fake/duplicates?chat_id=1                 texts the chat received more than once
  GET  /_fake/confirmations                        update ids confirmed by an offset, and when
  POST /_fake/deliver      post the queued updates to the webhook set by setWebhook, with
                           its secret header; 2xx answers confirm them
"""

# Telegram's descriptions for the codes a test most often injects, used when none is given.
_DESCRIPTIONS = {
    400: "Bad Request",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A bot opening hundreds of connections at once (its pool) must not find the listen
    # backlog full (socketserver's default is 5): the kernel would reset the surplus.
    request_queue_size = 1024

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
    # Headers and body go out in two writes: without TCP_NODELAY the body waits for the
    # client's delayed ACK (about 40 ms on Linux) on every kept-alive request.
    disable_nagle_algorithm = True
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
        try:
            status, body = self.server.api.respond(method, params, files)
        except DroppedConnection:
            # Write nothing and close: the client reads the end of the connection where the
            # answer should be, as when a proxy or Telegram's front end resets it.
            self.close_connection = True
            return
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
        except TimeoutError as error:
            self._send_json(408, {"ok": False, "description": str(error)})
            return
        except (LookupError, ValueError, TypeError, RuntimeError) as error:
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
        parameters = _json(params.get("parameters"))
        code = int(params["error_code"] if "error_code" in params else params["code"])
        description = params.get("description") or _DESCRIPTIONS.get(
            code, f"{code} {_reason(code)}"
        ).format(retry_after=(parameters or {}).get("retry_after", 0))
        api.fail_next(
            str(params["method"]),
            code,
            str(description),
            parameters,
            text_contains=_text(params, "text_contains"),
            chat_id=_int(params, "chat_id"),
            count=_int(params, "count") or 1,
        )
        return True
    if action == "reset":
        api.reset_next(
            str(params["method"]),
            after_delivery=_flag(params, "after_delivery", required=True),
            count=_int(params, "count") or 1,
            **_targets(params),
        )
        return True
    if action == "hang":
        api.hang_next(
            str(params["method"]),
            float(params["seconds"]),
            after_delivery=_flag(params, "after_delivery"),
            count=_int(params, "count") or 1,
            **_targets(params),
        )
        return True
    if action == "pause":
        after_delivery = _flag(params, "after_delivery")
        pause = api.pause_next(
            str(params["method"]), after_delivery=after_delivery, **_targets(params)
        )
        return pause.describe()
    if action == "wait_paused":
        within = float(params.get("timeout") or 10)
        if _int(params, "id") is not None:
            pause = api.pause(int(params["id"]))
            pause.wait(within=within)
            return pause.describe()
        return api.wait_paused(within=within).describe()
    if action == "paused":
        return [pause.describe() for pause in api.paused]
    if action == "release":
        drop = _flag(params, "drop")
        if _int(params, "id") is not None:
            pause = api.pause(int(params["id"]))
            pause.release(drop=drop)
            return pause.describe()
        return api.release_paused(drop=drop)
    if action == "faults":
        return api.armed_faults
    if action == "clear":
        api.clear_faults()
        return True
    if action == "dropped":
        return api.dropped_calls
    if action == "raw":
        update = params["update"]
        return api.enqueue_raw(update if isinstance(update, dict | str) else json.dumps(update))
    if action == "group_press":
        return api.group_taps(
            int(params["chat_id"]),
            int(params["user_id"]),
            str(params["data"]),
            message_id=_int(params, "message_id"),
        )
    if action == "inline_press":
        return api.inline_taps(
            int(params["user_id"]),
            str(params["data"]),
            inline_message_id=_text(params, "inline_message_id"),
        )
    if action == "duplicates":
        return api.duplicates(int(params["chat_id"]))
    if action == "deliver":
        from fakebotapi.webhook import deliver

        # This handler runs in its own thread: a loop of its own for the posts.
        delivery = asyncio.run(deliver(api))
        return {"statuses": dict(delivery.statuses), "confirmed": delivery.confirmed}
    if action == "confirmations":
        return [dataclasses.asdict(confirmation) for confirmation in api.confirmations]
    return None


# Control parameters come as JSON values or, from forms and query strings, as text.


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _text(params: Json, name: str) -> str | None:
    value = params.get(name)
    return None if value is None or value == "" else str(value)


def _int(params: Json, name: str) -> int | None:
    value = params.get(name)
    return None if value is None or value == "" else int(value)


def _flag(params: Json, name: str, *, required: bool = False) -> bool:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise ValueError(f"{name} is required (true or false)")
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


def _targets(params: Json) -> dict[str, Any]:
    """Which calls a reset, hang or pause applies to."""
    return {
        "text_contains": _text(params, "text_contains"),
        "chat_id": _int(params, "chat_id"),
        "confirms": _int(params, "confirms"),
        "delivers": _int(params, "delivers"),
    }


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
        # Paused and hanging calls would keep their threads (and the grace period) busy.
        self.api.drop_held_calls()
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


def main(argv: list[str] | None = None, *, prog: str | None = None) -> None:
    """Serve a fake Bot API until interrupted, printing how to point a bot at it."""
    # `prog` names the command in --help: run as `python -m fakebotapi`, argparse would say
    # "__main__.py".
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
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
