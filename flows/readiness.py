"""`/test`: today's self-test or readiness check, one a day, judged on the next morning.

The check offered is the next one the plan has reached (`flows.checks.next_check`); a check
passed today counts only once the next morning is no worse, so the next `/test` first asks
about that morning (a check-in's morning answer does the same). A second check within 24 hours
of the last check or step-up is refused with the time it opens (R9). Each attempt and each
morning verdict is a plan event.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from flows.checks import (
    Attempt,
    check_pain_max,
    heel_raises_pass,
    lsi_percent,
    next_check,
    timing_holds,
    too_soon,
    waiting_for_morning,
)
from flows.effects import ChangeEpisode, Effect, Outcome, RecordPlanEvent
from flows.exercise_plan import gate_open, has_plan, no_plan
from flows.flow import Flow, Route, question_reply
from flows.local_time import local_date_of
from flows.profile import PlanEventView, Profile
from flows.progression import Reason
from flows.questions import (
    MORNING_CHOICES,
    Choice,
    Question,
    Translate,
    choice_question,
    pain_question,
    untranslated,
    with_digits,
)
from flows.replies import info
from flows.sessions import previous_phase
from flows.state import DialogState
from flows.types import (
    DONE,
    Check,
    FlowName,
    Morning,
    Phase,
    PhaseEventKey,
    PlanEventKind,
    ReadinessEventKey,
    Reply,
)
from flows.words import N_


class ReadinessStep(StrEnum):
    """One question of a check (value = the step id stored and carried in callback data)."""

    MORNING = "r_chkm"
    HEEL_SORE = "r_heel"
    HEEL_OTHER = "r_heel2"
    WALK = "r_walk"
    STAND = "r_stand"
    SQUATS = "r_squat"
    JOG = "r_jog"
    HOPS = "r_hops"
    EYES = "r_eyes"


class ReadinessResult(StrEnum):
    """A yes/no check's answer (stored with the conversation's answers)."""

    PASS = "pass"  # done within the pain limit
    FAIL = "fail"
    UNTRIED = "untried"


# Answers carried without asking: the check to ask, the check waiting for its morning, and the
# pain limit of this runner's path.
CHECK_KEY = "r_chk"
PREVIOUS_KEY = "r_prev"
LIMIT_KEY = "r_lim"


@dataclass(frozen=True, slots=True)
class ReadinessAnswers:
    check: Check | None = None
    previous: Check | None = None
    limit: int | None = None
    morning: Morning | None = None
    heel_sore: int | None = None
    heel_other: int | None = None
    walk: ReadinessResult | None = None
    stand: ReadinessResult | None = None
    squats: ReadinessResult | None = None
    jog: ReadinessResult | None = None
    hops: int | None = None
    eyes: ReadinessResult | None = None


S = ReadinessStep
# The first question of each check.
STEP_OF: dict[Check, ReadinessStep] = {
    Check.HEEL_RAISES: S.HEEL_SORE,
    Check.WALK: S.WALK,
    Check.STANCE: S.STAND,
    Check.SQUATS: S.SQUATS,
    Check.JOG: S.JOG,
    Check.HOPS: S.HOPS,
    Check.STANCE_EYES_CLOSED: S.EYES,
}
# The yes/no checks, by the answer field that holds each.
YES_NO_FIELDS: dict[Check, str] = {
    Check.WALK: "walk",
    Check.STANCE: "stand",
    Check.SQUATS: "squats",
    Check.JOG: "jog",
    Check.STANCE_EYES_CLOSED: "eyes",
}
_RESULT = (
    Choice(
        ReadinessResult.PASS,
        N_("Yes, within that limit"),
        (N_("yes"), N_("pass"), N_("passed")),
    ),
    Choice(
        ReadinessResult.FAIL,
        N_("No, not yet"),
        (N_("no"), N_("fail"), N_("failed"), N_("hurt")),
    ),
    Choice(
        ReadinessResult.UNTRIED,
        N_("Haven't tried yet"),
        (N_("not tried"), N_("untried"), N_("haven't tried"), N_("not yet")),
    ),
)
# Heel raises are counted: the buttons cover the usual range, any count can be typed.
HEEL_RAISE_MAX = 200
_COUNTS = tuple(Choice(str(n), str(n)) for n in range(10, 32, 2))


def parse_count(text: str, translate: Translate = untranslated) -> str | None:
    """A whole number of heel raises, 0-200 ("12", or "twelve" up to ten in words)."""
    words = with_digits(text, translate)
    if not words.isdigit():
        return None
    value = int(words)
    return str(value) if value <= HEEL_RAISE_MAX else None


def _count_question(step: ReadinessStep, field: str) -> Question:
    return Question(step, "plan/ask_heel_raises.j2", _COUNTS, parse_count, field, per_row=6)


QUESTIONS: dict[str, Question] = {
    q.step: q
    for q in (
        choice_question(S.MORNING, "plan/ask_check_morning.j2", "morning", MORNING_CHOICES),
        _count_question(S.HEEL_SORE, "heel_sore"),
        _count_question(S.HEEL_OTHER, "heel_other"),
        *(
            choice_question(STEP_OF[check], "plan/ask_readiness.j2", name, _RESULT)
            for check, name in YES_NO_FIELDS.items()
        ),
        pain_question(S.HOPS, "plan/ask_hop_test.j2", "hops"),
    )
}


def _asks(check: Check):
    """After a settled morning, today's check follows in the same sitting."""

    def settled_then(a: ReadinessAnswers) -> bool:
        return a.morning is Morning.SETTLED and a.check is check

    settled_then.__name__ = f"settled_then_{check}"
    return settled_then


ROUTES: tuple[Route, ...] = (
    *((S.MORNING, STEP_OF[check], _asks(check)) for check in STEP_OF),
    (S.MORNING, DONE, None),
    (S.HEEL_SORE, S.HEEL_OTHER, None),
    (S.HEEL_OTHER, DONE, None),
    *((STEP_OF[check], DONE, None) for check in STEP_OF if check is not Check.HEEL_RAISES),
)


def _assuming_settled(profile: Profile, pending: Attempt, now: datetime) -> Profile:
    """The profile as it will be if the morning after `pending` turns out settled."""
    settled = PlanEventView(
        now,
        PlanEventKind.READINESS,
        {ReadinessEventKey.CHECK: str(pending.check), ReadinessEventKey.MORNING_WORSE: False},
    )
    return replace(profile, plan_events=(*profile.plan_events, settled))


def start_check(state: DialogState | None, profile: Profile, *, now: datetime) -> Outcome:
    """`/test`: the morning after the last check if still unknown, then today's check."""
    episode = profile.episode
    if not has_plan(profile) or episode is None:
        return no_plan()
    zone = profile.zone or "UTC"
    hidden = {LIMIT_KEY: str(check_pain_max(episode.care_path))}
    pending = waiting_for_morning(profile)
    if pending is not None:
        if local_date_of(now, zone) <= local_date_of(pending.at, zone):
            return _wait(profile, now)
        settled = _assuming_settled(profile, pending, now)
        impact_ok = gate_open(settled, now=now)
        following = None if too_soon(settled, now) else next_check(settled, impact_ok=impact_ok)
        hidden[PREVIOUS_KEY] = str(pending.check)
        if following is not None:
            hidden[CHECK_KEY] = str(following)
        fresh = FLOW.start(state, now=now, **hidden)
        return Outcome(state=fresh, replies=(question_reply(fresh, now=now),))
    if too_soon(profile, now):
        return _wait(profile, now)
    check = next_check(profile, impact_ok=gate_open(profile, now=now))
    if check is None:
        return Outcome(replies=(info("plan/check_none.j2", phase=int(episode.phase)),))
    hidden[CHECK_KEY] = str(check)
    fresh = replace(FLOW.start(state, now=now, **hidden), step=STEP_OF[check])
    return Outcome(state=fresh, replies=(question_reply(fresh, now=now),))


def _wait(profile: Profile, now: datetime) -> Outcome:
    """One check a day, each judged on its next morning: say when the next one opens."""
    return Outcome(
        replies=(info("plan/check_wait.j2", holds=timing_holds(profile, now), zone=profile.zone),)
    )


def _attempt(a: ReadinessAnswers) -> dict[str, object] | None:
    """The attempt the answers record (None: no check answered, or not tried yet)."""
    check, limit = a.check, a.limit if a.limit is not None else 0
    if check is Check.HEEL_RAISES and a.heel_sore is not None and a.heel_other is not None:
        return {
            ReadinessEventKey.CHECK: str(check),
            ReadinessEventKey.PASSED: heel_raises_pass(a.heel_sore, a.heel_other),
            ReadinessEventKey.SORE: a.heel_sore,
            ReadinessEventKey.OTHER: a.heel_other,
        }
    if check is Check.HOPS and a.hops is not None:
        return {
            ReadinessEventKey.CHECK: str(check),
            ReadinessEventKey.PASSED: a.hops <= limit,
            ReadinessEventKey.PAIN: a.hops,
        }
    if check in YES_NO_FIELDS:
        answer = getattr(a, YES_NO_FIELDS[check])
        if answer in (ReadinessResult.PASS, ReadinessResult.FAIL):
            return {
                ReadinessEventKey.CHECK: str(check),
                ReadinessEventKey.PASSED: answer == ReadinessResult.PASS,
            }
    return None


def finish(state: DialogState, profile: Profile, now: datetime) -> Outcome:
    """Record the morning verdict and today's attempt, and say what each means."""
    a = FLOW.answers(state.answers)
    effects: list[Effect] = []
    morning = None
    stepped_back: Reply | None = None
    if a.previous is not None and a.morning in (Morning.SETTLED, Morning.WORSE):
        morning = {"check": str(a.previous), "worse": a.morning is Morning.WORSE}
        if a.morning is Morning.WORSE:
            # R9: a test that brings a morning flare counts as a step back, not only as a
            # test that does not count.
            stepped_back, back = _step_back_after_flare(profile, now)
            effects += back
        effects.append(
            RecordPlanEvent(
                at=now,
                kind=PlanEventKind.READINESS,
                data={
                    ReadinessEventKey.CHECK: str(a.previous),
                    ReadinessEventKey.MORNING_WORSE: a.morning is Morning.WORSE,
                },
            )
        )
    attempt = _attempt(a)
    if attempt is not None:
        effects.append(RecordPlanEvent(at=now, kind=PlanEventKind.READINESS, data=attempt))
    percent = (
        lsi_percent(a.heel_sore, a.heel_other)
        if a.heel_sore is not None and a.heel_other is not None
        else None
    )
    context = {
        "morning": morning,
        "unsure": a.previous is not None and a.morning is Morning.UNSURE,
        "check": str(a.check) if a.check is not None and a.morning is not Morning.WORSE else "",
        "passed": bool(attempt and attempt[ReadinessEventKey.PASSED]),
        "tried": attempt is not None,
        "answers": a,
        "percent": percent,
    }
    replies = (info("plan/check_result.j2", **context),)
    if stepped_back is not None:
        replies += (stepped_back,)
    return Outcome(state=state, replies=replies, effects=tuple(effects))


def _step_back_after_flare(profile: Profile, now: datetime) -> tuple[Reply | None, list[Effect]]:
    """One phase back after a test's morning flare (none below the first phase)."""
    episode = profile.episode
    if episode is None or episode.phase <= Phase.MOBILITY:
        return None, []
    change = {
        PhaseEventKey.FROM: int(episode.phase),
        PhaseEventKey.TO: int(previous_phase(Phase(episode.phase))),
        PhaseEventKey.REASON: str(Reason.MORNING_WORSE),
    }
    return info("plan/phase_changed.j2", **change), [
        ChangeEpisode({"phase": change[PhaseEventKey.TO]}),
        RecordPlanEvent(at=now, kind=PlanEventKind.PHASE, data=change),
    ]


FLOW = Flow(
    name=FlowName.READINESS,
    steps=ReadinessStep,
    first=ReadinessStep.MORNING,
    questions=QUESTIONS,
    routes=ROUTES,
    answers_type=ReadinessAnswers,
    answer_keys={
        **{step: q.field for step, q in QUESTIONS.items()},
        CHECK_KEY: "check",
        PREVIOUS_KEY: "previous",
        LIMIT_KEY: "limit",
    },
    finish=finish,
)
