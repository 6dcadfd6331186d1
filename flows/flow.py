"""The shape every dialog shares: a `Flow` is its steps, questions, routes table and end action.

A dialog (the triage, a check-in, the reminder set-up, ...) is one `Flow`: the questions it asks,
a routes table saying which question follows which (rows tried in order, each guarded by a
small named predicate over the flow's typed answers), the typed answers its steps fill, and
`finish`, what happens when the routes reach `DONE`. A question whose answer is already
stored (the runner's own words settled it) is passed over as if answered. The stored
conversation names its flow, so nothing is ever guessed from which answers happen to be
present. Each flow builds one shared `transitions` machine on first use; a runner's step is
restored onto a per-thread model, the event fired and the new step read back, so no runner's
state lives in the machine between events.
"""

from __future__ import annotations

import threading
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import EnumType, StrEnum
from functools import cache, cached_property
from types import UnionType
from typing import Any

from transitions import Event, Machine

from flows.effects import Outcome
from flows.profile import Profile
from flows.questions import Question
from flows.state import DialogState
from flows.types import DONE, Button, ButtonAction, FlowName, Reply
from flows.words import N_

Predicate = Callable[[Any], bool]
# after answering, ask next, when (None: always)
Route = tuple[str, str, Predicate | None]
Finish = Callable[[DialogState, Profile, datetime], Outcome]
# Which field of a flow's answers a stored key fills, and the converter of its text.
Fill = tuple[str, Callable[[str], object]]


def typed_values(stored: Mapping[str, str], fills: Mapping[str, Fill]) -> dict[str, Any]:
    """The fields of a flow's answers (a dataclass of optional answers) filled from the stored
    key -> value mapping, by field name.

    `fills` (`answer_fills`) says which field each stored key fills and how its text converts
    (`Location | None` -> `Location`'s member of that value), so a flow declares its answers
    once. Each key is looked up once: this runs whenever a flow's answers are read, several
    times an update.
    """
    values = {}
    for key, value in stored.items():
        fill = fills.get(key)
        if fill is not None:
            name, convert = fill
            values[name] = convert(value)
    return values


def answer_fills(cls: type, keys: Mapping[str, str]) -> dict[str, Fill]:
    """Each stored key of `keys` (key -> field of `cls`) with its field and converter."""
    converters = _converters(cls)
    return {key: (name, converters[name]) for key, name in keys.items()}


@cache
def _converters(cls: type) -> dict[str, Callable[[str], object]]:
    """Each field's converter of its stored text: its type without its `| None`."""
    hints = typing.get_type_hints(cls)
    found = {}
    for f in fields(cls):
        kind = hints[f.name]
        if isinstance(kind, UnionType) or typing.get_origin(kind) is typing.Union:
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
        found[f.name] = member_of(kind) if isinstance(kind, EnumType) else kind
    return found


@cache
def member_of(kind: EnumType) -> Callable[[str], Any]:
    """`kind(value)` as a dict look-up: calling an enum class goes through its metaclass, about
    half the cost of reading a triage's answers. A value that is no member's (a bad one) still
    goes through `kind` itself, so it converts or fails exactly as before."""
    members = {member.value: member for member in kind}

    def convert(value: str) -> Any:
        found = members.get(value)
        return found if found is not None else kind(value)

    return convert


@dataclass(frozen=True, eq=False)
class Flow:
    """One dialog: what it asks, in which order, and what it does when its questions end."""

    name: FlowName
    steps: type[StrEnum]
    first: str
    questions: Mapping[str, Question]
    routes: tuple[Route, ...]
    # The typed answers of this flow, and which stored key fills which of its fields.
    answers_type: type
    answer_keys: Mapping[str, str]
    finish: Finish
    # Answers that end the questions at once, whatever the step (an emergency sign).
    ends_early: Predicate | None = None
    # Whether the runner may start this dialog over with a button (the triage).
    can_restart: bool = False
    # What stored answers imply for other keys (the triage's checklist answers a sign's own
    # key), applied whenever the answers are read.
    implied: Callable[[Mapping[str, str]], Mapping[str, str]] | None = None
    # The stored keys `implied` reads or may write (None: any). An answer under any other key
    # fills only its own field, so `questions_to_come` adds its calm answers one at a time
    # (`with_answer`) instead of reading every answer again at each step.
    implied_keys: frozenset[str] | None = None
    # Whether each question shows "3 of about 9" (`flows.progress`).
    counted: bool = False
    _local: threading.local = field(default_factory=threading.local, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.name in FLOWS:
            raise ValueError(f"two flows named {self.name}")
        FLOWS[self.name] = self

    def answers(self, stored: Mapping[str, str]) -> Any:
        return self.answers_type(**self.answer_values(stored))

    def answer_values(self, stored: Mapping[str, str]) -> dict[str, Any]:
        """The fields `answers` fills from `stored` (what it implies included), by name."""
        if self.implied is not None:
            stored = self.implied(stored)
        return typed_values(stored, self._fills)

    def with_answer(
        self, values: dict[str, Any], stored: Mapping[str, str], key: str
    ) -> dict[str, Any]:
        """`answer_values(stored)` just after `key` was added to `stored` (as its last key), from
        `values`, the fields before: only the key's own field changes, unless `implied` reads or
        writes the key or another key fills the same field; then everything is read again."""
        fill = self._fills.get(key)
        implies = self.implied is not None and (
            self.implied_keys is None or key in self.implied_keys
        )
        if implies or (fill is not None and fill[0] in self._shared_fields):
            return self.answer_values(stored)
        if fill is None:
            return values
        name, convert = fill
        return {**values, name: convert(stored[key])}

    @cached_property
    def _fills(self) -> dict[str, Fill]:
        return answer_fills(self.answers_type, self.answer_keys)

    @cached_property
    def _shared_fields(self) -> frozenset[str]:
        """The fields more than one stored key fills (which one counts depends on their order)."""
        names = list(self.answer_keys.values())
        return frozenset(name for name in names if names.count(name) > 1)

    def start(self, previous: DialogState | None, *, now: datetime, **hidden: str) -> DialogState:
        """A fresh dialog of this flow, at its first question, one version on from `previous`.

        `hidden` answers are facts the dialog carries without asking (the check-in's message).
        """
        version = (previous.version if previous is not None else 0) + 1
        return DialogState(self.first, dict(hidden), (), version, now, flow=self.name)

    @cached_property
    def machine(self) -> Machine:
        transitions: list[dict] = []
        if self.ends_early is not None:
            # Tried first, from every question: an emergency answer ends the questions at once.
            transitions.append(
                {
                    "trigger": "answer",
                    "source": [str(step) for step in self.questions],
                    "dest": DONE,
                    "conditions": self.ends_early,
                }
            )
        for source, dest, when in self.routes:
            row = {"trigger": "answer", "source": str(source), "dest": str(dest)}
            if when is not None:
                row["conditions"] = when
            transitions.append(row)
        return Machine(
            model=None,
            # Plain strings: transitions would name enum states by their member names.
            states=[*(str(step) for step in self.questions), DONE],
            transitions=transitions,
            initial=None,
            auto_transitions=False,
        )

    def next_step(self, current: str, answers: Any) -> str:
        """Fire "answer" on this flow's machine from `current` and return the step it reaches."""
        position = self._position()
        # The model is moved by hand and the event fired without the model's `trigger` look-up:
        # this runs for every route `questions_to_come` walks. Firing checks the step as
        # `Machine.set_state` would (an unknown one raises the same ValueError).
        position.state = str(current)
        self._answer_event.trigger(position, answers)
        reached = position.state
        return DONE if reached == DONE else self._step_of(reached)

    @cached_property
    def _answer_event(self) -> Event:
        return self.machine.events["answer"]

    @cached_property
    def _step_of(self) -> Callable[[str], Any]:
        return member_of(self.steps)

    def past_settled(self, step: str, stored: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
        """From `step`, follow the routes on past every question whose answer is already stored
        (the runner's own words settled it): the step reached and the questions passed over."""
        passed: list[str] = []
        while step != DONE and str(step) in stored:
            if len(passed) > len(self.questions):
                raise RuntimeError(f"the routes of {self.name} loop through answered questions")
            passed.append(step)
            step = self.next_step(step, self.answers(stored))
        return step, tuple(passed)

    def _position(self) -> _Position:
        # transitions binds a method per state and trigger when a model is added, which costs
        # more than an answer; so each thread keeps one model on the machine for good and moves
        # it to the runner's step before firing (a thread handles one event at a time).
        position = getattr(self._local, "position", None)
        if position is None:
            position = self._local.position = _Position(str(self.first))
            self.machine.add_model(position, initial=str(self.first))
        return position


def restored(
    flow: str,
    step: str,
    *,
    answers: Mapping[str, str],
    history: Sequence[str],
    version: int,
    started_at: datetime | None,
) -> DialogState:
    """A stored conversation as the flows see it: its flow, and steps as that flow's enum."""
    found = FLOWS[FlowName(flow)]
    known = {member.value for member in found.steps}

    def as_step(value: str) -> str:
        return DONE if value == DONE else found.steps(value)

    kept = [s for s in history if s == DONE or s in known]
    if step != DONE and step not in known:
        # A question this version no longer asks (a rules update removed it while the runner
        # was mid-way, as 2026.12.1 did the tight-calf question): go back to the last question
        # still asked and ask it again, so its answer is judged by the rules as they are now.
        step = kept.pop() if kept else found.first
    return DialogState(
        as_step(step),
        dict(answers),
        tuple(as_step(s) for s in kept),
        version,
        started_at,
        flow=found.name,
    )


# Every flow, by name: a flow registers itself when its module is imported (flows.registry
# imports them all), so a stored state's flow name finds its questions without import cycles.
FLOWS: dict[FlowName, Flow] = {}


def question_reply(state: DialogState, *, now: datetime, note: str = "") -> Reply:
    """The current question of `state`'s flow with its answer buttons, plus Back (and Start over
    where the flow allows it) after the first question. Choices may depend on the time and the
    earlier answers (the time-zone picker), which is why `now` is passed in."""
    flow = FLOWS[state.flow]
    question = flow.questions[state.step]
    rows: list[tuple[Button, ...]] = []
    choices = [
        Button(c.label, ButtonAction.ANSWER, str(state.step), c.value)
        for c in question.choices_for(state.answers, now)
    ]
    # At most two buttons to a row, whatever a question asks for: more are cut on a phone.
    per_row = min(question.per_row, MAX_PER_ROW)
    for i in range(0, len(choices), per_row):
        rows.append(tuple(choices[i : i + per_row]))
    if state.history and flow.can_restart:
        rows.append(
            (Button(BACK_LABEL, ButtonAction.BACK), Button(RESTART_LABEL, ButtonAction.RESTART))
        )
    elif state.history:
        rows.append((Button(BACK_LABEL, ButtonAction.BACK),))
    context = {
        "number": len(state.history) + 1,
        "step": str(state.step),
        "note": note,
        "answers": flow.answers(state.answers),
    }
    if flow.counted:
        context["about"] = len(state.history) + questions_to_come(flow, state.step, state.answers)
    return Reply(question.template, context, tuple(rows), version=state.version)


def arrive(state: DialogState, profile: Profile, *, now: datetime) -> Outcome:
    """`state` has just reached its step: pass over what is already settled, then ask the
    question reached or, at the end, run the flow's `finish`.

    Questions passed over join the history as if answered, so Back returns to them and the
    state is the same as a runner's who tapped those answers one by one."""
    flow = FLOWS[state.flow]
    reached, passed = flow.past_settled(state.step, state.answers)
    moved = replace(state, step=reached, history=(*state.history, *passed))
    if reached != DONE:
        return Outcome(state=moved, replies=(question_reply(moved, now=now),))
    return flow.finish(moved, profile, now)


def with_current_question(state: DialogState | None, first: Reply, *, now: datetime) -> Outcome:
    """A short note, followed by the current question again when a dialog is under way."""
    if state is not None and state.active:
        return Outcome(replies=(first, question_reply(state, now=now)))
    return Outcome(replies=(first,))


MAX_PER_ROW = 2
BACK_LABEL = N_("⬅ Back")
RESTART_LABEL = N_("↺ Start over")


def questions_to_come(flow: Flow, step: str, answers: Mapping[str, str]) -> int:
    """How many questions are still to come from `step` (itself included) if every answer not
    yet given were its calm one (`Question.calm_value`), walking the flow's routes. A question
    ahead whose answer is already stored (the runner's story settled it) still counts: it joins
    the history when it is passed over (`arrive`), so the number jumps past it and "about" holds.
    The counter "3 of about 9" adds this to the answers given so far, so it never says fewer
    than the question's own number."""
    walked = dict(answers)
    values = flow.answer_values(walked)
    count = 0
    seen: set[str] = set()
    while step != DONE and step not in seen:
        seen.add(step)
        count += 1
        key = str(step)
        if key not in walked:
            walked[key] = flow.questions[step].calm_value
            values = flow.with_answer(values, walked, key)
        step = flow.next_step(step, flow.answers_type(**values))
    return count


class _Position:
    """Where one runner is, for the length of one event: a flow machine's model."""

    def __init__(self, first: str) -> None:
        self.state: str = first
