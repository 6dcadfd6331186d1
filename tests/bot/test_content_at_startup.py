"""`python -m bot` reads and checks content/ before anything else: a broken exercise library or
zone list stops the bot (and the terminal chat) with one line and exit code 2, before the
database is opened or the Bot API is contacted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.__main__ import load_content, main
from flows import exercise_library, zones

TOKEN = "123456789:AAFakeTokenForTheContentCheck_abcdefghij"


@pytest.fixture
def fresh_content() -> Iterator[None]:
    """Forget the cached files before and after, so each test reads the file it points at."""
    for cached in (exercise_library.exercises, exercise_library._by_id, zones.zone_lists):
        cached.cache_clear()
    yield
    for cached in (exercise_library.exercises, exercise_library._by_id, zones.zone_lists):
        cached.cache_clear()


def _broken_library(tmp_path: Path) -> Path:
    shipped = exercise_library.EXERCISES_FILE.read_text(encoding="utf-8")
    broken = tmp_path / "exercises.toml"
    broken.write_text(shipped.replace('dose = "3 x 15"\n', "", 1), encoding="utf-8")
    return broken


def test_the_shipped_content_passes(fresh_content: None) -> None:
    assert load_content() is None


@pytest.mark.parametrize("argv", [[], ["chat"]], ids=["bot", "chat"])
def test_a_broken_exercise_stops_the_process_with_one_line(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fresh_content: None,
) -> None:
    monkeypatch.setattr(exercise_library, "EXERCISES_FILE", _broken_library(tmp_path))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    # A database URL nothing can open: reaching it would fail differently.
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == "error: content/exercises.toml: exercise 'calf_raise', dose: missing\n"


def test_a_missing_zone_file_is_reported_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_content: None,
) -> None:
    monkeypatch.setattr(zones, "ZONES_FILE", tmp_path / "zones.toml")
    message = load_content()
    assert message is not None
    assert message.startswith("content/zones.toml: cannot be read")
    assert "\n" not in message
