"""What happens to a conversation: the events that move it (a command, a typed answer, a button
press, a check-in tap ...) and how a pressed button becomes one.

Plain frozen dataclasses, built by the adapters (Telegram, the terminal chat) and handed to
`flows.dialog.advance`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flows.types import (
    EXERCISE_RESULT_CODES,
    PAIN_MAX,
    PAIN_MIN,
    Button,
    ButtonAction,
    ExerciseResult,
    OutcomeDetail,
    PlanQuestion,
    ProgrammeChoice,
    SeenAnswer,
)

# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChooseAnswer:
    """A button press: the step and value it was made for, and the version it was shown at."""

    step: str
    value: str
    version: int


@dataclass(frozen=True, slots=True)
class Navigate:
    """A Back or Start over button (`ButtonAction.BACK` or `ButtonAction.RESTART`)."""

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
class StartCheckIn:
    """A soreness button on a check-in message (the check-in's first answer)."""

    message_id: int
    soreness: int


@dataclass(frozen=True, slots=True)
class AnswerSeenCheck:
    """ "Were you seen?" answered on a seen-check message."""

    message_id: int
    seen: bool


@dataclass(frozen=True, slots=True)
class LogExercise:
    """Done / Skipped / Too sore on a daily reminder for `local_date`."""

    local_date: date
    result: ExerciseResult


@dataclass(frozen=True, slots=True)
class ShowExercise:
    """A how-to button: show one exercise of the library."""

    exercise_id: str


@dataclass(frozen=True, slots=True)
class ChooseProgramme:
    """Start or stop the balance programme after recovery."""

    choice: ProgrammeChoice


@dataclass(frozen=True, slots=True)
class LogProgrammeSession:
    """Done / Skipped / Too sore on a balance programme session for `local_date`."""

    local_date: date
    result: ExerciseResult


@dataclass(frozen=True, slots=True)
class AskPlanQuestion:
    """One of the runner's questions, asked with a button under /plan."""

    question: PlanQuestion


@dataclass(frozen=True, slots=True)
class ChooseLanguage:
    """A language button of /language: a locale such as "de", or "auto" for Telegram's."""

    locale: str


@dataclass(frozen=True, slots=True)
class ShowDetail:
    """A detail button under an outcome, for the assessment keyed `assessment`
    (`flows.advice.assessment_key`)."""

    detail: OutcomeDetail
    assessment: str


@dataclass(frozen=True, slots=True)
class Command:
    """A command from the command table (`flows.commands`), with what was typed after it."""

    name: str
    argument: str = ""


Event = (
    ShowExercise
    | StartCheckIn
    | AnswerSeenCheck
    | LogExercise
    | ChooseProgramme
    | LogProgrammeSession
    | AskPlanQuestion
    | ChooseLanguage
    | ShowDetail
    | Command
    | Resume
    | ChooseAnswer
    | Navigate
    | TypedText
    | Unreadable
)


def event_for_button(button: Button, version: int) -> Event | None:
    """The event a pressed button stands for (None when its values do not parse)."""
    try:
        match button.action:
            case ButtonAction.ANSWER:
                return ChooseAnswer(step=button.step, value=button.value, version=version)
            case ButtonAction.BACK | ButtonAction.RESTART:
                return Navigate(action=button.action, version=version)
            case ButtonAction.CHECKIN:
                soreness = int(button.value)
                if not PAIN_MIN <= soreness <= PAIN_MAX:
                    return None
                return StartCheckIn(message_id=int(button.step), soreness=soreness)
            case ButtonAction.SEEN if button.value in tuple(SeenAnswer):
                seen = button.value == SeenAnswer.YES
                return AnswerSeenCheck(message_id=int(button.step), seen=seen)
            case ButtonAction.HOWTO if button.value:
                return ShowExercise(exercise_id=button.value)
            case ButtonAction.COMMAND if button.value:
                # Whether the command exists is for the command table to judge.
                return Command(name=button.value)
            case ButtonAction.EXERCISE if button.value in EXERCISE_RESULTS:
                day = _button_date(button.step)
                return LogExercise(local_date=day, result=EXERCISE_RESULTS[button.value])
            case ButtonAction.PROGRAMME if button.value in tuple(ProgrammeChoice):
                return ChooseProgramme(choice=ProgrammeChoice(button.value))
            case ButtonAction.PROGRAMME_SESSION if button.value in EXERCISE_RESULTS:
                day = _button_date(button.step)
                return LogProgrammeSession(local_date=day, result=EXERCISE_RESULTS[button.value])
            case ButtonAction.QUESTION if button.value in tuple(PlanQuestion):
                return AskPlanQuestion(question=PlanQuestion(button.value))
            case ButtonAction.LANGUAGE if button.value:
                # Whether the language is shipped is for `flows.language` to judge.
                return ChooseLanguage(locale=button.value)
            case ButtonAction.DETAIL if button.step and button.value in tuple(OutcomeDetail):
                return ShowDetail(detail=OutcomeDetail(button.value), assessment=button.step)
    except ValueError:
        return None
    return None


# Exactly the form reminder buttons carry; `date.fromisoformat` would take other forms too.
_BUTTON_DATE = re.compile(r"[0-9]{8}")


def _button_date(text: str) -> date:
    """A YYYYMMDD date from a button (ValueError for anything else). Whether the runner may log
    that day is for `flows.care.log_exercise` to judge."""
    if not _BUTTON_DATE.fullmatch(text):
        raise ValueError(f"not a YYYYMMDD date: {text!r}")
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


# A reminder button's result code -> the result it logs.
EXERCISE_RESULTS = {code: result for result, code in EXERCISE_RESULT_CODES.items()}
