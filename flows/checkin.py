"""A check-in: the runner's soreness, the change since last time, a red-flag re-screen and the
day's exercises, then what the check-in decides (`flows.checkin_rules.decide_check_in`).

A check-in message (sent by the follow-up schedule) carries soreness buttons; tapping one, or
typing a score while it is open, starts this dialog with the soreness and the message as hidden
answers. The red flags are asked one by one only when the runner says something new may have
appeared, the exercise questions only while a home-care plan runs. Any emergency answer ends
the questions at once, with the same outcome messages as a first assessment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from flows import prevention, triage
from flows.advice import outcome_replies
from flows.care_paths import PathChoice
from flows.checkin_rules import CheckIn, Episode, Verdict, decide_check_in
from flows.effects import (
    CancelMessages,
    ChangeEpisode,
    Effect,
    Outcome,
    RecordCheckIn,
    RecordSoreness,
)
from flows.exercise_plan import progress_after_check_in, with_check_in
from flows.flow import Flow, Route, question_reply
from flows.follow_up_schedule import follow_up_times, schedule_follow_up
from flows.local_time import FollowUpKind
from flows.profile import CheckInView, Profile
from flows.questions import (
    MORNING_CHOICES,
    Choice,
    Question,
    choice_question,
    pain_question,
    yes_no,
)
from flows.replies import info
from flows.rules import Answers, flagged, has_emergency
from flows.state import DialogState
from flows.types import (
    DONE,
    Disposition,
    EpisodeStatus,
    FlowName,
    Morning,
    Reply,
    Sign,
    SorenessSource,
    Trend,
    WeightBearing,
    YesNo,
)
from flows.words import N_


class CheckInStep(StrEnum):
    """One question of a check-in (value = the id stored and carried in callback data)."""

    TREND = "c_trend"
    FLAGS = "c_flags"
    WALK = "c_walk"
    CIRCULATION = "c_e2"
    FEVER = "c_e5"
    CALF = "c_e6c"
    CHEST = "c_e6x"
    SEVERE_PAIN = "c_e7p"
    EXERCISES = "c_exd"
    EXERCISE_PAIN = "c_exp"
    MORNING = "c_exm"


class ExercisesAnswer(StrEnum):
    """Whether the runner did the day's exercises (stored with the check-in's answers)."""

    ALL = "all"
    SOME = "some"
    NONE = "none"


# The answers that count as having exercised (the follow-up questions ask how it went).
EXERCISED = frozenset({ExercisesAnswer.ALL, ExercisesAnswer.SOME})


def exercises_done(answer: str | None) -> bool | None:
    """Whether an exercises answer counts as done; None when the question was not asked."""
    return answer in EXERCISED if answer in tuple(ExercisesAnswer) else None


def morning_worse(answer: str | None) -> bool | None:
    """Whether a morning answer says worse; None when not asked or not known yet."""
    return None if answer in (None, Morning.UNSURE) else answer == Morning.WORSE


# Answers a check-in carries without asking: the soreness tapped on the check-in message, that
# message, and whether a plan runs (the exercise questions).
SORENESS_KEY = "c_sore"
MESSAGE_KEY = "ci"
PLAN_KEY = "plan"
# A seen-check's answer (a `SeenAnswer`), stored with its message under MESSAGE_KEY.
SEEN_KEY = "seen"
# The rule codes of a check-in that changed the advice (space-separated), stored with its
# answers: a repeat of that advice ("Not yet" seen) must say why, as the first message did.
REASONS_KEY = "why"


def advice_reasons(
    assessment_reasons: Sequence[str], check_in_answers: Sequence[Mapping[str, str]]
) -> tuple[str, ...]:
    """The reasons behind the episode's current advice: those of the newest check-in that
    changed it (answers oldest first), else the assessment's."""
    for answers in reversed(check_in_answers):
        if answers.get(REASONS_KEY):
            return tuple(answers[REASONS_KEY].split())
    return tuple(assessment_reasons)


@dataclass(frozen=True, slots=True)
class CheckInAnswers:
    """What a check-in has been told so far; None where a question was not (yet) asked."""

    soreness: int | None = None
    check_in_message: int | None = None
    plan: YesNo | None = None
    change: Trend | None = None
    new_flags: YesNo | None = None
    weight_bearing: WeightBearing | None = None
    circulation: YesNo | None = None
    fever: YesNo | None = None
    calf: YesNo | None = None
    chest: YesNo | None = None
    severe_pain: YesNo | None = None
    exercises: ExercisesAnswer | None = None
    exercise_pain: int | None = None
    morning: Morning | None = None

    def as_triage(self) -> Answers:
        """The re-screen as triage answers, so the same rules judge it."""
        flags = {name: getattr(self, name) for name in RESCREEN_FIELDS}
        return Answers(weight_bearing=self.weight_bearing, **flags)


def reported_new_signs(a: CheckInAnswers) -> bool:
    """The warning signs are asked one by one only if any may have appeared."""
    return flagged(a.new_flags)


def has_a_plan(a: CheckInAnswers) -> bool:
    """Exercise questions belong to check-ins while a home-care plan is running."""
    return a.plan is YesNo.YES


def did_exercises(a: CheckInAnswers) -> bool:
    return a.exercises in EXERCISED


def has_an_emergency_sign(a: CheckInAnswers) -> bool:
    return has_emergency(a.as_triage())


S = CheckInStep
# fmt: off
ROUTES: tuple[Route, ...] = (
    # after answering   ask next            when
    (S.TREND,           S.FLAGS,            None),
    (S.FLAGS,           S.WALK,             reported_new_signs),
    (S.FLAGS,           S.WALK,             has_a_plan),
    (S.FLAGS,           DONE,               None),
    (S.WALK,            S.CIRCULATION,      reported_new_signs),
    (S.WALK,            S.EXERCISES,        has_a_plan),
    (S.WALK,            DONE,               None),
    (S.CIRCULATION,     S.FEVER,            None),
    (S.FEVER,           S.CALF,             None),
    (S.CALF,            S.CHEST,            None),
    (S.CHEST,           S.SEVERE_PAIN,      None),
    (S.SEVERE_PAIN,     S.EXERCISES,        has_a_plan),
    (S.SEVERE_PAIN,     DONE,               None),
    (S.EXERCISES,       S.EXERCISE_PAIN,    did_exercises),
    (S.EXERCISES,       DONE,               None),
    (S.EXERCISE_PAIN,   S.MORNING,          None),
    (S.MORNING,         DONE,               None),
)
# fmt: on

_CHANGE = (
    Choice(Trend.BETTER, N_("Better"), (N_("better"), N_("improving"))),
    Choice(Trend.SAME, N_("About the same"), (N_("same"), N_("no change"), N_("unchanged"))),
    Choice(Trend.WORSE, N_("Worse"), (N_("worse"), N_("worsening"))),
)
_EXERCISES = (
    Choice(ExercisesAnswer.ALL, N_("Yes, all of them"), (N_("yes"), N_("all"), N_("done"))),
    Choice(ExercisesAnswer.SOME, N_("Some of them"), (N_("some"), N_("partly"), N_("a few"))),
    Choice(ExercisesAnswer.NONE, N_("No"), (N_("no"), N_("none"), N_("not done"))),
)

# The red flags re-screened at every check-in (reference section 6: E2, E5, E6, E7; E4 is the
# walking question), each asked as the triage asks it, under a step id of the check-in's own.
RESCREENED: dict[CheckInStep, Sign] = {
    CheckInStep.CIRCULATION: Sign.CIRCULATION,
    CheckInStep.FEVER: Sign.FEVER,
    CheckInStep.CALF: Sign.CALF,
    CheckInStep.CHEST: Sign.CHEST,
    CheckInStep.SEVERE_PAIN: Sign.SEVERE_PAIN,
}
# The triage answers they fill (the fields of CheckInAnswers of the same names).
RESCREEN_FIELDS = tuple(triage.SIGN_QUESTIONS[asked].field for asked in RESCREENED.values())

QUESTIONS: dict[str, Question] = {
    q.step: q
    for q in (
        choice_question(S.TREND, "care/ask_checkin_trend.j2", "change", _CHANGE, per_row=3),
        yes_no(
            S.FLAGS,
            "care/ask_checkin_flags.j2",
            "new_flags",
            yes=N_("Yes, at least one"),
            no=N_("None of these"),
            no_aliases=(N_("none of these"), N_("none")),
        ),
        replace(triage.QUESTIONS[triage.TriageStep.WEIGHT_BEARING], step=S.WALK),
        *(replace(triage.SIGN_QUESTIONS[asked], step=step) for step, asked in RESCREENED.items()),
        choice_question(S.EXERCISES, "care/ask_exercises_done.j2", "exercises", _EXERCISES),
        pain_question(S.EXERCISE_PAIN, "care/ask_exercise_pain.j2", "exercise_pain"),
        choice_question(S.MORNING, "care/ask_morning.j2", "morning", MORNING_CHOICES),
    )
}


def _stale_note(state: DialogState | None, *, now: datetime) -> Outcome:
    replies: tuple[Reply, ...] = (info("care/already_answered.j2"),)
    if state is not None and state.active:
        replies += (question_reply(state, now=now),)
    return Outcome(replies=replies)


def answerable(profile: Profile, message_id: int, sent: frozenset[int]) -> bool:
    """Whether `message_id` is one of the `sent` messages of the runner's active episode and
    is not answered yet. Buttons name their message, and a button can be forged, so the id
    alone proves nothing."""
    episode = profile.episode
    return (
        episode is not None
        and episode.status == EpisodeStatus.ACTIVE
        and message_id in sent
        and message_id not in profile.answered_messages
    )


def start_check_in(
    state: DialogState | None, profile: Profile, *, message_id: int, soreness: int, now: datetime
) -> Outcome:
    """The first answer of a check-in (its soreness button): ask the rest as a conversation.

    Only a check-in sent for the current episode while it is home care, and not answered yet,
    starts one: any other (answered, an earlier episode's, one the advice has moved on from
    since, or an id that was never sent) is stale.
    """
    episode = profile.episode
    if (
        episode is None
        or episode.disposition is not Disposition.HOME_CARE
        or not answerable(profile, message_id, profile.sent_check_ins)
    ):
        return _stale_note(state, now=now)
    if state is not None and state.active:
        if state.flow is FlowName.CHECKIN and state.answers.get(MESSAGE_KEY) == str(message_id):
            return _stale_note(state, now=now)
        if state.flow is FlowName.TRIAGE:
            return Outcome(
                replies=(info("care/finish_assessment_first.j2"), question_reply(state, now=now))
            )
    fresh = FLOW.start(
        state,
        now=now,
        **{SORENESS_KEY: str(soreness), MESSAGE_KEY: str(message_id), PLAN_KEY: YesNo.YES},
    )
    return Outcome(state=fresh, replies=(question_reply(fresh, now=now),))


def check_in_view(at: datetime, answers: CheckInAnswers) -> CheckInView:
    """A check-in just answered, as the stored ones are seen."""
    assert answers.soreness is not None and answers.change is not None
    return CheckInView(
        at=at,
        soreness=answers.soreness,
        trend=answers.change.value,
        exercises_done=exercises_done(answers.exercises),
        exercise_pain=answers.exercise_pain,
        morning_worse=morning_worse(answers.morning),
        walking=answers.weight_bearing.value if answers.weight_bearing is not None else None,
    )


def finish_check_in(state: DialogState, profile: Profile, now: datetime) -> Outcome:
    """The check-in's questions are over: record it and say what it decided."""
    answers = FLOW.answers(state.answers)
    episode = profile.episode
    done = state
    assert answers.soreness is not None and answers.change is not None
    flags = {
        name: getattr(answers, name)
        for name in RESCREEN_FIELDS
        if getattr(answers, name) is not None
    }
    check_in = CheckIn(
        at=now,
        soreness=answers.soreness,
        trend=answers.change,
        can_take_four_steps=answers.weight_bearing is not WeightBearing.UNABLE,
        flags=flags,
    )
    if episode is None:
        return Outcome(state=done, replies=(info("care/already_answered.j2"),))
    history = tuple(
        CheckIn(at=c.at, soreness=c.soreness, trend=Trend(c.trend)) for c in episode.check_ins
    )
    result = decide_check_in(
        Episode(
            assessed_at=episode.assessed_at,
            disposition=episode.disposition,
            pain_at_assessment=episode.pain_at_assessment,
            check_ins=history,
        ),
        check_in,
    )
    recorded = dict(state.answers)
    if result.verdict in (Verdict.RETRIAGE, Verdict.SEE_CLINICIAN):
        recorded[REASONS_KEY] = " ".join(result.reasons)
    effects: list[Effect] = [
        RecordCheckIn(
            at=now,
            answers=recorded,
            soreness=answers.soreness,
            trend=answers.change.value,
            verdict=result.verdict.value,
        ),
        RecordSoreness(at=now, value=answers.soreness, source=SorenessSource.CHECKIN),
    ]
    previous = episode.check_ins[-1].soreness if episode.check_ins else episode.pain_at_assessment
    context = {
        "soreness": answers.soreness,
        "previous": previous,
        "change": answers.change.value,
        "exercises": answers.exercises or "",
        "exercise_pain": answers.exercise_pain,
        "morning": answers.morning or "",
    }
    if result.verdict in (Verdict.RETRIAGE, Verdict.SEE_CLINICIAN):
        decision = result.decision
        assert decision is not None
        kind, due = follow_up_times(profile, assessed_at=now, disposition=decision.disposition)[0]
        effects += [
            ChangeEpisode({"disposition": decision.disposition.code}),
            CancelMessages((FollowUpKind.CHECKIN, FollowUpKind.REMINDER)),
            schedule_follow_up(
                profile,
                kind=kind,
                due_at=due,
                assessed_at=episode.assessed_at,
                number=1,
                tag=":escalated",
            ),
        ]
        # The new advice in one message; its detail buttons name the episode's assessment.
        replies = outcome_replies(
            answers.as_triage(),
            decision,
            PathChoice(episode.care_path),
            assessment=triage.answers_of(episode.answers),
        )
        return Outcome(
            state=done,
            replies=(info("care/checkin_escalated.j2"), *replies),
            effects=tuple(effects),
        )
    # The plan moves on this check-in's exercise answers, the gate judged on today's.
    counted = with_check_in(profile, check_in_view(now, answers))
    plan_replies, plan_effects = progress_after_check_in(counted, now=now)
    effects += plan_effects
    if result.verdict is Verdict.RESOLVED:
        effects += [
            ChangeEpisode({"status": EpisodeStatus.RESOLVED, "resolved_at": now}),
            CancelMessages((FollowUpKind.CHECKIN, FollowUpKind.REMINDER)),
        ]
        return Outcome(
            state=done,
            replies=(prevention.resolved_reply(profile, context), *plan_replies),
            effects=tuple(effects),
        )
    upcoming = next((due for kind, due in profile.upcoming if kind == FollowUpKind.CHECKIN), None)
    return Outcome(
        state=done,
        replies=(
            info("care/checkin_thanks.j2", **context, next_check_in=upcoming, zone=profile.zone),
            *plan_replies,
        ),
        effects=tuple(effects),
    )


FLOW = Flow(
    name=FlowName.CHECKIN,
    steps=CheckInStep,
    first=CheckInStep.TREND,
    questions=QUESTIONS,
    routes=ROUTES,
    answers_type=CheckInAnswers,
    answer_keys={
        **{step: q.field for step, q in QUESTIONS.items()},
        SORENESS_KEY: "soreness",
        MESSAGE_KEY: "check_in_message",
        PLAN_KEY: "plan",
    },
    finish=finish_check_in,
    ends_early=has_an_emergency_sign,
)
