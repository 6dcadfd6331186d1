"""One runner's triage conversation: apply an event to the restored state, say what happens next.

`advance` is the only entry point the adapters (Telegram, terminal) call. It takes the state
loaded from the database (or None for a runner we have never talked to), one event and the
current time, and returns an `Outcome`: the state to store (None when nothing changes), the
replies to send as template names plus context, and the finished assessment when the questions
are over. It never sends, stores or reads the clock itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from flows.advice import outcome_replies
from flows.questions import QUESTIONS, Step
from flows.rules import Answers, Decision, decide
from flows.triage import FIRST_STEP, next_step
from flows.types import Button, Reply

# Typed words that mean a navigation button rather than an answer.
_BACK_WORDS = frozenset({"back", "go back", "previous", "undo"})
_RESTART_WORDS = frozenset({"start over", "restart", "start again", "new", "reset"})
# Longer than any real answer; Telegram allows 4096 characters, we do not read essays.
MAX_ANSWER_LENGTH = 200


@dataclass(frozen=True, slots=True)
class DialogState:
    """Where a runner is: the current step, answers so far, steps asked before, and a version.

    `version` increases with every stored change; buttons carry it, so a button from an earlier
    question (or a double tap) is recognised as stale and changes nothing.
    """

    step: Step
    answers: Mapping[str, str] = field(default_factory=dict)
    history: tuple[Step, ...] = ()
    version: int = 0
    started_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.step is not Step.DONE


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartAssessment:
    """/start (with the introduction) or /new (without)."""

    intro: bool = False


@dataclass(frozen=True, slots=True)
class CancelAssessment:
    pass


@dataclass(frozen=True, slots=True)
class ChooseAnswer:
    """A button press: the step and value it was made for, and the version it was shown at."""

    step: str
    value: str
    version: int


@dataclass(frozen=True, slots=True)
class Navigate:
    """A Back or Start over button (action "back" or "restart")."""

    action: str
    version: int


@dataclass(frozen=True, slots=True)
class TypedText:
    text: str


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Something we cannot read: a sticker, photo, voice note, edit, unknown command, bad button."""

    kind: str


@dataclass(frozen=True, slots=True)
class Resume:
    """Show where the runner is (the terminal chat opening): the current question, or begin."""


@dataclass(frozen=True, slots=True)
class ShowInfo:
    """/help or /about: a reply that changes nothing."""

    topic: str


Event = (
    Resume
    | StartAssessment
    | CancelAssessment
    | ChooseAnswer
    | Navigate
    | TypedText
    | Unreadable
    | ShowInfo
)


@dataclass(frozen=True, slots=True)
class Assessment:
    """A finished assessment, to be recorded."""

    answers: Mapping[str, str]
    decision: Decision
    started_at: datetime
    completed_at: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    state: DialogState | None = None
    replies: tuple[Reply, ...] = ()
    assessment: Assessment | None = None


# --- building replies ----------------------------------------------------------------------------


def question_reply(state: DialogState, *, note: str = "") -> Reply:
    """The current question with its answer buttons, plus Back / Start over after the first."""
    question = QUESTIONS[state.step]
    rows: list[tuple[Button, ...]] = []
    choices = [Button(c.label, "answer", state.step.value, c.value) for c in question.choices]
    for i in range(0, len(choices), question.per_row):
        rows.append(tuple(choices[i : i + question.per_row]))
    if state.history:
        rows.append((Button("⬅ Back", "back"), Button("↺ Start over", "restart")))
    context = {
        "number": len(state.history) + 1,
        "note": note,
        "answers": Answers.from_mapping(state.answers),
    }
    return Reply(question.template, context, tuple(rows), version=state.version)


def _info(template: str, **context: object) -> Reply:
    return Reply(template, context)


def _with_current_question(state: DialogState | None, first: Reply) -> Outcome:
    """A short note, followed by the current question again when an assessment is under way."""
    if state is not None and state.active:
        return Outcome(replies=(first, question_reply(state)))
    return Outcome(replies=(first,))


# --- the transitions of one conversation ---------------------------------------------


def _new_assessment(state: DialogState | None, *, now: datetime, intro: bool) -> Outcome:
    fresh = DialogState(step=FIRST_STEP, version=_next_version(state), started_at=now)
    replies = (_info("triage/welcome.j2"),) if intro else ()
    return Outcome(state=fresh, replies=(*replies, question_reply(fresh)))


def _next_version(state: DialogState | None) -> int:
    return (state.version if state is not None else 0) + 1


def _answer(state: DialogState, value: str, *, now: datetime) -> Outcome:
    answers = {**state.answers, state.step.value: value}
    typed = Answers.from_mapping(answers)
    following = next_step(state.step, typed)
    history = (*state.history, state.step)
    version = state.version + 1
    if following is not Step.DONE:
        moved = DialogState(following, answers, history, version, state.started_at)
        return Outcome(state=moved, replies=(question_reply(moved),))
    decision = decide(typed)
    finished = DialogState(Step.DONE, answers, history, version, state.started_at)
    assessment = Assessment(
        answers=answers,
        decision=decision,
        started_at=state.started_at or now,
        completed_at=now,
    )
    return Outcome(state=finished, replies=outcome_replies(typed, decision), assessment=assessment)


def _back(state: DialogState) -> Outcome:
    if not state.history:
        return Outcome(replies=(question_reply(state, note="first_question"),))
    previous = state.history[-1]
    history = state.history[:-1]
    # Keep only answers to questions still behind us, so an abandoned path leaves no trace.
    kept = {
        step.value: state.answers[step.value] for step in history if step.value in state.answers
    }
    moved = DialogState(previous, kept, history, state.version + 1, state.started_at)
    return Outcome(state=moved, replies=(question_reply(moved),))


def _stale(state: DialogState | None) -> Outcome:
    note = _info("triage/stale_button.j2", active=state is not None and state.active)
    return _with_current_question(state, note)


def _typed(state: DialogState | None, text: str, *, now: datetime) -> Outcome:
    if len(text) > MAX_ANSWER_LENGTH:
        return _with_current_question(state, _info("triage/unreadable.j2", kind="long_text"))
    words = text.strip().lower()
    if state is None or not state.active:
        return Outcome(replies=(_info("triage/no_assessment.j2"),))
    # An answer wins over a navigation word: "back" is also where an Achilles problem hurts.
    value = QUESTIONS[state.step].parse(text)
    if value is not None:
        return _answer(state, value, now=now)
    if words in _BACK_WORDS:
        return _back(state)
    if words in _RESTART_WORDS:
        return _new_assessment(state, now=now, intro=False)
    return Outcome(replies=(question_reply(state, note="reask"),))


def advance(state: DialogState | None, event: Event, *, now: datetime) -> Outcome:
    """Apply one event to a runner's restored state and say what should happen next."""
    if now.tzinfo is None:
        raise ValueError("advance needs an aware datetime")
    match event:
        case StartAssessment(intro=intro):
            return _new_assessment(state, now=now, intro=intro)
        case Resume():
            if state is not None and state.active:
                return Outcome(replies=(question_reply(state, note="resume"),))
            return _new_assessment(state, now=now, intro=True)
        case CancelAssessment():
            if state is None or not state.active:
                return Outcome(replies=(_info("triage/cancelled.j2", had_assessment=False),))
            done = replace(state, step=Step.DONE, answers={}, history=(), version=state.version + 1)
            return Outcome(state=done, replies=(_info("triage/cancelled.j2", had_assessment=True),))
        case ChooseAnswer(step=step, value=value, version=version):
            if (
                state is None
                or not state.active
                or version != state.version
                or step != state.step.value
            ):
                return _stale(state)
            if value not in {c.value for c in QUESTIONS[state.step].choices}:
                return _with_current_question(state, _info("triage/unreadable.j2", kind="button"))
            return _answer(state, value, now=now)
        case Navigate(action=action, version=version):
            if state is None or not state.active or version != state.version:
                return _stale(state)
            if action == "back":
                return _back(state)
            return _new_assessment(state, now=now, intro=False)
        case TypedText(text=text):
            return _typed(state, text, now=now)
        case Unreadable(kind=kind):
            return _with_current_question(state, _info("triage/unreadable.j2", kind=kind))
        case ShowInfo(topic=topic):
            return _with_current_question(state, _info(f"triage/{topic}.j2"))
    raise TypeError(f"unknown event {event!r}")


COMMANDS: dict[str, Event] = {
    "start": StartAssessment(intro=True),
    "new": StartAssessment(intro=False),
    "cancel": CancelAssessment(),
    "help": ShowInfo(topic="help"),
    "about": ShowInfo(topic="about"),
}


def event_for_command(name: str) -> Event:
    """The event of a command such as "new" (an unknown command is an Unreadable event)."""
    return COMMANDS.get(name.lower(), Unreadable(kind="unknown_command"))
