"""The pain-monitoring model that moves an exercise plan, and the walk-run return to running.

Exercise: pain during a session may reach 5/10 and must have settled by the next morning
(Silbernagel et al. 2007, applied to all ankle rehab as a pragmatic extension); the plan steps
back, holds or steps forward from the runner's daily responses (reference section 5); the
self-tests that must also pass are `flows.checks`. Running: a five-step walk-run progression
under the care path's pain ceiling (2/10 generally, 0/10 at a stressed bone, 5/10 for a
tendon), then about 10 % more a week (reference section 7). Everything here is pure: days are
data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from flows.sessions import (
    ACCEPTABLE_PAIN_MAX,
    SAFE_PAIN_MAX,
    next_phase,
    phase_allowed,
    previous_phase,
)
from flows.types import PAIN_MAX, PAIN_MIN, Phase


class Zone(StrEnum):
    """Pain zones of the pain-monitoring model: 0-3 safe, 4-5 acceptable, above 5 too much."""

    SAFE = "safe"
    ACCEPTABLE = "acceptable"
    TOO_MUCH = "too_much"


def zone_for(pain: int) -> Zone:
    """The zone of a 0-10 pain score."""
    _check_pain(pain)
    if pain <= SAFE_PAIN_MAX:
        return Zone.SAFE
    if pain <= ACCEPTABLE_PAIN_MAX:
        return Zone.ACCEPTABLE
    return Zone.TOO_MUCH


class Move(StrEnum):
    """Which way a decision moves the plan or the walk-run progression."""

    FORWARD = "forward"
    HOLD = "hold"
    BACK = "back"


class Reason(StrEnum):
    """Stable reason codes for a decision (stored and used to pick message wording)."""

    PAIN_ABOVE_5 = "pain_above_5"
    MORNING_WORSE = "morning_worse"
    MORNING_PAIN_ABOVE_5 = "morning_pain_above_5"
    GATE_CLOSED = "gate_closed"
    ACCEPTABLE_ZONE = "acceptable_zone"
    TWO_SAFE_DAYS = "two_safe_days"
    TOP_PHASE = "top_phase"
    NOT_DONE = "not_done"
    NOT_ENOUGH_DATA = "not_enough_data"
    # Walk-run only.
    FIRST_RUN = "first_run"
    PAIN_3_TO_5 = "pain_3_to_5"
    MORE_SWELLING_OR_STIFFNESS = "more_swelling_or_stiffness"
    REPEAT_STEP = "repeat_step"
    STEP_DONE = "step_done"
    WALK_RUN_COMPLETE = "walk_run_complete"
    BONE_PAIN = "bone_pain"  # any pain at a stressed bone (R8)


# --- the exercise plan ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayResponse:
    """How one exercise day went.

    `morning_pain` and `morning_worse` describe the morning after `day`; `morning_worse` is
    whether pain or stiffness that morning was worse than the morning before (None: not asked
    or not answered).
    """

    day: date
    pain_during: int | None
    morning_pain: int | None
    morning_worse: bool | None
    done: bool


@dataclass(frozen=True, slots=True)
class ProgressionDecision:
    step: Move
    reason: Reason
    from_phase: Phase
    to_phase: Phase


# Two or more good days in a row step the plan forward (a product rule, reference section 5).
SAFE_DAYS_TO_STEP_FORWARD = 2


def decide_progression(
    *, phase: Phase, responses: Sequence[DayResponse], gate_open: bool
) -> ProgressionDecision:
    """Step back, hold or step forward from the most recent day responses.

    Precedence (reference section 5): stepping back wins over holding, holding over stepping
    forward. Back: pain during above 5/10, or the next morning worse (or above 5/10). Hold:
    4-5/10 during. Forward: the two most recent days both done, in the safe zone and with a
    next morning known not to be worse. Anything less certain holds: moving up a day later
    costs little, moving up too soon risks a flare. The phase never leaves 1-4 and never
    reaches PLYOMETRIC while the gate is closed; a plan already there drops to BALANCE. At
    MOBILITY a step back keeps the phase but still says BACK: ease off within it.
    """
    days = _by_day(responses)
    back_reason = _back_reason(days)
    if back_reason is not None:
        return _decision(Move.BACK, back_reason, phase, previous_phase(phase))
    if not gate_open and phase is Phase.PLYOMETRIC:
        # The gate is re-checked before every session; a closed gate means the plan cannot
        # stay in the hopping phase, so it drops to the highest phase allowed.
        return _decision(
            Move.BACK, Reason.GATE_CLOSED, phase, phase_allowed(phase, gate_open=False)
        )
    if not days:
        return _decision(Move.HOLD, Reason.NOT_ENOUGH_DATA, phase, phase)
    latest = days[-1]
    if latest.pain_during is not None and zone_for(latest.pain_during) is Zone.ACCEPTABLE:
        return _decision(Move.HOLD, Reason.ACCEPTABLE_ZONE, phase, phase)
    if not latest.done:
        return _decision(Move.HOLD, Reason.NOT_DONE, phase, phase)
    recent = range(len(days) - SAFE_DAYS_TO_STEP_FORWARD, len(days))
    if len(days) < SAFE_DAYS_TO_STEP_FORWARD or not all(_good_day(days, i) for i in recent):
        return _decision(Move.HOLD, Reason.NOT_ENOUGH_DATA, phase, phase)
    if phase is Phase.PLYOMETRIC:
        return _decision(Move.HOLD, Reason.TOP_PHASE, phase, phase)
    target = next_phase(phase)
    if phase_allowed(target, gate_open=gate_open) != target:
        return _decision(Move.HOLD, Reason.GATE_CLOSED, phase, phase)
    return _decision(Move.FORWARD, Reason.TWO_SAFE_DAYS, phase, target)


def _back_reason(days: Sequence[DayResponse]) -> Reason | None:
    """Why the most recent day calls for a step back, or None when it does not."""
    if not days:
        return None
    latest = days[-1]
    if latest.pain_during is not None and zone_for(latest.pain_during) is Zone.TOO_MUCH:
        return Reason.PAIN_ABOVE_5
    if _morning_worse(days, len(days) - 1):
        return Reason.MORNING_WORSE
    if latest.morning_pain is not None and zone_for(latest.morning_pain) is Zone.TOO_MUCH:
        # Pain after exercise must have settled to 5/10 or less by the next morning.
        return Reason.MORNING_PAIN_ABOVE_5
    return None


def _decision(
    step: Move, reason: Reason, from_phase: Phase, to_phase: Phase
) -> ProgressionDecision:
    return ProgressionDecision(step=step, reason=reason, from_phase=from_phase, to_phase=to_phase)


def _by_day(responses: Sequence[DayResponse]) -> list[DayResponse]:
    """Responses in day order, the last one given winning when a day appears twice."""
    latest_per_day = {response.day: response for response in responses}
    return [latest_per_day[day] for day in sorted(latest_per_day)]


def _morning_worse(days: Sequence[DayResponse], index: int) -> bool | None:
    """Whether the morning after days[index] was worse; None when it cannot be told.

    The runner's own answer wins; without it, a higher morning pain than the morning before
    (the previous calendar day's morning-after report) counts as worse.
    """
    response = days[index]
    if response.morning_worse is not None:
        return response.morning_worse
    if response.morning_pain is None or index == 0:
        return None
    before = days[index - 1]
    if before.day != response.day - timedelta(days=1) or before.morning_pain is None:
        return None
    return response.morning_pain > before.morning_pain


def _good_day(days: Sequence[DayResponse], index: int) -> bool:
    """Done, safe-zone pain during, and a next morning known not to be worse (or above 5)."""
    response = days[index]
    return (
        response.done
        and response.pain_during is not None
        and zone_for(response.pain_during) is Zone.SAFE
        and _morning_worse(days, index) is False
        and (response.morning_pain is None or zone_for(response.morning_pain) is not Zone.TOO_MUCH)
    )


# Soreness of 0-1/10 at three check-ins in a row ends the episode (docs/clinical-basis.md,
# "Resolution"; reference section 6).
RESOLVED_PAIN_MAX = 1
RESOLVED_REPORTS_IN_A_ROW = 3


def is_resolved(soreness: Sequence[int]) -> bool:
    """Pain 0-1/10 on the last three reports in a row: stop check-ins, move to prevention."""
    last = soreness[-RESOLVED_REPORTS_IN_A_ROW:]
    for pain in last:
        _check_pain(pain)
    return len(last) == RESOLVED_REPORTS_IN_A_ROW and all(
        pain <= RESOLVED_PAIN_MAX for pain in last
    )


# --- return to running ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WalkRunStep:
    """One step of the walk-run progression: `repeats` x (walk, then jog), in minutes."""

    repeats: int
    walk_minutes: int
    jog_minutes: int

    @property
    def total_minutes(self) -> int:
        return self.repeats * (self.walk_minutes + self.jog_minutes)

    @property
    def continuous(self) -> bool:
        return self.walk_minutes == 0


# One step per run day, a rest day between runs, each step at least twice.
WALK_RUN_STEPS: tuple[WalkRunStep, ...] = (
    WalkRunStep(repeats=5, walk_minutes=4, jog_minutes=2),
    WalkRunStep(repeats=5, walk_minutes=3, jog_minutes=3),
    WalkRunStep(repeats=5, walk_minutes=2, jog_minutes=4),
    WalkRunStep(repeats=5, walk_minutes=1, jog_minutes=5),
    WalkRunStep(repeats=1, walk_minutes=0, jog_minutes=30),
)
RUNS_PER_STEP = 2


@dataclass(frozen=True, slots=True)
class RunDay:
    """One walk-run day: the step done, pain during it, and how the next morning was."""

    step_index: int
    pain_during: int
    morning_worse: bool
    more_swelling_or_stiffness: bool


@dataclass(frozen=True, slots=True)
class RunDecision:
    """Which walk-run step to do next, and whether that is forward, the same or back.

    When `reason` is WALK_RUN_COMPLETE the progression is over: the runner keeps the last step
    and adds about 10 % a week (`weekly_increase`).
    """

    step_index: int
    step: Move
    reason: Reason


def decide_run_step(history: Sequence[RunDay], *, pain_max: int) -> RunDecision:
    """The next walk-run step from the runs so far (oldest first), under `pain_max`.

    `pain_max` is the path's ceiling (`flows.checks.run_pain_max`): 2/10 generally, 0/10 at a
    stressed bone (any pain there steps back: a bone is not run on through pain), 5/10 for a
    tendon (the pain-monitoring model). Back a step above 5/10 or after a worse morning (the
    first step stays the first); hold between the ceiling and 5/10 or with more swelling or
    stiffness; forward only when the last two runs were both at the current step and both
    clean (pain within the ceiling, no worse morning, no more swelling or stiffness). The
    reference says pain must have "stayed" within the limit, so a clean run after a held run
    at the same step does not yet count as two.
    """
    if not history:
        return RunDecision(step_index=0, step=Move.HOLD, reason=Reason.FIRST_RUN)
    for run in history:
        _check_run(run)
    last = history[-1]
    current = last.step_index
    if last.pain_during > pain_max and pain_max == 0:
        return RunDecision(max(current - 1, 0), Move.BACK, Reason.BONE_PAIN)
    if last.pain_during > ACCEPTABLE_PAIN_MAX:
        return RunDecision(max(current - 1, 0), Move.BACK, Reason.PAIN_ABOVE_5)
    if last.morning_worse:
        return RunDecision(max(current - 1, 0), Move.BACK, Reason.MORNING_WORSE)
    if last.more_swelling_or_stiffness:
        # The reference only makes "no more swelling or stiffness" a condition for moving on;
        # holding (not stepping back) follows from that.
        return RunDecision(current, Move.HOLD, Reason.MORE_SWELLING_OR_STIFFNESS)
    if last.pain_during > pain_max:
        return RunDecision(current, Move.HOLD, Reason.PAIN_3_TO_5)
    recent = history[-RUNS_PER_STEP:]
    if len(recent) < RUNS_PER_STEP or not all(
        run.step_index == current and _clean_run(run, pain_max) for run in recent
    ):
        return RunDecision(current, Move.HOLD, Reason.REPEAT_STEP)
    if current == len(WALK_RUN_STEPS) - 1:
        return RunDecision(current, Move.FORWARD, Reason.WALK_RUN_COMPLETE)
    return RunDecision(current + 1, Move.FORWARD, Reason.STEP_DONE)


def _clean_run(run: RunDay, pain_max: int) -> bool:
    return (
        run.pain_during <= pain_max and not run.morning_worse and not run.more_swelling_or_stiffness
    )


# After the walk-run progression, about 10 % more running a week (docs/clinical-basis.md,
# "Return to running"; reference section 7).
WEEKLY_INCREASE_PERCENT = 10


def weekly_increase(previous_minutes: int) -> int:
    """Next week's running minutes: about 10 % more, rounded down to a whole minute.

    Rounding down keeps the rise at or under 10 % from the 30 continuous minutes the walk-run
    ends with (a conservative rule of thumb: Buist 2008, Nielsen 2014); below 10 minutes at
    least one minute is still added so the total can grow.
    """
    if previous_minutes <= 0:
        raise ValueError(f"previous_minutes must be positive, got {previous_minutes}")
    more = previous_minutes * (100 + WEEKLY_INCREASE_PERCENT) // 100
    return max(more, previous_minutes + 1)


def _check_run(run: RunDay) -> None:
    _check_pain(run.pain_during)
    if not 0 <= run.step_index < len(WALK_RUN_STEPS):
        raise ValueError(f"step_index must be 0-{len(WALK_RUN_STEPS) - 1}, got {run.step_index}")


def _check_pain(pain: int) -> None:
    if not PAIN_MIN <= pain <= PAIN_MAX:
        raise ValueError(f"pain must be {PAIN_MIN}-{PAIN_MAX}, got {pain}")
