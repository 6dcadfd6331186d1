"""`/run`: one walk-run day at a time, once the path's run rules allow it (reference section 7).

A tendon path may keep running within the pain-monitoring model; every other path first
passes its self-tests (`flows.checks.run_holds`), and until then `/run` says what is missing.
Each run day asks the pain during the run, the next morning and any new swelling, records the
day as a plan event and says which walk-run step comes next, under the path's pain ceiling
(R8: 2/10 generally, 0/10 at a stressed bone, 5/10 for a tendon).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flows.checks import run_holds, run_pain_max
from flows.effects import Outcome, RecordPlanEvent
from flows.exercise_plan import gate_blockers, has_plan, no_plan
from flows.flow import Flow, Route, question_reply
from flows.hop_run import run_reply
from flows.profile import Profile
from flows.progression import WALK_RUN_STEPS, Reason, RunDay, decide_run_step, weekly_increase
from flows.questions import MORNING_CHOICES, Question, choice_question, pain_question, yes_no
from flows.replies import info
from flows.rules import flagged
from flows.state import DialogState
from flows.types import (
    DONE,
    FlowName,
    Morning,
    PlanEventKind,
    RunEventKey,
    YesNo,
)


class RunStep(StrEnum):
    PAIN = "r_pain"
    MORNING = "r_morn"
    SWELLING = "r_swell"


# The walk-run step the day is for, and the path's pain ceiling, carried without asking.
STEP_KEY = "r_step"
LIMIT_KEY = "r_max"


@dataclass(frozen=True, slots=True)
class RunAnswers:
    step_index: int | None = None
    limit: int | None = None
    pain: int | None = None
    morning: Morning | None = None
    swelling: YesNo | None = None


QUESTIONS: dict[str, Question] = {
    q.step: q
    for q in (
        pain_question(RunStep.PAIN, "plan/ask_run_pain.j2", "pain"),
        choice_question(RunStep.MORNING, "care/ask_morning.j2", "morning", MORNING_CHOICES),
        yes_no(RunStep.SWELLING, "plan/ask_run_swelling.j2", "swelling"),
    )
}
ROUTES: tuple[Route, ...] = (
    (RunStep.PAIN, RunStep.MORNING, None),
    (RunStep.MORNING, RunStep.SWELLING, None),
    (RunStep.SWELLING, DONE, None),
)


def run_days(profile: Profile) -> list[RunDay]:
    return [
        RunDay(
            step_index=e.data[RunEventKey.STEP],
            pain_during=e.data[RunEventKey.PAIN],
            morning_worse=e.data[RunEventKey.MORNING_WORSE],
            more_swelling_or_stiffness=e.data[RunEventKey.SWELLING],
        )
        for e in profile.plan_events
        if e.kind == PlanEventKind.RUN
    ]


def start_running(state: DialogState | None, profile: Profile, *, now: datetime) -> Outcome:
    """`/run`: the readiness checks first, then one walk-run day at a time."""
    episode = profile.episode
    if not has_plan(profile) or episode is None:
        return no_plan()
    if run_holds(profile, now=now, gate_blockers=gate_blockers(profile, now=now)):
        return Outcome(replies=(run_reply(profile, now=now),))
    limit = run_pain_max(episode.care_path)
    step_index = decide_run_step(run_days(profile), pain_max=limit).step_index
    fresh = FLOW.start(state, now=now, **{STEP_KEY: str(step_index), LIMIT_KEY: str(limit)})
    return Outcome(
        state=fresh,
        replies=(
            info(
                "plan/run_intro.j2",
                step=WALK_RUN_STEPS[step_index],
                number=step_index + 1,
                limit=limit,
            ),
            question_reply(fresh, now=now),
        ),
    )


def finish(state: DialogState, profile: Profile, now: datetime) -> Outcome:
    """A walk-run day is logged: record it and say which step comes next."""
    answers = FLOW.answers(state.answers)
    step_index = answers.step_index or 0
    assert answers.pain is not None
    day = RunDay(
        step_index=step_index,
        pain_during=answers.pain,
        morning_worse=answers.morning == Morning.WORSE,
        more_swelling_or_stiffness=flagged(answers.swelling),
    )
    limit = run_pain_max(profile.episode.care_path) if profile.episode else answers.limit or 0
    decision = decide_run_step([*run_days(profile), day], pain_max=limit)
    data = {
        RunEventKey.STEP: step_index,
        RunEventKey.PAIN: day.pain_during,
        RunEventKey.MORNING_WORSE: day.morning_worse,
        RunEventKey.SWELLING: day.more_swelling_or_stiffness,
        RunEventKey.NEXT: decision.step_index,
        RunEventKey.DECISION: str(decision.step),
        RunEventKey.REASON: str(decision.reason),
    }
    final = WALK_RUN_STEPS[-1]
    context = {
        "decision": str(decision.step),
        "reason": str(decision.reason),
        "next": WALK_RUN_STEPS[decision.step_index],
        "number": decision.step_index + 1,
        "complete": decision.reason == Reason.WALK_RUN_COMPLETE,
        "next_week_minutes": weekly_increase(final.total_minutes),
        "limit": limit,
    }
    return Outcome(
        state=state,
        replies=(info("plan/run_logged.j2", **context),),
        effects=(RecordPlanEvent(at=now, kind=PlanEventKind.RUN, data=data),),
    )


FLOW = Flow(
    name=FlowName.RUN_LOG,
    steps=RunStep,
    first=RunStep.PAIN,
    questions=QUESTIONS,
    routes=ROUTES,
    answers_type=RunAnswers,
    answer_keys={
        **{step: q.field for step, q in QUESTIONS.items()},
        STEP_KEY: "step_index",
        LIMIT_KEY: "limit",
    },
    finish=finish,
)
