"""Settings, read once from the environment by the entry point (never at import time).

A missing or malformed setting is a `ConfigError` whose message is one line saying what to set,
so the entry point can print it instead of a traceback.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_DATABASE_URL = "sqlite:///ankle-bot.db"
# The HTTP layer under python-telegram-bot (bot/request.py): aiohttp costs less per call;
# PTB's own httpx stays selectable in case.
HTTP_TRANSPORTS = ("aiohttp", "httpx")
# Telegram's paid broadcasts go up to 1,000 messages a second in all; the free 30 a second of
# replies come out of that, so the paid budget defaults to the rest.
MAX_PAID_BROADCAST_RATE = 1000
DEFAULT_PAID_BROADCAST_RATE = 970
# Bot API tokens look like "123456789:AAH...": digits, a colon, URL-safe characters. Kept loose
# on purpose: local Bot API servers used for testing accept short made-up tokens.
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
# Telegram accepts 1-256 of these characters; fewer than 16 would be guessable.
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
# Telegram's updates are a few KiB; a MiB leaves room and refuses anything abusive.
DEFAULT_WEBHOOK_MAX_BODY = 1 << 20
MODES = ("polling", "webhook")


class ConfigError(Exception):
    """A setting is missing or malformed; the message says what to set."""


@dataclass(frozen=True, slots=True)
class Settings:
    token: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    log_level: str = "INFO"
    # "text" (readable lines) or "json" (one JSON object per line, for log collectors).
    log_format: str = "text"
    scheduler_interval: float = 1.0
    # Seconds between two messages to one private chat (Telegram: about one a second).
    chat_send_interval: float = 1.0
    clock_file: Path | None = None
    # "polling" (getUpdates; the default, one process) or "webhook" (`python -m bot serve`).
    mode: str = "polling"
    webhook: WebhookSettings | None = None
    http_transport: str = HTTP_TRANSPORTS[0]
    # Send reminder fan-outs with Telegram's allow_paid_broadcast (a fee per message), at up to
    # `paid_broadcast_rate` a second beside the free 30.
    paid_broadcast: bool = False
    paid_broadcast_rate: int = DEFAULT_PAID_BROADCAST_RATE

    @property
    def base_url(self) -> str:
        """python-telegram-bot's base_url: the token is appended to it."""
        return bot_api_base_url(self.api_url)

    @property
    def base_file_url(self) -> str:
        return bot_api_base_url(self.api_url, files=True)


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Where Telegram posts updates, and how the webhook server listens (`bot.webhook`)."""

    # The public address Telegram posts to is `url` + `path`; the server answers on `path`.
    url: str
    secret: str = field(repr=False)
    path: str = ""
    host: str = "127.0.0.1"
    port: int = 8443
    max_connections: int = 40
    max_body: int = DEFAULT_WEBHOOK_MAX_BODY

    @property
    def public_url(self) -> str:
        return self.url.rstrip("/") + self.path


def default_webhook_path(token: str, secret: str) -> str:
    """A long path nobody can guess without the token and the secret, the same in every
    process started with them (so workers behind one proxy agree on it)."""
    digest = hashlib.sha256(f"{token}\n{secret}".encode()).hexdigest()[:32]
    return f"/telegram/{digest}"


def webhook_settings_from_env(env: Mapping[str, str], *, token: str) -> WebhookSettings:
    """The WEBHOOK_* settings; each missing or malformed one is a one-line ConfigError."""
    url = env.get("WEBHOOK_URL", "").strip()
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", url):
        raise ConfigError(
            "WEBHOOK_URL must be the public https address Telegram posts to, such as "
            "https://bot.example.org (the path WEBHOOK_PATH is added to it)"
        )
    secret = env.get("WEBHOOK_SECRET", "").strip()
    if not _WEBHOOK_SECRET.match(secret):
        raise ConfigError(
            "WEBHOOK_SECRET must be 16 to 256 characters of A-Z, a-z, 0-9, _ and - (for "
            "example the output of `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    path = env.get("WEBHOOK_PATH", "").strip() or default_webhook_path(token, secret)
    if not re.match(r"^/[A-Za-z0-9._~/-]*$", path):
        raise ConfigError("WEBHOOK_PATH must be a URL path starting with /, such as /telegram")
    host = env.get("WEBHOOK_HOST", "").strip() or "127.0.0.1"
    port = _int_setting(env, "WEBHOOK_PORT", 8443, 1, 65535)
    max_connections = _int_setting(env, "WEBHOOK_MAX_CONNECTIONS", 40, 1, 100)
    max_body = _int_setting(env, "WEBHOOK_MAX_BODY", DEFAULT_WEBHOOK_MAX_BODY, 1024, 64 << 20)
    return WebhookSettings(
        url=url,
        secret=secret,
        path=path,
        host=host,
        port=port,
        max_connections=max_connections,
        max_body=max_body,
    )


def _int_setting(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def bot_api_base_url(api_url: str, *, files: bool = False) -> str:
    """Accept `https://host`, `https://host/bot` or a URL with `{token}`, as people write them."""
    if "{token}" in api_url:
        return api_url.replace("/bot{token}", "/file/bot{token}") if files else api_url
    root = api_url.rstrip("/")
    root = root.removesuffix("/bot")
    return f"{root}/file/bot" if files else f"{root}/bot"


def database_url_from(env: Mapping[str, str]) -> str:
    return env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """Read and check every setting; raise ConfigError with a one-line message on a bad one."""
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather in Telegram and run "
            "`export TELEGRAM_BOT_TOKEN=<token>` (or try the bot without Telegram: "
            "`python -m bot chat`)"
        )
    if not _TOKEN.match(token):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (expected digits, a colon and "
            "the secret, e.g. 123456789:AA...): copy it again from @BotFather"
        )
    api_url = env.get("TELEGRAM_API_URL", "").strip() or DEFAULT_API_URL
    if not re.match(r"^https?://[^/\s]+", api_url):
        raise ConfigError(
            f"TELEGRAM_API_URL must be an http(s) URL such as {DEFAULT_API_URL} or "
            "http://127.0.0.1:8081"
        )
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR")
    log_format = env.get("LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in {"text", "json"}:
        raise ConfigError("LOG_FORMAT must be text or json")
    try:
        interval = float(env.get("SCHEDULER_INTERVAL", "1") or "1")
    except ValueError:
        interval = -1.0
    if not 0.05 <= interval <= 3600:
        raise ConfigError("SCHEDULER_INTERVAL must be a number of seconds, 0.05 to 3600")
    try:
        chat_interval = float(env.get("CHAT_SEND_INTERVAL", "1") or "1")
    except ValueError:
        chat_interval = -1.0
    if not 0 <= chat_interval <= 60:
        raise ConfigError("CHAT_SEND_INTERVAL must be a number of seconds, 0 to 60")
    clock_file = env.get("BOT_CLOCK_FILE", "").strip()
    mode = env.get("BOT_MODE", "polling").strip().lower() or "polling"
    if mode not in MODES:
        raise ConfigError("BOT_MODE must be polling or webhook")
    webhook = webhook_settings_from_env(env, token=token) if mode == "webhook" else None
    transport = env.get("BOT_HTTP_TRANSPORT", "").strip().lower() or HTTP_TRANSPORTS[0]
    if transport not in HTTP_TRANSPORTS:
        raise ConfigError(f"BOT_HTTP_TRANSPORT must be one of {', '.join(HTTP_TRANSPORTS)}")
    paid = env.get("PAID_BROADCAST", "0").strip().lower() or "0"
    if paid not in {"0", "1", "true", "false", "yes", "no"}:
        raise ConfigError("PAID_BROADCAST must be 1 (send reminders as paid broadcasts) or 0")
    try:
        paid_rate = int(env.get("PAID_BROADCAST_RATE", "") or DEFAULT_PAID_BROADCAST_RATE)
    except ValueError:
        paid_rate = 0
    if not 1 <= paid_rate <= MAX_PAID_BROADCAST_RATE:
        raise ConfigError(
            f"PAID_BROADCAST_RATE must be a whole number of messages a second, 1 to "
            f"{MAX_PAID_BROADCAST_RATE}"
        )
    return Settings(
        token=token,
        api_url=api_url,
        database_url=database_url_from(env),
        log_level=log_level,
        log_format=log_format,
        scheduler_interval=interval,
        chat_send_interval=chat_interval,
        clock_file=Path(clock_file) if clock_file else None,
        mode=mode,
        webhook=webhook,
        http_transport=transport,
        paid_broadcast=paid in {"1", "true", "yes"},
        paid_broadcast_rate=paid_rate,
    )
