"""Every dialog is a flow of the same shape, and the registry holds them all consistently."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest

from flows import registry, triage
from flows.dialog import advance
from flows.events import TypedText
from flows.flow import FLOWS, Flow, question_reply, restored
from flows.rules import EMERGENCY_RULES, SEE_CLINICIAN_RULES, WORDING, Answers
from flows.triage import TriageStep
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


def test_a_stored_step_removed_by_a_rules_update_asks_the_last_question_still_asked() -> None:
    """A runner mid-way at the tight-calf question (removed in rules 2026.12.1) is asked the
    severe-pain question again; a "yes" there is now an emergency on its own (E7)."""
    state = restored(
        "triage",
        "e7hard",
        answers={"loc": "outside", "onset": "sudden", "e7pain": "yes"},
        history=["loc", "onset", "e7pain"],
        version=7,
        started_at=None,
    )
    assert state.step == TriageStep.SEVERE_PAIN
    assert state.history == (TriageStep.LOCATION, TriageStep.ONSET)
    outcome = advance(state, TypedText("yes"), now=NOW)
    assert outcome.state.step == DONE
    assert outcome.replies[0].template == "triage/outcome_emergency.j2"
    assert "E7" in outcome.replies[0].context["codes"]
