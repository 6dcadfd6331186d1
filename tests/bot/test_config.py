"""Settings read from the environment: defaults, and a one-line error for each bad value."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, settings_from_env

TOKEN = "123456789:AAE-settings-test"


def test_defaults_need_only_a_token() -> None:
    settings = settings_from_env({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert (settings.log_level, settings.log_format, settings.scheduler_interval) == (
        "INFO",
        "text",
        1.0,
    )
    assert settings.database_url == "sqlite:///ankle-bot.db"
    assert TOKEN not in repr(settings)


@pytest.mark.parametrize("value", ["json", "JSON", " json "])
def test_json_logs_can_be_chosen(value: str) -> None:
    settings = settings_from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "LOG_FORMAT": value})
    assert settings.log_format == "json"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("LOG_FORMAT", "xml", "LOG_FORMAT"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("SCHEDULER_INTERVAL", "soon", "SCHEDULER_INTERVAL"),
        ("TELEGRAM_API_URL", "ftp://x", "TELEGRAM_API_URL"),
        ("CHAT_SEND_INTERVAL", "-1", "CHAT_SEND_INTERVAL"),
    ],
)
def test_a_bad_value_is_a_one_line_error_naming_the_setting(
    name: str, value: str, says: str
) -> None:
    with pytest.raises(ConfigError) as error:
        settings_from_env({"TELEGRAM_BOT_TOKEN": TOKEN, name: value})
    assert says in str(error.value) and "\n" not in str(error.value)


def test_paid_broadcast_is_off_by_default_and_can_be_turned_on() -> None:
    default = settings_from_env({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert (default.paid_broadcast, default.paid_broadcast_rate) == (False, 970)
    paid = settings_from_env(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "PAID_BROADCAST": "1", "PAID_BROADCAST_RATE": "500"}
    )
    assert (paid.paid_broadcast, paid.paid_broadcast_rate) == (True, 500)


@pytest.mark.parametrize(
    ("name", "value"),
    [("PAID_BROADCAST", "maybe"), ("PAID_BROADCAST_RATE", "1001"), ("PAID_BROADCAST_RATE", "x")],
)
def test_a_bad_paid_broadcast_setting_names_itself(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        settings_from_env({"TELEGRAM_BOT_TOKEN": TOKEN, name: value})
