"""One runner's conversation: apply an event to the restored state, say what happens next.

`advance` is the only entry point the adapters (Telegram, terminal) call. It takes the state
loaded from the database (or None for a runner we have never talked to), the runner's
`Profile`, one event and the current time, and returns an `Outcome`: the state to store (None
when nothing changes), the replies to send as template names plus context, and the effects to
apply. The state names its flow (`flows.registry`); an answer moves that flow along its routes
table and, at the end, runs the flow's own `finish`. Commands come from `flows.commands`. It
never sends, stores or reads the clock itself.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from flows import (
    checkin,
    follow_up_schedule,
    language,
    plan_questions,
    prevention,
    registry,
    runner_commands,
    soreness,
    story_confirm,
    triage,
)
from flows.advice import outcome_replies
from flows.care_paths import choose_path
from flows.checkin_rules import UNANSWERED_LIMIT
from flows.commands import BY_NAME
from flows.effects import Outcome
from flows.events import (
    AnswerSeenCheck,
    AskPlanQuestion,
    ChooseAnswer,
    ChooseLanguage,
    ChooseProgramme,
    Command,
    Event,
    LogExercise,
    LogProgrammeSession,
    Navigate,
    Resume,
    ShowDetail,
    ShowExercise,
    StartCheckIn,
    TypedText,
    Unreadable,
)
from flows.exercise_plan import show_exercise
from flows.flow import FLOWS, arrive, question_reply, with_current_question
from flows.outcome_details import show_detail
from flows.profile import Profile
from flows.questions import Translate, parse_pain, untranslated
from flows.replies import info
from flows.rules import decide
from flows.state import DialogState
from flows.types import DONE, ButtonAction, Disposition, FlowName
from flows.words import N_

__all__ = ["advance", "event_for_command", "needs_profile", "registry"]

# Typed words that mean a navigation button rather than an answer.
_BACK_WORDS = frozenset({N_("back"), N_("go back"), N_("previous"), N_("undo")})
_RESTART_WORDS = frozenset(
    {N_("start over"), N_("restart"), N_("start again"), N_("new"), N_("reset")}
)


def _means(words: str, meaning: frozenset[str], translate: Translate) -> bool:
    """Whether typed `words` are one of `meaning`, in English or the runner's language."""
    return words in meaning or words in {translate(word).lower() for word in meaning}


# Longer than any real answer; Telegram allows 4096 characters, we do not read essays.
MAX_ANSWER_LENGTH = 200


# --- the transitions of one conversation ---------------------------------------------


def _answer(state: DialogState, value: str, profile: Profile, *, now: datetime) -> Outcome:
    """Record the answer to the current question and move the flow along its routes."""
    flow = FLOWS[state.flow]
    answers = {**state.answers, str(state.step): value}
    following = flow.next_step(state.step, flow.answers(answers))
    moved = replace(
        state,
        step=following,
        answers=answers,
        history=(*state.history, state.step),
        version=state.version + 1,
    )
    return arrive(moved, profile, now=now)


def _back(state: DialogState, *, now: datetime) -> Outcome:
    if not state.history:
        return Outcome(replies=(question_reply(state, now=now, note="first_question"),))
    previous = state.history[-1]
    history = state.history[:-1]
    # Keep only answers to questions still behind us, so an abandoned path leaves no trace.
    kept = {
        **_hidden_answers(state),
        **{step: state.answers[step] for step in history if step in state.answers},
    }
    moved = replace(state, step=previous, answers=kept, history=history, version=state.version + 1)
    return Outcome(state=moved, replies=(question_reply(moved, now=now),))


def _hidden_answers(state: DialogState) -> dict[str, str]:
    """The answers a dialog carries without asking (no question of its flow has their key)."""
    questions = FLOWS[state.flow].questions
    return {key: value for key, value in state.answers.items() if key not in questions}


def _finished_triage(state: DialogState | None) -> bool:
    """Whether the runner's last dialog was a triage that reached its outcome."""
    return state is not None and state.flow is FlowName.TRIAGE and state.step == DONE


def _stale(state: DialogState | None, *, now: datetime) -> Outcome:
    if _finished_triage(state):
        assert state is not None
        answers = triage.answers_of(state.answers)
        decision = decide(answers)
        if decision.disposition is not Disposition.HOME_CARE:
            # Tapping a button of a finished urgent assessment may mean its advice never
            # arrived (a failed delivery): say it again rather than "already finished".
            again = outcome_replies(answers, decision, choose_path(answers))
            return Outcome(replies=(info("triage/repeat_outcome.j2"), *again))
    note = info("triage/stale_button.j2", active=state is not None and state.active)
    return with_current_question(state, note, now=now)


def _typed(
    state: DialogState | None,
    text: str,
    profile: Profile,
    *,
    now: datetime,
    translate: Translate,
) -> Outcome:
    long_text = info("triage/unreadable.j2", kind="long_text")
    # A story of what happened may be longer than an answer (flows.story_confirm).
    reads_story = story_confirm.reads_story(state)
    if len(text) > (story_confirm.MAX_STORY_LENGTH if reads_story else MAX_ANSWER_LENGTH):
        return with_current_question(state, long_text, now=now)
    story = story_confirm.offer(state, text, now=now, translate=translate) if reads_story else None
    if len(text) > MAX_ANSWER_LENGTH:
        return story or with_current_question(state, long_text, now=now)
    words = text.strip().lower()
    if state is None or not state.active:
        # Outside a question, a bare pain score is a soreness report (or a check-in's answer);
        # anything else may be the runner's story of what happened.
        value = parse_pain(text)
        if value is None:
            return story or Outcome(replies=(info("triage/no_assessment.j2"),))
        if profile.open_check_in is not None:
            return checkin.start_check_in(
                state, profile, message_id=profile.open_check_in, soreness=int(value), now=now
            )
        return soreness.record_soreness(profile, int(value), now=now)
    # An answer wins over a navigation word: "back" is also where an Achilles problem hurts.
    value = FLOWS[state.flow].questions[state.step].parse(text, translate)
    if value is not None:
        return _answer(state, value, profile, now=now)
    if _means(words, _BACK_WORDS, translate):
        return _back(state, now=now)
    if _means(words, _RESTART_WORDS, translate):
        return triage.start(state, now=now, intro=False)
    return story or Outcome(replies=(question_reply(state, now=now, note="reask"),))


def _command(
    state: DialogState | None, command: Command, profile: Profile, *, now: datetime
) -> Outcome:
    row = BY_NAME.get(command.name)
    if row is None:
        return with_current_question(
            state, info("triage/unreadable.j2", kind="unknown_command"), now=now
        )
    return row.run(state, profile, command.argument, now)


def _dispatch(
    state: DialogState | None,
    event: Event,
    profile: Profile,
    *,
    now: datetime,
    translate: Translate,
) -> Outcome:
    match event:
        case Resume():
            if state is not None and state.active:
                return Outcome(replies=(question_reply(state, now=now, note="resume"),))
            return triage.start(state, now=now, intro=True)
        case ChooseAnswer(step=step, value=value, version=version):
            if state is None or not state.active or version != state.version or step != state.step:
                return _stale(state, now=now)
            if value not in {
                c.value
                for c in FLOWS[state.flow].questions[state.step].choices_for(state.answers, now)
            }:
                return with_current_question(
                    state, info("triage/unreadable.j2", kind="button"), now=now
                )
            return _answer(state, value, profile, now=now)
        case Navigate(action=action, version=version):
            if state is None or not state.active or version != state.version:
                return _stale(state, now=now)
            if action == ButtonAction.BACK:
                return _back(state, now=now)
            return triage.start(state, now=now, intro=False)
        case TypedText(text=text):
            return _typed(state, text, profile, now=now, translate=translate)
        case Unreadable(kind=kind):
            return with_current_question(state, info("triage/unreadable.j2", kind=kind), now=now)
        case StartCheckIn(message_id=message_id, soreness=soreness):
            return checkin.start_check_in(
                state, profile, message_id=message_id, soreness=soreness, now=now
            )
        case AnswerSeenCheck(message_id=message_id, seen=seen):
            return runner_commands.answer_seen_check(
                profile, message_id=message_id, seen=seen, now=now
            )
        case LogExercise(local_date=day, result=result):
            return runner_commands.log_exercise(profile, day=day, result=result, now=now)
        case Command():
            return _command(state, event, profile, now=now)
        case ShowExercise(exercise_id=exercise_id):
            return show_exercise(exercise_id, profile)
        case ChooseProgramme(choice=choice):
            return prevention.choose(profile, choice, now=now)
        case LogProgrammeSession(local_date=day, result=result):
            return prevention.log_session(profile, day=day, result=result, now=now)
        case AskPlanQuestion(question=question):
            return plan_questions.answer(profile, question, now=now)
        case ChooseLanguage(locale=locale):
            return language.choose(state, profile, locale, now=now)
        case ShowDetail(detail=detail, assessment=key):
            return show_detail(state, profile, detail, key, now=now)
    raise TypeError(f"unknown event {event!r}")


def needs_profile(state: DialogState | None, event: Event) -> bool:
    """Whether `event` needs the runner's whole follow-up profile, or only their settings.

    Answering the triage questions (and moving within them, or confirming the runner's story
    that leads into them) decides nothing about follow-ups until the last answer, which needs
    only the settings; every other event may.
    """
    in_triage = (
        state is not None and state.active and state.flow in (FlowName.TRIAGE, FlowName.STORY)
    )
    if isinstance(event, (ChooseAnswer, Navigate, TypedText)):
        return not in_triage
    if isinstance(event, Command):
        row = BY_NAME.get(event.name)
        return row is not None and row.needs_profile
    return not isinstance(event, (Unreadable, Resume))


def advance(
    state: DialogState | None,
    event: Event,
    *,
    now: datetime,
    profile: Profile | None = None,
    translate: Translate = untranslated,
) -> Outcome:
    """Apply one event to a runner's restored state and say what should happen next.

    `translate` is the runner's language (message id -> their words), so that typed answers
    are read in it as well as in English."""
    if now.tzinfo is None:
        raise ValueError("advance needs an aware datetime")
    profile = profile or Profile()
    outcome = _dispatch(state, event, profile, now=now, translate=translate)
    # A runner who went quiet (two unanswered check-ins) and writes again gets check-ins back:
    # judged on the events that see the follow-up profile (the others only start, explain or
    # cannot be read).
    if profile.unanswered_checkins >= UNANSWERED_LIMIT and needs_profile(state, event):
        outcome = replace(
            outcome,
            effects=(*outcome.effects, *follow_up_schedule.restart_check_ins(profile, now=now)),
        )
    return outcome


def event_for_command(name: str, argument: str = "") -> Event:
    """The event of a command such as "new" (an unknown command is an Unreadable event)."""
    name = name.lower()
    if name in BY_NAME:
        return Command(name, argument.strip())
    return Unreadable(kind="unknown_command")
