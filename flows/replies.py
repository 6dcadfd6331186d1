"""Replies every part of the conversation shares: the current question with its buttons.

Choices come from the question catalogue; the time-zone questions compute theirs from the time
and the earlier answers, which is why `now` is passed in.
"""

from __future__ import annotations

from datetime import datetime

from flows.events import DialogState
from flows.questions import QUESTIONS, TRIAGE_STEPS
from flows.rules import Answers
from flows.types import Button, Reply


def question_reply(state: DialogState, *, now: datetime, note: str = "") -> Reply:
    """The current question with its answer buttons, plus Back / Start over after the first."""
    question = QUESTIONS[state.step]
    rows: list[tuple[Button, ...]] = []
    choices = [
        Button(c.label, "answer", state.step.value, c.value)
        for c in question.choices_for(state.answers, now)
    ]
    for i in range(0, len(choices), question.per_row):
        rows.append(tuple(choices[i : i + question.per_row]))
    if state.history and state.step in TRIAGE_STEPS:
        rows.append((Button("⬅ Back", "back"), Button("↺ Start over", "restart")))
    elif state.history:
        rows.append((Button("⬅ Back", "back"),))
    context = {
        "number": len(state.history) + 1,
        "step": state.step.value,
        "note": note,
        "answers": Answers.from_mapping(state.answers),
    }
    return Reply(question.template, context, tuple(rows), version=state.version)


def info(template: str, **context: object) -> Reply:
    return Reply(template, context)
