"""Smoke tests of the triage benchmark at a tiny size: it finishes every conversation, prints
each labelled figure, and notices when the bot fails a runner. No timing is asserted: speed is
what the benchmark prints, never what a test checks."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

import bot.handlers
from bench.triage import (
    FIRST_RUNNER_CHAT,
    UPDATES_PER_CONVERSATION,
    main,
    measure_bot,
)
from bot.service import Sender, apply_event
from flows.dialog import Outcome


def test_a_tiny_run_completes_every_conversation_and_prints_every_figure() -> None:
    out = io.StringIO()
    status = main(
        ["--runners", "3", "--concurrency", "3", "--delay-ms", "5", "--db", "both"], out=out
    )
    printed = out.getvalue()
    assert status == 0, printed
    assert printed.rstrip().endswith("all conversations completed")
    for kind in ("threaded", "asyncio"):
        assert f"bot, {kind} db: 3 runners at once, {3 * UPDATES_PER_CONVERSATION} updates" in (
            printed
        )
        assert f"bot, {kind} db, unloaded: 3 runners one at a time" in printed
        assert f"bot, {kind} db, 5 ms Bot API: 3 runners at once" in printed
        assert f"bot, {kind} db, 5 ms Bot API, sequential: 3 runners one at a time" in printed
        assert f"ratio bot ({kind} db) / bare PTB updates/s: " in printed
        assert f"p99 ({kind} db), target < 5 ms: " in printed
        assert f"scaling ({kind} db): 3 runners at once get " in printed
    assert f"bare PTB: 3 runners at once, {3 * UPDATES_PER_CONVERSATION} updates" in printed
    figure_lines = [line for line in printed.splitlines() if "updates/s;" in line]
    assert len(figure_lines) == 9
    for line in figure_lines:
        assert "latency p50 " in line and " p99 " in line
        assert "conversations completed 3/3" in line
        assert "ERRORS" not in line


async def test_a_runner_the_bot_fails_is_reported_as_not_completed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmark checks the conversations, so a broken bot cannot pass as a fast one."""
    doomed_chat = FIRST_RUNNER_CHAT + 1

    def apply_event_failing_one_runner(
        session: Session, *, sender: Sender, **kwargs: Any
    ) -> Outcome | None:
        if sender.chat_id == doomed_chat:
            raise RuntimeError("injected database failure")
        return apply_event(session, sender=sender, **kwargs)

    monkeypatch.setattr(bot.handlers, "apply_event", apply_event_failing_one_runner)
    measurement = await measure_bot(
        runners=2, db_kind="threaded", delay=0.0, directory=tmp_path, label="broken bot"
    )
    assert measurement.conversations_completed == 1
    assert measurement.errors >= 1
    assert "injected database failure" in (measurement.first_error or "")
    assert not measurement.complete
    # The healthy runner played everything; the failed one stopped after its first update.
    assert measurement.updates == UPDATES_PER_CONVERSATION + 1
