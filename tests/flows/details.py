"""Tap an outcome's detail buttons as a runner would: each button's event through
`flows.dialog.advance`, with the runner loaded as they are once the assessment is stored."""

from __future__ import annotations

from datetime import datetime

from bench.message_sizes import profile_after
from flows.dialog import advance
from flows.effects import Outcome
from flows.events import event_for_button
from flows.profile import Profile
from flows.types import ButtonAction, OutcomeDetail, Reply


def tap_details(
    outcome: Outcome, *, now: datetime, profile: Profile | None = None
) -> dict[OutcomeDetail, tuple[Reply, ...]]:
    """What each detail button under the outcome's last message sends."""
    profile = profile or profile_after(outcome)
    buttons = [b for row in outcome.replies[-1].buttons for b in row]
    tapped = {}
    for button in buttons:
        if button.action == ButtonAction.DETAIL:
            event = event_for_button(button, 0)
            tapped[OutcomeDetail(button.value)] = advance(
                outcome.state, event, now=now, profile=profile
            ).replies
    return tapped
