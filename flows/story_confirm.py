"""Confirming what a runner's own words said, in one line, before the triage asks the rest.

When a runner with no assessment under way (or at the first question, nothing answered yet)
types what happened, `offer` reads it (`flows.story.read_story`) and, if it found anything,
says in one line what it understood, with "Yes, that's right" and "Change something". Yes: a
triage starts with those facts as its answers and asks only the rest (`flows.flow.arrive`
passes over what is settled; the warning signs are never settled by a story). Change: the
triage starts from its first question and asks everything. The facts wait in this dialog's
answers, under the triage's own keys; typing more of the story while the line is shown adds
to them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from flows import triage
from flows.effects import Outcome
from flows.flow import Flow, Route, arrive, question_reply
from flows.profile import Profile
from flows.questions import Choice, Question, Translate, choice_question
from flows.replies import info
from flows.state import DialogState
from flows.story import STORY_STEPS, read_story
from flows.types import DONE, FlowName, Location, Onset, Started, Swelling, WeightBearing, YesNo
from flows.words import N_

# A story is read up to this many characters (a single answer only up to
# flows.dialog.MAX_ANSWER_LENGTH); Telegram allows 4096, we do not read essays.
MAX_STORY_LENGTH = 1000


class StoryStep(StrEnum):
    CONFIRM = "story"


@dataclass(frozen=True, slots=True)
class StoryAnswers:
    """The runner's yes or change, and the facts their words gave (the triage's fields)."""

    confirm: YesNo | None = None
    location: Location | None = None
    onset: Onset | None = None
    started: Started | None = None
    swelling: Swelling | None = None
    weight_bearing: WeightBearing | None = None
    pain: int | None = None


_CONFIRM = (
    Choice(
        YesNo.YES,
        N_("Yes, that's right"),
        (
            N_("yes"),
            N_("y"),
            N_("yeah"),
            N_("yep"),
            N_("right"),
            N_("correct"),
            N_("that's right"),
            N_("ok"),
        ),
    ),
    Choice(
        YesNo.NO,
        N_("Change something"),
        (N_("no"), N_("n"), N_("change"), N_("wrong"), N_("not quite"), N_("that's wrong")),
    ),
)
QUESTIONS: dict[str, Question] = {
    StoryStep.CONFIRM: choice_question(
        StoryStep.CONFIRM, "story/confirm.j2", "confirm", _CONFIRM, per_row=2
    )
}
ROUTES: tuple[Route, ...] = ((StoryStep.CONFIRM, DONE, None),)


def reads_story(state: DialogState | None) -> bool:
    """Whether typed text may be a story: no assessment under way, the triage's first question
    with nothing answered yet, or this line (where more of the story adds to it)."""
    if state is None or not state.active:
        return True
    if state.flow is FlowName.STORY:
        return True
    return (
        state.flow is FlowName.TRIAGE
        and state.step == triage.FLOW.first
        and not state.history
        and not set(state.answers) & set(triage.QUESTIONS)
    )


def offer(
    state: DialogState | None, text: str, *, now: datetime, translate: Translate
) -> Outcome | None:
    """The one-line "I understood: ..." with its two buttons, or None when `text` says
    nothing the story reader knows (the caller then replies as before)."""
    facts = read_story(text, translate)
    if not facts:
        return None
    if state is not None and state.active and state.flow is FlowName.STORY:
        facts = {**_facts(state), **facts}
    fresh = FLOW.start(state, now=now, **facts)
    # A runner who never sent /start has not seen what the bot is and that it is no diagnosis.
    welcome = (info("triage/welcome.j2"),) if state is None else ()
    return Outcome(state=fresh, replies=(*welcome, question_reply(fresh, now=now)))


def _facts(state: DialogState) -> dict[str, str]:
    return {key: value for key, value in state.answers.items() if key in STORY_STEPS}


def finish(state: DialogState, profile: Profile, now: datetime) -> Outcome:
    """Yes: the triage with the facts as answers, asking the rest. Change: ask everything."""
    yes = FLOW.answers(state.answers).confirm is YesNo.YES
    fresh = triage.FLOW.start(None, now=now, **(_facts(state) if yes else {}))
    # The same version as the answer that ended this line: one answer is one stored change.
    fresh = replace(fresh, version=state.version)
    if yes:
        return arrive(fresh, profile, now=now)
    return Outcome(state=fresh, replies=(info("story/change.j2"), question_reply(fresh, now=now)))


FLOW = Flow(
    name=FlowName.STORY,
    steps=StoryStep,
    first=StoryStep.CONFIRM,
    questions=QUESTIONS,
    routes=ROUTES,
    answers_type=StoryAnswers,
    answer_keys={
        StoryStep.CONFIRM: "confirm",
        **{step: triage.QUESTIONS[step].field for step in STORY_STEPS},
    },
    finish=finish,
)
