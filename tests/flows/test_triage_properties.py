"""Safety properties of the dialogs, checked on random button presses.

Hypothesis plays runners from /new (and from a check-in's soreness button), pressing a random
button the question offers at each step. Whenever the answers given so far hold an emergency
sign, as the predicates of flows/rules.py read them, the questions must end at that answer and
the outcome must be EMERGENCY; without one, no outcome is EMERGENCY. A random calmness per
runner makes many answer "no" to most red flags, so the deep questions (bruising, bone site,
the energy questions) are reached too, not only the first few. Then: every emergency rule is
within 3 answers of /new (a search over every button), the counter "3 of about 9" never says
fewer questions than it has asked, and every triage button fits a phone.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.checkin import FLOW as CHECK_IN_FLOW
from flows.dialog import advance
from flows.effects import ChangeEpisode, Outcome
from flows.events import Command, StartCheckIn, event_for_button
from flows.flow import FLOWS, question_reply
from flows.rules import EMERGENCY_RULES, Answers
from flows.state import DialogState
from flows.triage import FLOW as TRIAGE
from flows.triage import TriageStep
from flows.types import (
    BUTTON_LABEL_LIMIT,
    DONE,
    PAIN_MAX,
    PAIN_MIN,
    Disposition,
    FlowName,
    Location,
    Onset,
    Started,
    WeightBearing,
    YesNo,
)
from tests.flows.test_clinical_cases import (
    CHECK_IN_MESSAGE,
    MAX_QUESTIONS,
    NOW,
    ON_HOME_CARE,
    answer_buttons,
    recorded,
)

CALMNESS_STEPS = 10


def emergency_signs(answers: Answers) -> list[str]:
    """The emergency rules the answers given so far fire, in the rules' order."""
    return [rule.code for rule in EMERGENCY_RULES if rule.applies(answers)]


def press_randomly(data: st.DataObject, state: DialogState, outcome: Outcome, calm: int, profile):
    """Press one random button of the question `outcome` asks; a yes/no question is answered
    "no" with a chance of `calm` in CALMNESS_STEPS. Returns the outcome."""
    question = outcome.replies[-1]
    offered = answer_buttons(question)
    assert offered, question.template
    is_yes_no = {b.value for b in offered} == set(YesNo)
    if is_yes_no and data.draw(st.integers(0, CALMNESS_STEPS - 1)) < calm:
        button = next(b for b in offered if b.value == YesNo.NO)
    else:
        button = data.draw(st.sampled_from(offered), label=str(state.step))
    pressed = advance(state, event_for_button(button, question.version), now=NOW, profile=profile)
    assert pressed.state is not None, f"pressing {button.label!r} changed nothing"
    return pressed


@settings(max_examples=600, deadline=None)
@given(data=st.data(), calm=st.integers(0, CALMNESS_STEPS))
def test_no_triage_with_an_emergency_sign_ends_below_emergency(
    data: st.DataObject, calm: int
) -> None:
    outcome = advance(None, Command("new"), now=NOW)
    state = outcome.state
    triage = FLOWS[state.flow]
    for _ in range(MAX_QUESTIONS):
        asked = state.step
        outcome = press_randomly(data, state, outcome, calm, None)
        state = outcome.state
        signs = emergency_signs(triage.answers(state.answers))
        if signs:
            # The questions end at the answer that showed the sign, and the outcome says so.
            assert state.step == DONE, (asked, signs, state.step)
            decision = recorded(outcome).decision
            assert decision.disposition is Disposition.EMERGENCY
            assert [code for code in decision.reasons if code.startswith("E")] == signs
            assert [r.template for r in outcome.replies] == ["triage/outcome_emergency.j2"]
            return
        if state.step == DONE:
            decision = recorded(outcome).decision
            assert decision.disposition is not Disposition.EMERGENCY, decision
            assert not any(code.startswith("E") for code in decision.reasons)
            return
        assert state.step in set(TriageStep)
    raise AssertionError("the triage asked more questions than any path has")


@settings(max_examples=400, deadline=None)
@given(
    data=st.data(),
    calm=st.integers(0, CALMNESS_STEPS),
    soreness=st.integers(PAIN_MIN, PAIN_MAX),
)
def test_no_check_in_with_an_emergency_sign_ends_below_emergency(
    data: st.DataObject, calm: int, soreness: int
) -> None:
    outcome = advance(None, StartCheckIn(CHECK_IN_MESSAGE, soreness), now=NOW, profile=ON_HOME_CARE)
    state = outcome.state
    assert state is not None and state.flow is CHECK_IN_FLOW.name
    for _ in range(MAX_QUESTIONS):
        outcome = press_randomly(data, state, outcome, calm, ON_HOME_CARE)
        state = outcome.state
        signs = emergency_signs(CHECK_IN_FLOW.answers(state.answers).as_triage())
        templates = [r.template for r in outcome.replies]
        if signs:
            assert state.step == DONE, (signs, state.step)
            assert templates == ["care/checkin_escalated.j2", "triage/outcome_emergency.j2"]
            assert outcome.replies[-1].context["codes"] >= set(signs)
            changes = [e.changes for e in outcome.effects if isinstance(e, ChangeEpisode)]
            assert changes == [{"disposition": Disposition.EMERGENCY.code}]
            return
        if state.step == DONE:
            assert "triage/outcome_emergency.j2" not in templates
            return
    raise AssertionError("the check-in asked more questions than it has")


# --- every emergency within 3 answers, a counter that never undercounts, phone-sized labels ---

REACH = 3


def fewest_answers_to_each_emergency(depth: int = REACH) -> dict[str, int]:
    """Breadth first over every button from /new: for each emergency rule, the fewest answers
    after which the questions end in it."""
    found: dict[str, int] = {}
    frontier = [advance(None, Command("new"), now=NOW)]
    for answers in range(1, depth + 1):
        following = []
        for outcome in frontier:
            for button in answer_buttons(outcome.replies[-1]):
                pressed = advance(
                    outcome.state, event_for_button(button, outcome.replies[-1].version), now=NOW
                )
                if pressed.state.step == DONE:
                    for code in recorded(pressed).decision.reasons:
                        found.setdefault(code, answers)
                else:
                    following.append(pressed)
        frontier = following
    return found


def test_every_emergency_is_reached_within_three_answers_of_the_start() -> None:
    reached = fewest_answers_to_each_emergency()
    emergencies = {rule.code for rule in EMERGENCY_RULES}
    assert emergencies <= set(reached), emergencies - set(reached)
    assert max(reached[code] for code in emergencies) <= REACH


@settings(max_examples=300, deadline=None)
@given(data=st.data(), calm=st.integers(0, CALMNESS_STEPS))
def test_the_counter_never_says_fewer_questions_than_it_has_asked(
    data: st.DataObject, calm: int
) -> None:
    """ "3 of about 9": the number is the answers so far + 1, "about" never below it, and it
    counts down to the real end when every answer is the calm one."""
    outcome = advance(None, Command("new"), now=NOW)
    state = outcome.state
    for _ in range(MAX_QUESTIONS):
        question = outcome.replies[-1]
        number, about = question.context["number"], question.context["about"]
        assert number == len(state.history) + 1
        assert about >= number, (state.step, number, about)
        outcome = press_randomly(data, state, outcome, calm, None)
        state = outcome.state
        if state.step == DONE:
            return


def test_answering_every_question_calmly_ends_exactly_where_the_counter_said() -> None:
    outcome = advance(None, Command("new"), now=NOW)
    promised = outcome.replies[-1].context["about"]
    state = outcome.state
    while state.step != DONE:
        question = outcome.replies[-1]
        assert question.context["about"] == promised
        calm = TRIAGE.questions[state.step].calm_value
        (button,) = [b for b in answer_buttons(question) if b.value == calm]
        outcome = advance(state, event_for_button(button, question.version), now=NOW)
        state = outcome.state
    assert len(state.history) == promised


def test_a_story_keeps_the_counter_steady_and_its_number_jumps_past_what_was_told() -> None:
    """Facts from the runner's story are passed over into the history (or skipped by the
    routes), so "about" stays what it said at the checklist and the numbers skip what was told:
    the checklist, walking, then swelling as the 5th (onset and when passed over)."""
    told = {
        TriageStep.LOCATION: Location.OUTSIDE,
        TriageStep.ONSET: Onset.SUDDEN,
        TriageStep.STARTED: Started.DAYS_1_2,
    }
    state = DialogState(TriageStep.SIGNS, answers=told, flow=FlowName.TRIAGE)
    checklist = question_reply(state, now=NOW)
    promised = checklist.context["about"]
    assert checklist.context["number"] == 1
    (none,) = [
        b
        for b in answer_buttons(checklist)
        if b.value == TRIAGE.questions[TriageStep.SIGNS].calm_value
    ]
    state = advance(state, event_for_button(none, checklist.version), now=NOW).state
    walking = question_reply(state, now=NOW)
    assert state.step == TriageStep.WEIGHT_BEARING
    assert (walking.context["number"], walking.context["about"]) == (2, promised)
    (limp,) = [b for b in answer_buttons(walking) if b.value == WeightBearing.PAINFUL]
    state = advance(state, event_for_button(limp, walking.version), now=NOW).state
    swelling = question_reply(state, now=NOW)
    assert state.step == TriageStep.SWELLING
    assert (swelling.context["number"], swelling.context["about"]) == (5, promised)


def test_every_triage_button_fits_a_phone() -> None:
    """At most 24 characters a label, at most 2 buttons a row."""
    for step, question in TRIAGE.questions.items():
        assert question.per_row <= 2, step
        for choice in question.choices:
            assert len(choice.label) <= BUTTON_LABEL_LIMIT, (step, choice.label)
