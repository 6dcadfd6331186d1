"""The terminal chat plays the same flows, templates and database as the Telegram bot.

Scripted conversations are piped in, as `python -m bot chat < script` would read them, and must
reach each disposition; the state is kept in the database between runs.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.console import plain_text, run_console
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from tests.scripts import GRADUAL_NOS, SPRAIN_NOS

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

# Numbers pick the listed choice (for the pain score, the number itself); words are typed.
# "11" is the checklist's "None of these".
HOME_CARE = ["11", "2", "1", "1", "2", "2", "4", *["no"] * SPRAIN_NOS]
SEE_CLINICIAN = [
    "11",
    "1",
    "3",
    "gradual",
    "cord",
    "more than 6 weeks ago",
    "same",
    "none",
    "3",
    *["no"] * GRADUAL_NOS,
]
EMERGENCY = ["none", "3"]


@pytest.fixture
def db(tmp_path: Path):
    database = Database.threaded(f"sqlite:///{tmp_path / 'chat.db'}")
    upgrade_to_head(database.engine)
    yield database
    database.dispose_sync()


def chat(db: Database, lines: list[str], chat_id: int = 0) -> str:
    out = io.StringIO()
    run_console(
        db,
        clock=lambda: NOW,
        chat_id=chat_id,
        stdin=io.StringIO("\n".join(lines) + "\n"),
        stdout=out,
    )
    return out.getvalue()


@pytest.mark.parametrize(
    ("script", "headline"),
    [(HOME_CARE, "Home care:"), (SEE_CLINICIAN, "See a clinician:"), (EMERGENCY, "Emergency:")],
    ids=["home care", "see a clinician", "emergency"],
)
def test_a_scripted_chat_reaches_each_disposition(
    db: Database, script: list[str], headline: str
) -> None:
    transcript = chat(db, script)
    assert headline in transcript
    assert "not a diagnosis" in transcript.split(headline, 1)[1]
    assert "<b>" not in transcript


def test_choices_are_numbered_and_inputs_echoed(db: Database) -> None:
    transcript = chat(db, ["11"])
    assert "  1) Chest pain, breathless" in transcript
    assert "> 11\n2 of about 10\nCan you walk on it right now?" in transcript


def test_a_conversation_left_in_the_terminal_carries_on_next_time(db: Database) -> None:
    chat(db, ["none", "limp", "outside", "sudden"])
    transcript = chat(db, ["today"])
    assert "Welcome back" in transcript and "5 of about 10\nWhen did it start?" in transcript
    assert "6 of about 10\nIs the ankle swollen?" in transcript


def test_plain_text_drops_tags_and_decodes_entities() -> None:
    assert plain_text("<b>A&amp;E</b> &lt;now&gt;") == "A&E <now>"


def test_python_m_bot_chat_reads_a_script_from_standard_input(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    env.pop("TELEGRAM_BOT_TOKEN", None)  # the terminal chat needs no token
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input="\n".join(EMERGENCY) + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Emergency: please get your ankle seen now." in done.stdout


def test_summary_in_the_terminal_writes_the_pdf_and_says_where(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert "no finished assessment" in chat(db, ["/summary"])
    assert not list(tmp_path.glob("*.pdf"))
    transcript = chat(db, [*SEE_CLINICIAN, "/summary"])
    assert "1) PDF for the clinic" in transcript
    assert "(saved ankle-bot-summary-0.pdf)" in transcript
    assert (tmp_path / "ankle-bot-summary-0.pdf").read_bytes().startswith(b"%PDF")
