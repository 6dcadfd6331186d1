"""Every dialog is a flow of the same shape, and the registry holds them all consistently."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import registry, triage
from flows.dialog import advance
from flows.events import TypedText
from flows.flow import FLOWS, Flow, question_reply, restored
from flows.rules import EMERGENCY_RULES, SEE_CLINICIAN_RULES, WORDING, Answers
from flows.triage import TriageStep
from flows.types import DONE, FlowName, YesNo

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


def test_every_triage_answer_is_asked_by_one_question_or_the_checklist() -> None:
    """Each field of the rules' answers is filled by one question of its own or by one sign
    of the checklist (whose "None of these" answers them all); every rule has wording."""
    asked = [q.field for q in triage.QUESTIONS.values()]
    on_the_checklist = [
        name for key, name in triage.SIGN_FIELDS.items() if key not in triage.QUESTIONS
    ]
    rules_fields = sorted(f.name for f in fields(Answers))
    assert sorted(set(asked) - {"signs", "signs_again"} | set(on_the_checklist)) == rules_fields
    assert len(asked) == len(set(asked))
    for rule in (*EMERGENCY_RULES, *SEE_CLINICIAN_RULES):
        what, why = WORDING[rule.code]
        assert what and why, rule.code


def test_a_stored_step_removed_by_a_rules_update_asks_the_last_question_still_asked() -> None:
    """A runner mid-way at the tight-calf question (removed in rules 2026.12.1) keeps the
    severe-pain "yes" they gave (a question the checklist asks now): the last question still
    asked comes back, and its answer ends the questions as E7."""
    state = restored(
        "triage",
        "e7hard",
        answers={"loc": "outside", "onset": "sudden", "e7pain": "yes"},
        history=["loc", "onset", "e7pain"],
        version=7,
        started_at=None,
    )
    assert state.step == TriageStep.ONSET
    assert state.history == (TriageStep.LOCATION,)
    outcome = advance(state, TypedText("sudden"), now=NOW)
    assert outcome.state.step == DONE
    assert outcome.replies[0].template == "triage/outcome_emergency.j2"
    assert "E7" in outcome.replies[0].context["codes"]


def test_a_conversation_stored_before_the_checklist_is_asked_the_checklist_next() -> None:
    """Mid-way at a warning-sign question the checklist replaced (numb foot, "e2"): the last
    question still asked comes back, and after it the checklist, so no sign goes unasked."""
    state = restored(
        "triage",
        "e2",
        answers={"loc": "outside", "onset": "sudden", "start": "d1_2", "swell": "mild",
                 "walk": "painful", "pain": "4", "e1": "no"},
        history=["loc", "onset", "start", "swell", "walk", "pain", "e1"],
        version=9,
        started_at=None,
    )  # fmt: skip
    assert state.step == TriageStep.PAIN
    asked = advance(state, TypedText("4"), now=NOW)
    assert asked.state.step == TriageStep.SIGNS
    numb = advance(asked.state, TypedText("numb"), now=NOW)
    assert numb.state.step == DONE
    assert numb.replies[0].context["codes"] == {"E2"}


def _stored_answers(flow: Flow) -> dict[str, list[str]]:
    """Each key a flow's answers can be stored under, with the values it can hold: each
    question's buttons, and for the triage the sign keys its checklists imply."""
    values = {
        step: [choice.value for choice in question.choices_for({}, NOW)]
        for step, question in flow.questions.items()
    }
    if flow is triage.FLOW:
        values.update({key: list(YesNo) for key in triage.SIGN_FIELDS if key not in values})
    return {key: found for key, found in values.items() if found}


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_adding_one_answer_reads_the_answers_as_reading_them_all_again(data) -> None:
    """`Flow.with_answer`, which `questions_to_come` adds each calm answer with, gives the
    fields a full read gives, whatever the checklists imply (the triage's `implied_keys`)."""
    flow = data.draw(st.sampled_from(registry.ALL), label="flow")
    choices = _stored_answers(flow)
    keys = data.draw(st.permutations(sorted(choices)), label="order")
    given_now = data.draw(st.integers(0, len(keys) - 1), label="given")
    stored = {key: data.draw(st.sampled_from(choices[key]), label=key) for key in keys[:given_now]}
    key = keys[given_now]
    after = {**stored, key: data.draw(st.sampled_from(choices[key]), label=key)}
    assert flow.with_answer(flow.answer_values(stored), after, key) == flow.answer_values(after)


@pytest.mark.parametrize("flow", registry.ALL, ids=lambda f: f.name)
def test_adding_one_answer_after_any_other_reads_as_reading_them_all_again(flow: Flow) -> None:
    """Every answer added after every single answer before it (or none), compared as above:
    the checklist's implications (a blood thinner counts once swelling is answered, a sign
    tapped answers its own key) hang on one earlier answer, too rare for random draws alone."""
    choices = _stored_answers(flow)
    earlier = [{}] + [{key: value} for key, values in choices.items() for value in values]
    for stored in earlier:
        for key, values in choices.items():
            for value in values:
                if key in stored:
                    continue
                after = {**stored, key: value}
                found = flow.with_answer(flow.answer_values(stored), after, key)
                assert found == flow.answer_values(after), (stored, key, value)
