"""One runner's conversation: apply an event to the restored state, say what happens next.

`advance` is the only entry point the adapters (Telegram, terminal) call. It takes the state
loaded from the database (or None for a runner we have never talked to), the runner's
`Profile`, one event and the current time, and returns an `Outcome`: the state to store (None
when nothing changes), the replies to send as template names plus context, and the effects to
apply (recording the finished assessment when the triage questions are over). The triage lives
here; check-ins, soreness reports and reminders are in `flows.care`. It never sends, stores or
reads the clock itself.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from flows import care, plan
from flows.advice import outcome_replies
from flows.events import (
    AnswerSeenCheck,
    CancelAssessment,
    ChooseAnswer,
    Command,
    DialogState,
    Event,
    LogExercise,
    Navigate,
    Outcome,
    Profile,
    RecordAssessment,
    Resume,
    ShowExercise,
    ShowInfo,
    StartAssessment,
    StartCheckIn,
    TypedText,
    Unreadable,
)
from flows.questions import QUESTIONS, TRIAGE_STEPS, Step, parse_pain
from flows.replies import info, question_reply
from flows.rules import Answers, decide
from flows.triage import FIRST_STEP, next_step
from flows.types import Disposition, Reply

__all__ = [
    "AnswerSeenCheck",
    "CancelAssessment",
    "ChooseAnswer",
    "Command",
    "DialogState",
    "Event",
    "LogExercise",
    "Navigate",
    "Outcome",
    "Profile",
    "Resume",
    "ShowInfo",
    "StartAssessment",
    "StartCheckIn",
    "TypedText",
    "Unreadable",
    "advance",
    "event_for_command",
]

# Typed words that mean a navigation button rather than an answer.
_BACK_WORDS = frozenset({"back", "go back", "previous", "undo"})
_RESTART_WORDS = frozenset({"start over", "restart", "start again", "new", "reset"})
# Longer than any real answer; Telegram allows 4096 characters, we do not read essays.
MAX_ANSWER_LENGTH = 200


def _with_current_question(state: DialogState | None, first: Reply, *, now: datetime) -> Outcome:
    """A short note, followed by the current question again when an assessment is under way."""
    if state is not None and state.active:
        return Outcome(replies=(first, question_reply(state, now=now)))
    return Outcome(replies=(first,))


# --- the transitions of one conversation ---------------------------------------------


def _new_assessment(state: DialogState | None, *, now: datetime, intro: bool) -> Outcome:
    fresh = DialogState(step=FIRST_STEP, version=_next_version(state), started_at=now)
    replies = (info("triage/welcome.j2"),) if intro else ()
    return Outcome(state=fresh, replies=(*replies, question_reply(fresh, now=now)))


def _next_version(state: DialogState | None) -> int:
    return (state.version if state is not None else 0) + 1


def _answer(state: DialogState, value: str, profile: Profile, *, now: datetime) -> Outcome:
    answers = {**state.answers, state.step.value: value}
    typed = Answers.from_mapping(answers)
    following = next_step(state.step, typed)
    history = (*state.history, state.step)
    version = state.version + 1
    moved = DialogState(following, answers, history, version, state.started_at)
    if following is not Step.DONE:
        return Outcome(state=moved, replies=(question_reply(moved, now=now),))
    if care.is_check_in(moved):
        return care.finish_check_in(moved, profile, now=now)
    if Step.SORENESS.value in answers:
        outcome = care.record_soreness(profile, int(answers[Step.SORENESS.value]), now=now)
        return replace(outcome, state=moved)
    if Step.REMINDER_TIME.value in answers:
        return care.finish_setup(moved, profile, now=now)
    if plan.is_readiness(moved):
        return plan.finish_readiness(moved, profile, now=now)
    if plan.is_run(moved):
        return plan.finish_run(moved, profile, now=now)
    if Step.CONFIRM_DELETE.value in answers:
        return plan.finish_delete(moved)
    decision = decide(typed)
    assessment = RecordAssessment(
        answers=answers,
        decision=decision,
        started_at=state.started_at or now,
        completed_at=now,
    )
    return Outcome(
        state=moved,
        replies=outcome_replies(typed, decision),
        effects=(assessment, *care.after_assessment(profile, assessment)),
    )


def _back(state: DialogState, *, now: datetime) -> Outcome:
    if not state.history:
        return Outcome(replies=(question_reply(state, now=now, note="first_question"),))
    previous = state.history[-1]
    history = state.history[:-1]
    # Keep only answers to questions still behind us, so an abandoned path leaves no trace.
    kept = {
        step.value: state.answers[step.value] for step in history if step.value in state.answers
    }
    moved = DialogState(previous, kept, history, state.version + 1, state.started_at)
    return Outcome(state=moved, replies=(question_reply(moved, now=now),))


def _finished_triage(state: DialogState | None) -> bool:
    """Whether the runner's last dialog was a triage that reached its outcome.

    (Told apart by its first question's answer until each dialog names itself in its state.)
    """
    return (
        state is not None
        and state.step is Step.DONE
        and FIRST_STEP.value in state.answers
        and not care.is_check_in(state)
    )


def _stale(state: DialogState | None, *, now: datetime) -> Outcome:
    if _finished_triage(state):
        assert state is not None
        answers = Answers.from_mapping(state.answers)
        decision = decide(answers)
        if decision.disposition is not Disposition.HOME_CARE:
            # Tapping a button of a finished urgent assessment may mean its advice never
            # arrived (a failed delivery): say it again rather than "already finished".
            first = outcome_replies(answers, decision)[0]
            return Outcome(replies=(info("triage/repeat_outcome.j2"), first))
    note = info("triage/stale_button.j2", active=state is not None and state.active)
    return _with_current_question(state, note, now=now)


def _typed(state: DialogState | None, text: str, profile: Profile, *, now: datetime) -> Outcome:
    if len(text) > MAX_ANSWER_LENGTH:
        return _with_current_question(
            state, info("triage/unreadable.j2", kind="long_text"), now=now
        )
    words = text.strip().lower()
    if state is None or not state.active:
        # Outside a question, a bare pain score is a soreness report (or a check-in's answer).
        value = parse_pain(text)
        if value is None:
            return Outcome(replies=(info("triage/no_assessment.j2"),))
        if profile.open_check_in is not None:
            return care.start_check_in(
                state, profile, message_id=profile.open_check_in, soreness=int(value), now=now
            )
        return care.record_soreness(profile, int(value), now=now)
    # An answer wins over a navigation word: "back" is also where an Achilles problem hurts.
    value = QUESTIONS[state.step].parse(text)
    if value is not None:
        return _answer(state, value, profile, now=now)
    if words in _BACK_WORDS:
        return _back(state, now=now)
    if words in _RESTART_WORDS:
        return _new_assessment(state, now=now, intro=False)
    return Outcome(replies=(question_reply(state, now=now, note="reask"),))


def _command(
    state: DialogState | None, command: Command, profile: Profile, *, now: datetime
) -> Outcome:
    match command.name:
        case "sore":
            value = parse_pain(command.argument) if command.argument else None
            if value is not None:
                return care.record_soreness(profile, int(value), now=now)
            if state is not None and state.active and state.step in TRIAGE_STEPS:
                return Outcome(
                    replies=(
                        info("care/finish_assessment_first.j2"),
                        question_reply(state, now=now),
                    )
                )
            fresh = DialogState(Step.SORENESS, {}, (), _next_version(state), now)
            return Outcome(state=fresh, replies=(question_reply(fresh, now=now),))
        case "reminders":
            return care.start_setup(state, profile, now=now)
        case "pause":
            return care.pause(profile)
        case "resume":
            return care.resume(profile, now=now)
        case "stop":
            return care.stop(profile)
        case "status":
            return care.show_status(profile, now=now)
        case "plan":
            return plan.show_plan(profile, now=now)
        case "exercises":
            return plan.browse_exercises()
        case "run":
            return plan.start_running(state, profile, now=now)
        case "progress":
            return plan.progress(profile)
        case "export":
            return plan.export(profile)
        case "delete":
            return plan.ask_delete(state, now=now)
    return _with_current_question(
        state, info("triage/unreadable.j2", kind="unknown_command"), now=now
    )


def _dispatch(
    state: DialogState | None, event: Event, profile: Profile, *, now: datetime
) -> Outcome:
    match event:
        case StartAssessment(intro=intro):
            return _new_assessment(state, now=now, intro=intro)
        case Resume():
            if state is not None and state.active:
                return Outcome(replies=(question_reply(state, now=now, note="resume"),))
            return _new_assessment(state, now=now, intro=True)
        case CancelAssessment():
            if state is None or not state.active:
                return Outcome(replies=(info("triage/cancelled.j2", had_assessment=False),))
            done = replace(state, step=Step.DONE, answers={}, history=(), version=state.version + 1)
            return Outcome(state=done, replies=(info("triage/cancelled.j2", had_assessment=True),))
        case ChooseAnswer(step=step, value=value, version=version):
            if (
                state is None
                or not state.active
                or version != state.version
                or step != state.step.value
            ):
                return _stale(state, now=now)
            if value not in {
                c.value for c in QUESTIONS[state.step].choices_for(state.answers, now)
            }:
                return _with_current_question(
                    state, info("triage/unreadable.j2", kind="button"), now=now
                )
            return _answer(state, value, profile, now=now)
        case Navigate(action=action, version=version):
            if state is None or not state.active or version != state.version:
                return _stale(state, now=now)
            if action == "back":
                return _back(state, now=now)
            return _new_assessment(state, now=now, intro=False)
        case TypedText(text=text):
            return _typed(state, text, profile, now=now)
        case Unreadable(kind=kind):
            return _with_current_question(state, info("triage/unreadable.j2", kind=kind), now=now)
        case ShowInfo(topic=topic):
            return _with_current_question(state, info(f"triage/{topic}.j2"), now=now)
        case StartCheckIn(message_id=message_id, soreness=soreness):
            return care.start_check_in(
                state, profile, message_id=message_id, soreness=soreness, now=now
            )
        case AnswerSeenCheck(message_id=message_id, seen=seen):
            return care.answer_seen_check(profile, message_id=message_id, seen=seen, now=now)
        case LogExercise(local_date=day, result=result):
            return care.log_exercise(profile, day=day, result=result, now=now)
        case Command():
            return _command(state, event, profile, now=now)
        case ShowExercise(exercise_id=exercise_id):
            return plan.show_exercise(exercise_id, profile)
    raise TypeError(f"unknown event {event!r}")


def needs_profile(state: DialogState | None, event: Event) -> bool:
    """Whether `event` needs the runner's whole follow-up profile, or only their settings.

    Answering the triage questions (and moving within them) decides nothing about follow-ups
    until the last answer, which needs only the settings; every other event may.
    """
    in_triage = state is not None and state.active and state.step in TRIAGE_STEPS
    if isinstance(event, (ChooseAnswer, Navigate, TypedText)):
        return not in_triage
    return not isinstance(event, (StartAssessment, ShowInfo, Unreadable, Resume))


def advance(
    state: DialogState | None, event: Event, *, now: datetime, profile: Profile | None = None
) -> Outcome:
    """Apply one event to a runner's restored state and say what should happen next."""
    if now.tzinfo is None:
        raise ValueError("advance needs an aware datetime")
    profile = profile or Profile()
    outcome = _dispatch(state, event, profile, now=now)
    # A runner who went quiet (two unanswered check-ins) and writes again gets check-ins back.
    if profile.unanswered_checkins >= 2 and not isinstance(event, (Unreadable, ShowInfo)):
        outcome = replace(
            outcome, effects=(*outcome.effects, *care.restart_check_ins(profile, now=now))
        )
    return outcome


COMMANDS: dict[str, Event] = {
    "start": StartAssessment(intro=True),
    "new": StartAssessment(intro=False),
    "cancel": CancelAssessment(),
    "help": ShowInfo(topic="help"),
    "about": ShowInfo(topic="about"),
}
FOLLOW_UP_COMMANDS = frozenset(
    {
        "sore",
        "reminders",
        "pause",
        "resume",
        "stop",
        "status",
        "plan",
        "exercises",
        "run",
        "progress",
        "export",
        "delete",
    }
)


def event_for_command(name: str, argument: str = "") -> Event:
    """The event of a command such as "new" (an unknown command is an Unreadable event)."""
    name = name.lower()
    if name in FOLLOW_UP_COMMANDS:
        return Command(name, argument.strip())
    return COMMANDS.get(name, Unreadable(kind="unknown_command"))
