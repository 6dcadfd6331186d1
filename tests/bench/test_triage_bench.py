"""Smoke tests of the triage benchmark at a tiny size: it finishes every conversation through the
bot's runtime, prints each labelled figure (with the inbox and outbox stages), notices when the
bot fails a runner, paces when asked, and puts back what it wrapped. No speed is asserted: speed
is what the benchmark prints, never what a test checks (the paced test checks only that the rate
limiter was on, by the one-second spacing it imposes)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

import bot.inbox
import bot.outbox
import bot.outgoing
import bot.service
from bench.triage import (
    FIRST_RUNNER_CHAT,
    UPDATES_PER_CONVERSATION,
    main,
    measure_bot,
)
from bot.db import inbox_store
from bot.service import Applied, Sender, apply_event


def test_a_tiny_run_completes_every_conversation_and_prints_every_figure() -> None:
    out = io.StringIO()
    status = main(
        [
            "--runners", "3",
            "--concurrency", "3",
            "--delay-ms", "5",
            "--db", "both",
            "--paced-runners", "0",
            "--transport", "local",
        ],
        out=out,
    )  # fmt: skip
    printed = out.getvalue()
    assert status == 0, printed
    assert printed.rstrip().endswith("all conversations completed")
    assert "Rate limiter OFF (pace=False)" in printed
    for kind in ("threaded", "inline"):
        assert (
            f"bot, {kind} db, local: 3 runners at once, {3 * UPDATES_PER_CONVERSATION} updates"
            in printed
        )
        assert f"bot, {kind} db, local, unloaded: 3 runners one at a time" in printed
        assert f"bot, {kind} db, 5 ms Bot API: 3 runners at once" in printed
        assert f"bot, {kind} db, 5 ms Bot API, sequential: 3 runners one at a time" in printed
        assert f"ratio bot ({kind} db, local) / bare PTB updates/s: " in printed
        assert f"p99 ({kind} db, local), target < 5 ms: " in printed
        assert f"scaling ({kind} db): 3 runners at once get " in printed
    assert f"bare PTB, local: 3 runners at once, {3 * UPDATES_PER_CONVERSATION} updates" in printed
    assert "paced row skipped (--paced-runners 0)" in printed
    figure_lines = [line for line in printed.splitlines() if "updates/s;" in line]
    assert len(figure_lines) == 9
    for line in figure_lines:
        assert "latency p50 " in line and " p99 " in line
        assert "conversations completed 3/3" in line
        assert "ERRORS" not in line
    # Every bot row times its inbox and outbox, and (inline or threaded) its transactions.
    stage_lines = [line for line in printed.splitlines() if "inbox/outbox ms:" in line]
    assert len(stage_lines) == 8
    for line in stage_lines:
        for stage in ("store p50 ", "wait p50 ", "apply p50 ", "outbox p50 ", "send p50 "):
            assert stage in line
        assert "nan" not in line
    database_lines = [line for line in printed.splitlines() if "in transactions" in line]
    assert len(database_lines) == 8
    assert all("apply_inbox_update" in line for line in database_lines)
    assert "INSTRUMENTATION GAP" not in printed
    assert "| workload | updates | updates/s | p50 | p99 |" in printed
    assert "(b) apply transaction" in printed


def test_both_transports_run_over_http_side_by_side_against_bare_ptb_on_httpx() -> None:
    out = io.StringIO()
    status = main(
        [
            "--runners", "2",
            "--concurrency", "2",
            "--delay-ms", "5",
            "--paced-runners", "0",
            "--transport", "both",
        ],
        out=out,
    )  # fmt: skip
    printed = out.getvalue()
    assert status == 0, printed
    assert "over HTTP on loopback (httpx) / over HTTP on loopback (aiohttp)" in printed
    for transport in ("httpx", "aiohttp"):
        assert f"bot, inline db, {transport}: 2 runners at once" in printed
        assert f"bot, inline db, {transport}, unloaded: 2 runners one at a time" in printed
        assert f"ratio bot (inline db, {transport}) / bare PTB updates/s: " in printed
    assert "bare PTB, httpx: 2 runners at once" in printed
    assert "(aiohttp)" in printed.split("# 3. Scaling")[1].splitlines()[0]
    assert "ERRORS" not in printed and "INSTRUMENTATION GAP" not in printed


async def test_a_runner_the_bot_fails_is_reported_as_not_completed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmark checks the conversations, so a broken bot cannot pass as a fast one."""
    doomed_chat = FIRST_RUNNER_CHAT + 1

    def apply_event_failing_one_runner(
        session: Session, *, sender: Sender, **kwargs: Any
    ) -> Applied:
        if sender.chat_id == doomed_chat:
            raise RuntimeError("injected database failure")
        return apply_event(session, sender=sender, **kwargs)

    monkeypatch.setattr(bot.service, "apply_event", apply_event_failing_one_runner)
    measurement = await measure_bot(
        runners=2, db_kind="threaded", delay=0.0, directory=tmp_path, label="broken bot"
    )
    assert measurement.conversations_completed == 1
    assert measurement.errors >= 1
    assert "injected database failure" in (measurement.first_error or "")
    assert not measurement.complete
    # The healthy runner played everything; the failed one's first update was set aside after
    # its tries (the bot told the runner), and with no button to tap the runner stopped there.
    assert measurement.updates == UPDATES_PER_CONVERSATION + 1
    # A set-aside update is not counted among the applied ones.
    assert measurement.stages is not None
    assert len(measurement.stages.apply) == UPDATES_PER_CONVERSATION


async def test_the_paced_row_runs_with_the_rate_limiter_on(tmp_path: Path) -> None:
    """With the limiter on, a runner who taps at once waits for the chat's next send slot (one
    message a second per chat): the bench measures the limiter there, and says so."""
    measurement = await measure_bot(
        runners=1,
        db_kind="threaded",
        delay=0.0,
        directory=tmp_path,
        label="paced",
        at_once=False,
        updates_per_runner=3,
        pace=True,
    )
    assert measurement.complete, measurement.line()
    assert measurement.updates == 3
    # The first reply has its slot at once; each later one waits for the second to pass.
    assert min(measurement.latencies[1:]) > 0.5
    assert measurement.stages is not None
    assert max(measurement.stages.slot_wait) > 0.5


async def test_the_wrapped_functions_are_put_back(tmp_path: Path) -> None:
    store_updates = inbox_store.store_updates
    await measure_bot(
        runners=1,
        db_kind="threaded",
        delay=0.0,
        directory=tmp_path,
        label="restored",
        updates_per_runner=2,
    )
    assert inbox_store.store_updates is store_updates
    assert bot.inbox.apply_inbox_update is bot.service.apply_inbox_update
    assert bot.inbox.queue_error_reply is bot.service.queue_error_reply
    assert bot.outbox.deliver is bot.outgoing.deliver


def test_rounds_alternate_bot_and_bare_and_conclude_with_the_medians() -> None:
    out = io.StringIO()
    status = main(
        [
            "--runners", "3",
            "--concurrency", "3",
            "--delay-ms", "5",
            "--paced-runners", "0",
            "--transport", "local",
            "--rounds", "3",
        ],
        out=out,
    )  # fmt: skip
    printed = out.getvalue()
    assert status == 0, printed
    lines = printed.splitlines()
    # Rounds 2 and 3 each run the bot at once, one at a time, then bare, in that order.
    order = [
        line.split(":")[0] + ":" + line.split(":")[1].split(",")[0]
        for line in lines
        if line.startswith("round ")
    ]
    assert order == [
        "round 2: bot",
        "round 2: bot",
        "round 2: bare PTB",
        "round 3: bot",
        "round 3: bot",
        "round 3: bare PTB",
    ]
    (verdict,) = {line for line in lines if line.startswith("over 3 rounds (inline db, local)")}
    per_round = verdict.split("per round ")[1].split(",")[:3]
    ratios = [float(value.split(" ")[-1]) for value in per_round]
    median = float(verdict.split("median ")[1].split(" ")[0])
    assert len(ratios) == 3 and median == sorted(ratios)[1]
    assert "unloaded p99 per round" in verdict
