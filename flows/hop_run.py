"""The answers to "Can I hop?" and "When can I run?" for this runner, today (pure).

Each answer gives the verdict first, then what is missing with the numbers so far (heel raises
18 of 20, the check waiting for its morning, the hour the next check opens), and a button for
today's self-test when one is due. `/plan` offers both questions as buttons
(`flows.exercise_plan.hop_run_buttons`); `/hop` and `/whenrun` ask them by name.
"""

from __future__ import annotations

from datetime import datetime

from flows.checks import (
    Hold,
    HoldCode,
    hop_holds,
    run_holds,
    run_pain_max,
    runs_within_pain_model,
)
from flows.effects import Outcome
from flows.exercise_plan import gate_blockers, has_plan, no_plan, self_test_buttons
from flows.profile import Profile
from flows.types import Phase, Reply


def hop_reply(profile: Profile, *, now: datetime) -> Reply:
    episode = profile.episode
    assert episode is not None
    holds = hop_holds(profile, now=now, gate_blockers=gate_blockers(profile, now=now))
    return Reply(
        "plan/can_hop.j2",
        {
            "open": not holds,
            "holds": holds,
            "phase": int(episode.phase),
            "ready_to_step": _only_timing(holds) and episode.phase == Phase.BALANCE,
            "zone": profile.zone,
        },
        self_test_buttons(profile, now=now),
    )


def run_reply(profile: Profile, *, now: datetime) -> Reply:
    episode = profile.episode
    assert episode is not None
    holds = run_holds(profile, now=now, gate_blockers=gate_blockers(profile, now=now))
    return Reply(
        "plan/when_run.j2",
        {
            "open": not holds,
            "holds": holds,
            "tendon": runs_within_pain_model(episode.care_path),
            "limit": run_pain_max(episode.care_path),
            "phase": int(episode.phase),
            "zone": profile.zone,
        },
        self_test_buttons(profile, now=now),
    )


def _only_timing(holds: tuple[Hold, ...]) -> bool:
    return all(h.code in (HoldCode.TOO_SOON, HoldCode.MORNING) for h in holds)


def can_i_hop(profile: Profile, *, now: datetime) -> Outcome:
    """Whether hopping is open for this runner, and if not, what will open it."""
    if not has_plan(profile):
        return no_plan()
    return Outcome(replies=(hop_reply(profile, now=now),))


def when_can_i_run(profile: Profile, *, now: datetime) -> Outcome:
    """Whether the walk-run is open for this runner, and if not, what is missing."""
    if not has_plan(profile):
        return no_plan()
    return Outcome(replies=(run_reply(profile, now=now),))
