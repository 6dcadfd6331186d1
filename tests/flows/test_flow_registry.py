"""Every dialog is a flow of the same shape, and the registry holds them all consistently."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest

from flows import registry, triage
from flows.flow import FLOWS, Flow, question_reply, restored
from flows.rules import EMERGENCY_RULES, SEE_CLINICIAN_RULES, WORDING, Answers
from flows.types import DONE, FlowName

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_every_flow_name_has_exactly_one_registered_flow() -> None:
    assert set(FLOWS) == set(FlowName)
    assert {flow.name for flow in registry.ALL} == set(FlowName)


@pytest.mark.parametrize("flow", registry.ALL, ids=lambda f: f.name)
def test_every_route_joins_questions_of_its_own_flow(flow: Flow) -> None:
    for source, dest, _ in flow.routes:
        assert source in flow.questions, (flow.name, source)
        assert dest == DONE or dest in flow.questions, (flow.name, dest)
    sources = {source for source, _, _ in flow.routes}
    assert sources == set(flow.questions), f"{flow.name}: a question leads nowhere"


@pytest.mark.parametrize("flow", registry.ALL, ids=lambda f: f.name)
def test_every_question_fills_a_field_of_the_flows_answers(flow: Flow) -> None:
    names = {f.name for f in fields(flow.answers_type)}
    for step, question in flow.questions.items():
        assert question.step == step
        assert flow.answer_keys[step] == question.field
        assert question.field in names, (flow.name, question.field)


@pytest.mark.parametrize("flow", registry.ALL, ids=lambda f: f.name)
def test_a_stored_state_comes_back_as_its_flows_steps(flow: Flow) -> None:
    fresh = flow.start(None, now=NOW)
    back = restored(
        str(fresh.flow),
        str(fresh.step),
        answers={},
        history=[str(fresh.step)],
        version=fresh.version,
        started_at=NOW,
    )
    assert back.flow is flow.name
    assert back.step is flow.first and back.history == (flow.first,)
    assert question_reply(back, now=NOW).template == flow.questions[flow.first].template


def test_every_triage_answer_is_asked_by_one_question_and_every_rule_has_wording() -> None:
    asked = [q.field for q in triage.QUESTIONS.values()]
    assert sorted(asked) == sorted(f.name for f in fields(Answers))
    for rule in (*EMERGENCY_RULES, *SEE_CLINICIAN_RULES):
        what, why = WORDING[rule.code]
        assert what and why, rule.code
