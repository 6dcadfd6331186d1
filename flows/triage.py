"""The triage dialog as data: a transitions table over the question steps, and one shared machine.

Each row says which question follows which, guarded by a small named predicate over the answers
given so far. Rows are tried in order, so the emergency row stands first for every step: an
emergency answer ends the questions at once. One `Machine(model=None)` serves every runner; a
runner's state is restored onto a model (one per thread, kept on the machine), the event is
fired, and the new step read back. No runner's state lives in the machine between events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from transitions import Machine

from flows.questions import Step
from flows.rules import Answers, flagged, has_emergency
from flows.types import FIVE_DAYS_OR_MORE, Onset, YesNo

# --- routing predicates: which questions the path needs ----------------------------------------


def is_sudden(a: Answers) -> bool:
    """Sudden-onset questions (crunch, bleeding disorder, Ottawa points) follow an injury."""
    return a.onset is Onset.SUDDEN


def started_five_or_more_days_ago(a: Answers) -> bool:
    """Improvement is only asked when it started 5 or more days ago (S5)."""
    return a.started in FIVE_DAYS_OR_MORE


def felt_a_pop(a: Answers) -> bool:
    """The tiptoe test (E3) only matters after a pop, snap or kicked feeling."""
    return flagged(a.pop)


def has_severe_worsening_pain(a: Answers) -> bool:
    """The tight-calf question (E7) only matters with severe pain that keeps rising."""
    return flagged(a.severe_pain)


def reported_new_signs(a: Answers) -> bool:
    """At a check-in, the warning signs are asked one by one only if any may have appeared."""
    return flagged(a.new_flags)


def has_a_plan(a: Answers) -> bool:
    """Exercise questions belong to check-ins while a home-care plan is running."""
    return a.plan is YesNo.YES


def did_exercises(a: Answers) -> bool:
    return a.exercises in ("all", "some")


def picked_an_offset(a: Answers) -> bool:
    """An offset has several cities to choose from; a typed city is already a zone."""
    return (a.zone_choice or "").startswith("o")


QUESTION_STEPS: tuple[Step, ...] = tuple(s for s in Step if s is not Step.DONE)

# fmt: off
ROUTES: tuple[tuple[Step, Step, Callable[[Answers], bool] | None], ...] = (
    # after answering        ask next             when
    (Step.LOCATION,          Step.ONSET,          None),
    (Step.ONSET,             Step.STARTED,        None),
    (Step.STARTED,           Step.TREND,          started_five_or_more_days_ago),
    (Step.STARTED,           Step.SWELLING,       None),
    (Step.TREND,             Step.SWELLING,       None),
    (Step.SWELLING,          Step.WEIGHT_BEARING, None),
    (Step.WEIGHT_BEARING,    Step.PAIN,           None),
    (Step.PAIN,              Step.DEFORMITY,      None),
    (Step.DEFORMITY,         Step.CIRCULATION,    None),
    (Step.CIRCULATION,       Step.CRUNCH,         is_sudden),
    (Step.CIRCULATION,       Step.POP,            None),
    (Step.CRUNCH,            Step.POP,            None),
    (Step.POP,               Step.TIPTOE,         felt_a_pop),
    (Step.POP,               Step.FEVER,          None),
    (Step.TIPTOE,            Step.FEVER,          None),
    (Step.FEVER,             Step.CALF,           is_sudden),
    (Step.FEVER,             Step.HOT_JOINT,      None),
    (Step.HOT_JOINT,         Step.CALF,           None),
    (Step.CALF,              Step.CHEST,          None),
    (Step.CHEST,             Step.SEVERE_PAIN,    None),
    (Step.SEVERE_PAIN,       Step.TIGHT_CALF,     has_severe_worsening_pain),
    (Step.SEVERE_PAIN,       Step.BLEEDING,       is_sudden),
    (Step.SEVERE_PAIN,       Step.BONE_SPOT,      None),
    (Step.TIGHT_CALF,        Step.BLEEDING,       is_sudden),
    (Step.TIGHT_CALF,        Step.BONE_SPOT,      None),
    (Step.BLEEDING,          Step.OTTAWA,         None),
    (Step.OTTAWA,            Step.NIGHT_PAIN,     None),
    (Step.BONE_SPOT,         Step.NIGHT_PAIN,     None),
    (Step.NIGHT_PAIN,        Step.GIVING_WAY,     None),
    (Step.GIVING_WAY,        Step.DONE,           None),
    # a check-in: change since last time, then the red-flag re-screen only if something is new
    (Step.CHECKIN_TREND,       Step.CHECKIN_FLAGS,          None),
    (Step.CHECKIN_FLAGS,       Step.CHECKIN_WALK,           reported_new_signs),
    (Step.CHECKIN_FLAGS,       Step.CHECKIN_WALK,           has_a_plan),
    (Step.CHECKIN_FLAGS,       Step.DONE,                   None),
    (Step.CHECKIN_WALK,        Step.CHECKIN_CIRCULATION,    reported_new_signs),
    (Step.CHECKIN_WALK,        Step.CHECKIN_EXERCISES,      has_a_plan),
    (Step.CHECKIN_WALK,        Step.DONE,                   None),
    (Step.CHECKIN_CIRCULATION, Step.CHECKIN_FEVER,          None),
    (Step.CHECKIN_FEVER,       Step.CHECKIN_CALF,           None),
    (Step.CHECKIN_CALF,        Step.CHECKIN_CHEST,          None),
    (Step.CHECKIN_CHEST,       Step.CHECKIN_SEVERE_PAIN,    None),
    (Step.CHECKIN_SEVERE_PAIN, Step.CHECKIN_TIGHT_CALF,     has_severe_worsening_pain),
    (Step.CHECKIN_SEVERE_PAIN, Step.CHECKIN_EXERCISES,      has_a_plan),
    (Step.CHECKIN_SEVERE_PAIN, Step.DONE,                   None),
    (Step.CHECKIN_TIGHT_CALF,  Step.CHECKIN_EXERCISES,      has_a_plan),
    (Step.CHECKIN_TIGHT_CALF,  Step.DONE,                   None),
    (Step.CHECKIN_EXERCISES,   Step.CHECKIN_EXERCISE_PAIN,  did_exercises),
    (Step.CHECKIN_EXERCISES,   Step.DONE,                   None),
    (Step.CHECKIN_EXERCISE_PAIN, Step.CHECKIN_MORNING,      None),
    (Step.CHECKIN_MORNING,     Step.DONE,                   None),
    # a soreness report, and the reminder set-up
    (Step.SORENESS,            Step.DONE,                   None),
    (Step.ZONE,                Step.CITY,                   picked_an_offset),
    (Step.ZONE,                Step.REMINDER_TIME,          None),
    (Step.CITY,                Step.REMINDER_TIME,          None),
    (Step.REMINDER_TIME,       Step.DONE,                   None),
    # return to running: readiness checks, a run day; and confirming /delete
    (Step.READY_WALK,          Step.READY_STAND,            None),
    (Step.READY_STAND,         Step.READY_SQUATS,           None),
    (Step.READY_SQUATS,        Step.READY_JOG,              None),
    (Step.READY_JOG,           Step.READY_HOPS,             None),
    (Step.READY_HOPS,          Step.DONE,                   None),
    (Step.RUN_PAIN,            Step.RUN_MORNING,            None),
    (Step.RUN_MORNING,         Step.RUN_SWELLING,           None),
    (Step.RUN_SWELLING,        Step.DONE,                   None),
    (Step.CONFIRM_DELETE,      Step.DONE,                   None),
)
# fmt: on

# Rows are tried in order: the emergency row comes first so that any emergency answer ends the
# questions at once, whatever step it was given at.
TRANSITIONS: list[dict] = [
    {
        "trigger": "answer",
        "source": list(QUESTION_STEPS),
        "dest": Step.DONE,
        "conditions": has_emergency,
    },
    *(
        {
            "trigger": "answer",
            "source": source,
            "dest": dest,
            **({"conditions": when} if when is not None else {}),
        }
        for source, dest, when in ROUTES
    ),
]

FIRST_STEP = Step.LOCATION

MACHINE = Machine(
    model=None,
    states=Step,
    transitions=TRANSITIONS,
    initial=None,
    auto_transitions=False,
)


class _Position:
    """Where one runner is, for the length of one event: the machine's model."""

    def __init__(self) -> None:
        self.state: Step = FIRST_STEP


# transitions keeps its models in a list and adding one binds a method per state and trigger,
# which costs more than the answer itself; so each thread keeps one model on the shared machine
# for good and moves it to the runner's step before firing (one thread handles one event at a
# time, so no two events share a model).
_local = threading.local()


def _position() -> _Position:
    position = getattr(_local, "position", None)
    if position is None:
        position = _local.position = _Position()
        MACHINE.add_model(position, initial=FIRST_STEP)
    return position


def next_step(current: Step, answers: Answers) -> Step:
    """Fire "answer" on the shared machine from `current` with `answers` and return the new step."""
    position = _position()
    MACHINE.set_state(current, model=position)
    position.trigger("answer", answers)  # type: ignore[attr-defined]
    return position.state
