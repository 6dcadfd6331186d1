"""`/delete`: confirm, then erase everything the bot keeps about the runner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flows.effects import DeleteEverything, Outcome
from flows.flow import Flow, Route, question_reply
from flows.profile import Profile
from flows.questions import Choice, Question, choice_question
from flows.replies import info
from flows.state import DialogState
from flows.types import DONE, FlowName, YesNo
from flows.words import N_


class DeleteStep(StrEnum):
    CONFIRM = "del"


@dataclass(frozen=True, slots=True)
class DeleteAnswers:
    confirm: YesNo | None = None


_CONFIRM = (
    Choice(YesNo.YES, N_("Yes, delete everything"), (N_("yes"), N_("delete"), N_("yes delete"))),
    Choice(YesNo.NO, N_("No, keep my data"), (N_("no"), N_("keep"), N_("cancel"))),
)
QUESTIONS: dict[str, Question] = {
    DeleteStep.CONFIRM: choice_question(
        DeleteStep.CONFIRM, "plan/ask_delete.j2", "confirm", _CONFIRM
    )
}
ROUTES: tuple[Route, ...] = ((DeleteStep.CONFIRM, DONE, None),)


def ask_delete(state: DialogState | None, *, now: datetime) -> Outcome:
    fresh = FLOW.start(state, now=now)
    return Outcome(state=fresh, replies=(question_reply(fresh, now=now),))


def finish(state: DialogState, profile: Profile, now: datetime) -> Outcome:
    if FLOW.answers(state.answers).confirm is YesNo.YES:
        # No state to store: the conversation row goes with everything else.
        return Outcome(replies=(info("plan/deleted.j2"),), effects=(DeleteEverything(),))
    return Outcome(state=state, replies=(info("plan/kept.j2"),))


FLOW = Flow(
    name=FlowName.DELETE,
    steps=DeleteStep,
    first=DeleteStep.CONFIRM,
    questions=QUESTIONS,
    routes=ROUTES,
    answers_type=DeleteAnswers,
    answer_keys={DeleteStep.CONFIRM: "confirm"},
    finish=finish,
)
