"""A question whose answer is already stored is passed over (`flows.flow.arrive`): the routes
carry on with the stored answer, the question joins the history as if answered, and an answer
that ends the questions early still does. Played on a small flow of three questions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import pytest

from flows.dialog import advance
from flows.effects import Outcome
from flows.events import Navigate, TypedText
from flows.flow import FLOWS, Flow, arrive
from flows.profile import Profile
from flows.questions import Choice, choice_question
from flows.replies import info
from flows.state import DialogState
from flows.types import DONE, ButtonAction

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
NAME = "settled_test"


class Step(StrEnum):
    COLOUR = "t_colour"
    SHAPE = "t_shape"
    SIZE = "t_size"


@dataclass(frozen=True, slots=True)
class Picked:
    colour: str | None = None
    shape: str | None = None
    size: str | None = None


def _question(step: Step, field: str, *values: str):
    return choice_question(step, f"test/{step}.j2", field, tuple(Choice(v, v) for v in values))


def is_round(a: Picked) -> bool:
    return a.shape == "round"


def finish(state: DialogState, profile: Profile, now: datetime) -> Outcome:
    return Outcome(state=state, replies=(info("test/done.j2", answers=dict(state.answers)),))


@pytest.fixture
def flow() -> Iterator[Flow]:
    # Colour, then shape; size only for a round shape; "black" ends the questions at once.
    made = Flow(
        name=NAME,  # type: ignore[arg-type]
        steps=Step,
        first=Step.COLOUR,
        questions={
            Step.COLOUR: _question(Step.COLOUR, "colour", "red", "black"),
            Step.SHAPE: _question(Step.SHAPE, "shape", "round", "square"),
            Step.SIZE: _question(Step.SIZE, "size", "big", "small"),
        },
        routes=(
            (Step.COLOUR, Step.SHAPE, None),
            (Step.SHAPE, Step.SIZE, is_round),
            (Step.SHAPE, DONE, None),
            (Step.SIZE, DONE, None),
        ),
        answers_type=Picked,
        answer_keys={Step.COLOUR: "colour", Step.SHAPE: "shape", Step.SIZE: "size"},
        finish=finish,
        ends_early=lambda a: a.colour == "black",
    )
    try:
        yield made
    finally:
        del FLOWS[NAME]


def test_a_flow_starting_with_a_settled_question_asks_the_first_unsettled_one(flow) -> None:
    fresh = flow.start(None, now=NOW, t_colour="red")
    outcome = arrive(fresh, Profile(), now=NOW)
    assert outcome.state.step == Step.SHAPE
    assert outcome.state.history == (Step.COLOUR,)
    assert outcome.replies[0].template == "test/t_shape.j2"
    # Numbered as the second question: the settled one counts as answered.
    assert outcome.replies[0].context["number"] == 2


def test_the_routes_follow_the_stored_answer_past_each_settled_question(flow) -> None:
    round_one = arrive(
        flow.start(None, now=NOW, t_colour="red", t_shape="round"), Profile(), now=NOW
    )
    assert round_one.state.step == Step.SIZE
    assert round_one.state.history == (Step.COLOUR, Step.SHAPE)
    square = arrive(flow.start(None, now=NOW, t_colour="red", t_shape="square"), Profile(), now=NOW)
    assert square.state.step == DONE
    assert square.replies[0].template == "test/done.j2"


def test_a_settled_answer_that_ends_early_ends_the_questions(flow) -> None:
    stopped = arrive(flow.start(None, now=NOW, t_colour="black"), Profile(), now=NOW)
    assert stopped.state.step == DONE
    assert stopped.state.history == (Step.COLOUR,)


def test_answering_reaches_a_settled_question_and_passes_it(flow) -> None:
    # The shape is settled, the colour is not: answering the colour goes straight to the size.
    fresh = flow.start(None, now=NOW, t_shape="round")
    asked = arrive(fresh, Profile(), now=NOW)
    assert asked.state.step == Step.COLOUR
    after = advance(asked.state, TypedText("red"), now=NOW)
    assert after.state.step == Step.SIZE
    assert after.state.history == (Step.COLOUR, Step.SHAPE)
    assert after.state.flow == NAME


def test_back_from_the_question_after_a_settled_one_asks_the_settled_one(flow) -> None:
    asked = arrive(flow.start(None, now=NOW, t_colour="red", t_shape="round"), Profile(), now=NOW)
    back = advance(asked.state, Navigate(ButtonAction.BACK, asked.state.version), now=NOW)
    assert back.state.step == Step.SHAPE
    assert back.state.answers == {Step.COLOUR: "red"}
    changed = advance(back.state, TypedText("square"), now=NOW)
    assert changed.state.step == DONE


def test_a_flow_with_nothing_stored_asks_every_question(flow) -> None:
    fresh = flow.start(None, now=NOW)
    outcome = arrive(fresh, Profile(), now=NOW)
    assert outcome.state.step == Step.COLOUR and outcome.state.history == ()
