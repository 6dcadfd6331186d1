"""A soreness report: `/sore 4` records it at once; a bare `/sore` asks for the score first.

Whenever a runner reports how sore the ankle is (outside a check-in) it is recorded and answered
with the change since their last report.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from flows.effects import Outcome, RecordSoreness
from flows.flow import Flow, Route
from flows.profile import Profile
from flows.questions import Question, pain_question
from flows.replies import info
from flows.state import DialogState
from flows.types import DONE, FlowName, SorenessSource


class SorenessStep(StrEnum):
    SCORE = "sore"


@dataclass(frozen=True, slots=True)
class SorenessAnswers:
    score: int | None = None


QUESTIONS: dict[str, Question] = {
    SorenessStep.SCORE: pain_question(SorenessStep.SCORE, "care/ask_soreness.j2", "score")
}
ROUTES: tuple[Route, ...] = ((SorenessStep.SCORE, DONE, None),)


def record_soreness(profile: Profile, value: int, *, now: datetime) -> Outcome:
    """A soreness report at any time: recorded, and answered with the trend since the last."""
    previous = profile.soreness[-1] if profile.soreness else None
    context = {
        "value": value,
        "previous": previous[1] if previous else None,
        "since": previous[0] if previous else None,
        "now": now,
    }
    return Outcome(
        replies=(info("care/soreness_noted.j2", **context),),
        effects=(RecordSoreness(at=now, value=value, source=SorenessSource.REPORT),),
    )


def finish(state: DialogState, profile: Profile, now: datetime) -> Outcome:
    score = FLOW.answers(state.answers).score
    assert score is not None
    return replace(record_soreness(profile, score, now=now), state=state)


FLOW = Flow(
    name=FlowName.SORENESS,
    steps=SorenessStep,
    first=SorenessStep.SCORE,
    questions=QUESTIONS,
    routes=ROUTES,
    answers_type=SorenessAnswers,
    answer_keys={SorenessStep.SCORE: "score"},
    finish=finish,
)
