"""Shared helpers for flow tests: answers built by name, and a runner that plays a transcript."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.dialog import DialogState, Outcome, StartAssessment, TypedText, advance

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)


def play(*typed: str, now: datetime = NOW) -> tuple[DialogState, Outcome]:
    """Start an assessment and type each answer in turn; returns the last state and outcome."""
    outcome = advance(None, StartAssessment(), now=now)
    state = outcome.state
    assert state is not None
    for text in typed:
        outcome = advance(state, TypedText(text), now=now)
        state = outcome.state or state
    return state, outcome


@pytest.fixture
def now() -> datetime:
    return NOW
