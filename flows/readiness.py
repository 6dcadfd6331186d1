"""The readiness checks before a return to running (reference section 7): five tests, each
answered passed, failed or not tried yet, recorded as a plan event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flows.effects import Outcome, RecordPlanEvent
from flows.exercise_plan import gate_open
from flows.flow import Flow, Route
from flows.profile import Profile
from flows.progression import READINESS_CHECKS, WALK_RUN_STEPS, is_ready_to_run
from flows.questions import Choice, Question, choice_question
from flows.replies import info
from flows.state import DialogState
from flows.types import DONE, FlowName, PlanEventKind, ReadinessEventKey
from flows.words import N_


class ReadinessStep(StrEnum):
    WALK = "r_walk"
    STAND = "r_stand"
    SQUATS = "r_squat"
    JOG = "r_jog"
    HOPS = "r_hops"


class ReadinessResult(StrEnum):
    """A readiness check's answer (stored with the conversation's answers)."""

    PASS = "pass"  # pain 2/10 or less, and no worse the next morning
    FAIL = "fail"
    UNTRIED = "untried"


@dataclass(frozen=True, slots=True)
class ReadinessAnswers:
    walk: ReadinessResult | None = None
    stand: ReadinessResult | None = None
    squats: ReadinessResult | None = None
    jog_spot: ReadinessResult | None = None
    hops: ReadinessResult | None = None


# The checks of flows.progression.READINESS_CHECKS, by the step that asks each.
READINESS_STEPS = {
    "walk": ReadinessStep.WALK,
    "stand": ReadinessStep.STAND,
    "squats": ReadinessStep.SQUATS,
    "jog_spot": ReadinessStep.JOG,
    "hops": ReadinessStep.HOPS,
}
_READINESS = (
    Choice(
        ReadinessResult.PASS,
        N_("Yes: pain 2/10 or less, no worse next morning"),
        (N_("yes"), N_("pass"), N_("passed")),
    ),
    Choice(
        ReadinessResult.FAIL,
        N_("No: it hurt more than that"),
        (N_("no"), N_("fail"), N_("failed"), N_("hurt")),
    ),
    Choice(
        ReadinessResult.UNTRIED,
        N_("Haven't tried yet"),
        (N_("not tried"), N_("untried"), N_("haven't tried"), N_("not yet")),
    ),
)
QUESTIONS: dict[str, Question] = {
    step: choice_question(step, "plan/ask_readiness.j2", check, _READINESS)
    for check, step in READINESS_STEPS.items()
}
S = ReadinessStep
ROUTES: tuple[Route, ...] = (
    (S.WALK, S.STAND, None),
    (S.STAND, S.SQUATS, None),
    (S.SQUATS, S.JOG, None),
    (S.JOG, S.HOPS, None),
    (S.HOPS, DONE, None),
)


def readiness_passed(profile: Profile) -> bool:
    return any(
        e.kind == PlanEventKind.READINESS and e.data.get(ReadinessEventKey.READY)
        for e in profile.plan_events
    )


def finish(state: DialogState, profile: Profile, now: datetime) -> Outcome:
    """The five checks are answered: record them and say whether the runner may start."""
    results = {
        check: state.answers.get(step) == ReadinessResult.PASS
        for check, step in READINESS_STEPS.items()
    }
    ready = is_ready_to_run(results, gate_open=gate_open(profile, now=now), has_trigger=False)
    missing = [text for check, text in READINESS_CHECKS if not results[check]]
    done = state
    event = RecordPlanEvent(
        at=now,
        kind=PlanEventKind.READINESS,
        data={ReadinessEventKey.RESULTS: results, ReadinessEventKey.READY: ready},
    )
    context = {
        "ready": ready,
        "missing": missing,
        "gate_open": gate_open(profile, now=now),
        "first": WALK_RUN_STEPS[0],
    }
    return Outcome(
        state=done, replies=(info("plan/readiness_result.j2", **context),), effects=(event,)
    )


FLOW = Flow(
    name=FlowName.READINESS,
    steps=ReadinessStep,
    first=ReadinessStep.WALK,
    questions=QUESTIONS,
    routes=ROUTES,
    answers_type=ReadinessAnswers,
    answer_keys={step: q.field for step, q in QUESTIONS.items()},
    finish=finish,
)
