"""Shared helpers for flow tests: answers built by name, a runner that plays a transcript, and
the assessment an outcome records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.dialog import Command, DialogState, Outcome, TypedText, advance
from flows.effects import RecordAssessment

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)


def play(*typed: str, now: datetime = NOW) -> tuple[DialogState, Outcome]:
    """Start an assessment and type each answer in turn; returns the last state and outcome."""
    outcome = advance(None, Command("new"), now=now)
    state = outcome.state
    assert state is not None
    for text in typed:
        outcome = advance(state, TypedText(text), now=now)
        state = outcome.state or state
    return state, outcome


def recorded(outcome: Outcome) -> RecordAssessment | None:
    """The assessment the outcome records (its `RecordAssessment` effect), if any."""
    found = [effect for effect in outcome.effects if isinstance(effect, RecordAssessment)]
    assert len(found) <= 1, found
    return found[0] if found else None


@pytest.fixture
def now() -> datetime:
    return NOW
