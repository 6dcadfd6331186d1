"""The exercise plan after home care: today's session, how-tos, and progression at check-ins.

Pure decisions over the runner's `Profile`: `/plan` shows today's session with a how-to button
per exercise (the plyometric gate re-checked on what is known today), `/exercises` browses the
library, and each check-in's exercise answers move the plan by the pain-monitoring model
(`flows.progression`, reference section 5) with the reason announced. The return to running is
`flows.readiness` and `flows.run_log`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from flows import plan_questions, prevention, triage
from flows.checks import (
    CHECK_SPACING,
    Hold,
    hop_holds,
    late_hop_holds,
    next_check,
    step_up_holds,
    timing_holds,
    top_phase,
)
from flows.effects import ChangeEpisode, Effect, Outcome, RecordPlanEvent
from flows.exercise_library import exercise_by_id, exercises
from flows.profile import CheckInView, Profile
from flows.progression import DayResponse, Move, Reason, decide_progression
from flows.replies import info
from flows.rules import Answers, plyometric_gate_blockers
from flows.sessions import build_session, next_phase
from flows.types import (
    WITHIN_72_HOURS,
    Button,
    ButtonAction,
    Disposition,
    EpisodeStatus,
    Location,
    Phase,
    PhaseEventKey,
    PlanEventKind,
    Reply,
    Started,
    WeightBearing,
)
from flows.words import N_

# Hopping (the plyometric gate) is held back while the injury is under 72 hours old
# (docs/clinical-basis.md, "Exercise plan and progression"; reference section 4).
RECENT_INJURY = timedelta(hours=72)


def current_answers(profile: Profile, *, now: datetime) -> Answers:
    """The assessment's answers brought up to date with what is known since.

    Pain is the latest soreness report, walking the latest check-in's answer, and an injury
    counts as recent (under 72 h) only while it still is: the plyometric gate must be able to
    open as the ankle recovers (reference section 4: re-check it before every session).
    """
    episode = profile.episode
    assert episode is not None
    answers = triage.answers_of(episode.answers)
    if profile.soreness:
        answers = replace(answers, pain=profile.soreness[-1][1])
    walked = [c.walking for c in episode.check_ins if c.walking is not None]
    if walked:
        answers = replace(answers, weight_bearing=WeightBearing(walked[-1]))
    if answers.started in WITHIN_72_HOURS and now - episode.assessed_at >= RECENT_INJURY:
        answers = replace(answers, started=Started.DAYS_3_4)
    return answers


def gate_blockers(profile: Profile, *, now: datetime) -> tuple[str, ...]:
    """What keeps the plyometric gate closed today (empty: open)."""
    episode = profile.episode
    if episode is None:
        return ("trigger",)
    return plyometric_gate_blockers(
        current_answers(profile, now=now),
        has_trigger=episode.disposition is not Disposition.HOME_CARE,
    )


def gate_open(profile: Profile, *, now: datetime) -> bool:
    return not gate_blockers(profile, now=now)


def todays_session(profile: Profile, *, now: datetime) -> Reply:
    """Today's exercise session for the running plan, the gate re-checked on today's answers."""
    episode = profile.episode
    assert episode is not None
    answers = current_answers(profile, now=now)
    blockers = gate_blockers(profile, now=now)
    pain = answers.pain if answers.pain is not None else episode.pain_at_assessment
    session = build_session(
        path=episode.care_path,
        location=Location(episode.location),
        phase=Phase(episode.phase),
        pain_now=pain,
        gate_open=not blockers,
        outside_sprain_healing=(
            episode.location == Location.OUTSIDE
            and answers.weight_bearing is not WeightBearing.NORMAL
        ),
    )
    # Whenever hops are held back the session says why and what will open them; the first
    # hold is enough here (/hop lists them all).
    holds = hop_holds(profile, now=now, gate_blockers=blockers)
    return Reply(
        "triage/exercise_session.j2",
        {
            "session": session,
            "gate_blockers": blockers,
            "pain": pain,
            "hop_holds": holds[:1],
            "zone": profile.zone,
        },
    )


def has_plan(profile: Profile) -> bool:
    episode = profile.episode
    return (
        episode is not None
        and episode.disposition is Disposition.HOME_CARE
        and episode.status in (EpisodeStatus.ACTIVE, EpisodeStatus.RESOLVED)
    )


def no_plan() -> Outcome:
    return Outcome(replies=(info("plan/no_plan.j2"),))


def howto_buttons(exercise_ids: list[str]) -> tuple[tuple[Button, ...], ...]:
    """A how-to button per exercise, numbered as the message lists them, two to a row (an
    exercise's name is too long for a button on a phone)."""
    buttons = [
        Button(N_("How to do %(n)s"), ButtonAction.HOWTO, "", i, (("n", str(n)),))
        for n, i in enumerate((i for i in exercise_ids if exercise_by_id(i) is not None), 1)
    ]
    return tuple(tuple(buttons[at : at + 2]) for at in range(0, len(buttons), 2))


# The questions `/plan` answers with a tap (rows of flows.commands run them).
HOP_LABEL = N_("Can I hop?")
RUN_LABEL = N_("When can I run?")
HOP_COMMAND = "hop"
RUN_COMMAND = "whenrun"


def hop_run_buttons() -> tuple[Button, ...]:
    """One row: whether hopping, and running, are open yet (`flows.hop_run`)."""
    return (
        Button(HOP_LABEL, ButtonAction.COMMAND, "", HOP_COMMAND),
        Button(RUN_LABEL, ButtonAction.COMMAND, "", RUN_COMMAND),
    )


def show_plan(profile: Profile, *, now: datetime) -> Outcome:
    """Today's session, with a button per exercise that opens its how-to."""
    if not has_plan(profile):
        return no_plan()
    session = todays_session(profile, now=now)
    ids = [item.exercise.id for item in session.context["session"].items]
    # The runner's questions under today's session: whether hopping and running are open, then
    # cross-training, painkillers, brace and racing; and the balance programme after recovery.
    questions = info("plan/questions.j2")
    return Outcome(
        replies=(
            replace(session, buttons=howto_buttons(ids)),
            *prevention.plan_replies(profile, now=now),
            replace(
                questions,
                buttons=(hop_run_buttons(), *plan_questions.question_buttons()),
            ),
        )
    )


def browse_exercises() -> Outcome:
    by_phase = {phase: [e for e in exercises() if e.phase is phase] for phase in Phase}
    return Outcome(
        replies=(
            Reply(
                "plan/exercises.j2",
                {
                    "by_phase": by_phase,
                    "numbers": {e.id: n for n, e in enumerate(exercises(), 1)},
                },
                howto_buttons([e.id for e in exercises()]),
            ),
        )
    )


def show_exercise(exercise_id: str, profile: Profile) -> Outcome:
    exercise = exercise_by_id(exercise_id)
    if exercise is None:
        return Outcome(replies=(info("triage/unreadable.j2", kind="button"),))
    location = profile.episode.location if profile.episode else ""
    return Outcome(
        replies=(
            info(
                "plan/exercise.j2",
                exercise=exercise,
                note=exercise.note_for(location) if location else "",
            ),
        )
    )


# --- progression at a check-in -------------------------------------------------------------------


def day_responses(profile: Profile) -> list[DayResponse]:
    """The exercise days of the current phase, from the check-ins that asked about them.

    Days before the last phase change belong to the previous phase: two good days there must
    not carry the plan straight through the next one too.
    """
    episode = profile.episode
    assert episode is not None
    changes = [e.at for e in profile.plan_events if e.kind == PlanEventKind.PHASE]
    since = max(changes) if changes else None
    return [
        DayResponse(
            day=c.at.date(),
            pain_during=c.exercise_pain,
            morning_pain=None,
            morning_worse=c.morning_worse,
            done=bool(c.exercises_done),
        )
        for c in episode.check_ins
        if c.exercises_done is not None and (since is None or c.at > since)
    ]


def with_check_in(profile: Profile, view: CheckInView) -> Profile:
    """The profile as it stands once this check-in is counted (its soreness and answers)."""
    episode = profile.episode
    assert episode is not None
    return replace(
        profile,
        soreness=(*profile.soreness, (view.at, view.soreness)),
        episode=replace(episode, check_ins=(*episode.check_ins, view)),
    )


def progress_after_check_in(
    profile: Profile, *, now: datetime
) -> tuple[tuple[Reply, ...], tuple[Effect, ...]]:
    """Move the plan by the pain-monitoring model and the self-tests; say why.

    `profile` already counts the check-in just answered (`with_check_in`), so the gate is
    judged on today's soreness and walking, not yesterday's. A step up also needs its
    self-tests (`flows.checks.step_up_holds`) and waits 24 h after the last check or step-up;
    when only those hold the plan, the runner is told why and what will open it.
    """
    episode = profile.episode
    if episode is None or not has_plan(profile) or not episode.check_ins:
        return (), ()
    if episode.check_ins[-1].exercises_done is None:
        return (), ()
    blockers = gate_blockers(profile, now=now)
    phase = Phase(episode.phase)
    decision = decide_progression(
        phase=phase, responses=day_responses(profile), gate_open=not blockers
    )
    # Two good days that would step the plan up, unless the gate or a self-test holds it.
    gate_held = decision.step is Move.HOLD and decision.reason is Reason.GATE_CLOSED
    if decision.step is Move.FORWARD or gate_held:
        target = next_phase(phase)
        if target > top_phase(episode.care_path) or (
            target is Phase.PLYOMETRIC and late_hop_holds(profile, now)
        ):
            # The path's top phase, or the weeks of loading before a tendon's hops: the
            # session and /hop say so; a daily "held" message would say nothing new.
            return (), ()
        holds = step_up_holds(profile, target, now=now, gate_blockers=blockers)
        if holds:
            return (_held(profile, target, holds, now=now),), ()
    if decision.to_phase == decision.from_phase:
        return (), ()
    change = {
        PhaseEventKey.FROM: int(decision.from_phase),
        PhaseEventKey.TO: int(decision.to_phase),
        PhaseEventKey.REASON: str(decision.reason),
    }
    replies: tuple[Reply, ...] = (info("plan/phase_changed.j2", **change),)
    if decision.to_phase is Phase.PLYOMETRIC:
        replies += (info("plan/run_offer.j2"),)
    elif decision.to_phase > decision.from_phase and decision.to_phase in (
        Phase.STRENGTH,
        Phase.BALANCE,
    ):
        replies += (
            Reply(
                "plan/test_offer.j2",
                {
                    "phase": int(decision.to_phase),
                    "opens_at": now + CHECK_SPACING,
                    "zone": profile.zone,
                },
            ),
        )
    return replies, (
        ChangeEpisode({"phase": int(decision.to_phase)}),
        RecordPlanEvent(at=now, kind=PlanEventKind.PHASE, data=change),
    )


def _held(profile: Profile, target: Phase, holds: tuple[Hold, ...], *, now: datetime) -> Reply:
    """Two good days would step the plan up, but a self-test or the 24-hour rule holds it."""
    return Reply(
        "plan/phase_held.j2",
        {"to": int(target), "holds": holds, "zone": profile.zone},
        self_test_buttons(profile, now=now),
    )


def self_test_buttons(profile: Profile, *, now: datetime) -> tuple[tuple[Button, ...], ...]:
    """A "Today's self-test" button when a check is due and may be taken now."""
    if (
        timing_holds(profile, now)
        or next_check(profile, impact_ok=gate_open(profile, now=now)) is None
    ):
        return ()
    return ((Button(TEST_LABEL, ButtonAction.COMMAND, "", TEST_COMMAND),),)


TEST_LABEL = N_("Today's self-test")
TEST_COMMAND = "test"


# --- return to running ---------------------------------------------------------------------------


# --- the runner's data ---------------------------------------------------------------------------
