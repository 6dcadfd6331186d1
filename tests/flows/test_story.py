"""The runner's own words: what the story reader finds in a first message (issue 10 item 3),
and the one-line confirmation that turns it into triage answers and asks only the rest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import story, triage
from flows.care_paths import PathChoice
from flows.dialog import ChooseAnswer, Command, Navigate, TypedText, advance
from flows.effects import RecordAssessment
from flows.flow import FLOWS
from flows.story import STORY_STEPS, read_story
from flows.story_confirm import MAX_STORY_LENGTH, StoryStep
from flows.triage import TriageStep
from flows.types import (
    BUTTON_LABEL_LIMIT,
    DONE,
    ButtonAction,
    CarePath,
    Disposition,
    FlowName,
    Location,
    Onset,
    Started,
    Swelling,
    WeightBearing,
    YesNo,
)

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
T = TriageStep
L, ON, S, W = Location, Onset, Swelling, WeightBearing
ISSUE = "Rolled my ankle on a trail yesterday, outside is swollen, I can walk but limp, about 4/10"


def facts(**by_name: str) -> dict[str, str]:
    """Expected facts by step name: facts(location="outside", pain="4")."""
    return {str(TriageStep[name.upper()]): str(value) for name, value in by_name.items()}


# fmt: off
PHRASINGS = [
    # the issue's runner: "swollen" alone says nothing of how much, so it will be asked
    (ISSUE, facts(location=L.OUTSIDE, onset=ON.SUDDEN, started=Started.DAYS_1_2,
                  weight_bearing=W.PAINFUL, pain="4")),
    # where
    ("pain on the outside of my ankle", facts(location=L.OUTSIDE)),
    ("outer ankle hurts", facts(location=L.OUTSIDE)),
    ("the lateral side is sore", facts(location=L.OUTSIDE)),
    ("sore on the inside", facts(location=L.INSIDE)),
    ("inner ankle pain", facts(location=L.INSIDE)),
    ("my achilles is sore", facts(location=L.BACK)),
    ("pain at the back of the heel", facts(location=L.BACK)),
    ("pain behind the ankle", facts(location=L.BACK)),
    ("front of the ankle aches", facts(location=L.FRONT)),
    ("top of my foot is sore", facts(location=L.FRONT)),
    ("my heel hurts in the morning", facts(location=L.HEEL)),
    ("pain in the arch", facts(location=L.HEEL)),
    ("it hurts all over", facts(location=L.ALL_OVER)),
    ("I was running outside and twisted it", facts(onset=ON.SUDDEN)),
    ("outside and inside both hurt", {}),
    # how it started
    ("I twisted it", facts(onset=ON.SUDDEN)),
    ("sprained it stepping off a kerb", facts(onset=ON.SUDDEN)),
    ("landed badly off a step", facts(onset=ON.SUDDEN)),
    ("I went over on it", facts(onset=ON.SUDDEN)),
    ("fell down the stairs", facts(onset=ON.SUDDEN)),
    ("it built up over a few weeks", facts(onset=ON.GRADUAL, started=Started.DAYS_11_42)),
    ("came on slowly after long runs", facts(onset=ON.GRADUAL)),
    ("no injury, it just started hurting", facts(onset=ON.GRADUAL)),
    ("didn't roll it", {}),
    ("I didn't really twist it", {}),
    ("rolled it once, but this time it built up", {}),
    # when
    ("it started today", facts(started=Started.TODAY)),
    ("this morning", facts(started=Started.TODAY)),
    ("since last night", facts(started=Started.DAYS_1_2)),
    ("2 days ago", facts(started=Started.DAYS_1_2)),
    ("three days ago", facts(started=Started.DAYS_3_4)),
    ("a few days ago", facts(started=Started.DAYS_3_4)),
    ("about a week ago", facts(started=Started.DAYS_5_10)),
    ("last week", facts(started=Started.DAYS_5_10)),
    ("sore for 3 weeks", facts(started=Started.DAYS_11_42)),
    ("3 weeks ago", facts(started=Started.DAYS_11_42)),
    ("a month ago", facts(started=Started.DAYS_11_42)),
    ("for more than 6 weeks", facts(started=Started.OVER_6_WEEKS)),
    ("it has hurt for months", facts(started=Started.OVER_6_WEEKS)),
    ("I run 4 days a week", {}),
    ("yesterday, or maybe 5 days ago", {}),
    # swelling
    ("no swelling", facts(swelling=S.NONE)),
    ("it's not swollen", facts(swelling=S.NONE)),
    ("a little swollen", facts(swelling=S.MILD)),
    ("slightly puffy", facts(swelling=S.MILD)),
    ("some swelling on the outside", facts(swelling=S.MILD, location=L.OUTSIDE)),
    ("very swollen", facts(swelling=S.MARKED)),
    ("swollen like a balloon", facts(swelling=S.MARKED)),
    ("not very swollen", {}),
    ("it is swollen", {}),
    ("a bit swollen yesterday, very swollen today", facts(swelling=S.MARKED)),
    # walking
    ("I can walk normally", facts(weight_bearing=W.NORMAL)),
    ("walking fine, no limp", facts(weight_bearing=W.NORMAL)),
    ("I'm limping", facts(weight_bearing=W.PAINFUL)),
    ("it hurts to walk", facts(weight_bearing=W.PAINFUL)),
    ("I can walk but it hurts", facts(weight_bearing=W.PAINFUL)),
    ("I can't walk", facts(weight_bearing=W.UNABLE)),
    ("I cannot put weight on it", facts(weight_bearing=W.UNABLE)),
    ("can't walk at all", facts(weight_bearing=W.UNABLE)),
    ("I can’t bear weight", facts(weight_bearing=W.UNABLE)),
    ("I can't walk properly", {}),
    ("I can't walk without limping", facts(weight_bearing=W.PAINFUL)),
    ("walking normally but I limp after runs", facts(weight_bearing=W.PAINFUL)),
    ("limping, and I can't put weight on it now", facts(weight_bearing=W.UNABLE)),
    # pain
    ("about 4/10", facts(pain="4")),
    ("pain 6", facts(pain="6")),
    ("the pain is about 7", facts(pain="7")),
    ("7 out of 10", facts(pain="7")),
    ("seven out of ten", facts(pain="7")),
    ("pain: 3", facts(pain="3")),
    ("pain 3/10", facts(pain="3")),
    ("it's 2 out of 10", facts(pain="2")),
    ("a pain of 5", facts(pain="5")),
    ("10/10 pain", facts(pain="10")),
    ("it hurts, 4-5/10", facts(pain="5")),
    ("twisted it, about 4.", facts(onset=ON.SUDDEN, pain="4")),
    ("sore for 2 days", facts(started=Started.DAYS_1_2)),
    ("ran about 10 then rolled it", facts(onset=ON.SUDDEN)),
    ("pain 12", {}),
    ("0/10 when resting", facts(pain="0")),
    # nothing to read
    ("hello", {}),
    ("what can you do?", {}),
    ("", {}),
    ("!!!", {}),
]
# fmt: on


@pytest.mark.parametrize(("text", "expected"), PHRASINGS, ids=[p[0][:40] for p in PHRASINGS])
def test_the_reader_finds_what_the_words_say_and_nothing_else(text, expected) -> None:
    assert read_story(text) == expected


def test_there_are_at_least_sixty_phrasings() -> None:
    assert len(PHRASINGS) >= 60


def test_a_long_story_past_two_hundred_characters_is_read_whole() -> None:
    text = (
        "So I was out on my usual Sunday trail loop, about 14 km in, going down a rocky bit "
        "when I rolled my ankle on a loose stone. That was 3 days ago. The outside is very "
        "swollen and bruised now, I'm hobbling around the house, and the pain is about 6 "
        "most of the time, worse at night."
    )
    assert len(text) > 200
    assert read_story(text) == facts(
        location=L.OUTSIDE,
        onset=ON.SUDDEN,
        started=Started.DAYS_3_4,
        swelling=S.MARKED,
        weight_bearing=W.PAINFUL,
        pain="6",
    )


def test_words_in_the_runners_language_count_as_well_as_english() -> None:
    german = {
        "outside": "außen",
        "twisted": "umgeknickt",
        "yesterday": "gestern",
        "very swollen": "stark geschwollen",
        "can't walk": "kann nicht gehen",
        "pain": "schmerz",
        "seven": "sieben",
        "not": "nicht",
    }

    def translate(message_id: str) -> str:
        return german.get(message_id, message_id)

    text = "Gestern umgeknickt, außen stark geschwollen, kann nicht gehen, Schmerz sieben"
    assert read_story(text, translate) == facts(
        location=L.OUTSIDE,
        onset=ON.SUDDEN,
        started=Started.DAYS_1_2,
        swelling=S.MARKED,
        weight_bearing=W.UNABLE,
        pain="7",
    )
    # English still counts for a German-speaking runner.
    assert read_story("rolled it", translate) == facts(onset=ON.SUDDEN)


ALLOWED = {
    T.LOCATION: set(Location),
    T.ONSET: set(Onset),
    T.STARTED: set(Started),
    T.SWELLING: set(Swelling),
    T.WEIGHT_BEARING: set(WeightBearing),
    T.PAIN: {str(n) for n in range(11)},
}
WORDS = sorted(
    {
        word
        for lists in (
            story.LOCATION_WORDS,
            story.ONSET_WORDS,
            story.STARTED_WORDS,
            story.SWELLING_WORDS,
            story.WALKING_WORDS,
        )
        for _, phrases in lists
        for word in phrases
    }
    | {"not", "no", "can't", "pain", "about", "/", "10", "4", "ago", "3 weeks", ",", "but"}
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join),
    )
)
def test_the_reader_never_raises_and_only_returns_the_triages_own_values(text: str) -> None:
    found = read_story(text)
    assert set(found) <= set(STORY_STEPS)
    for step, value in found.items():
        assert value in ALLOWED[step], (text, step, value)


def test_a_story_never_settles_a_warning_sign() -> None:
    text = "bone sticking out, foot cold and numb, heard a crack, chest pain, I can't walk"
    found = read_story(text)
    assert set(found) <= set(STORY_STEPS)
    assert found[T.WEIGHT_BEARING] == W.UNABLE


# --- the confirmation -----------------------------------------------------------------------


def tell(text: str, state=None):
    return advance(state, TypedText(text), now=NOW)


def press(outcome, value: str):
    reply = outcome.replies[-1]
    (button,) = [b for row in reply.buttons for b in row if b.value == value]
    return advance(outcome.state, ChooseAnswer(button.step, button.value, reply.version), now=NOW)


def test_a_first_message_with_facts_gets_one_line_and_two_buttons() -> None:
    outcome = tell(ISSUE)
    assert [r.template for r in outcome.replies] == ["triage/welcome.j2", "story/confirm.j2"]
    confirm = outcome.replies[-1]
    assert outcome.state.flow is FlowName.STORY and outcome.state.step == StoryStep.CONFIRM
    labels = [[b.label for b in row] for row in confirm.buttons]
    assert labels == [["Yes, that's right", "Change something"]]
    assert all(len(label) <= BUTTON_LABEL_LIMIT for row in labels for label in row)
    answers = confirm.context["answers"]
    assert (answers.location, answers.onset, answers.pain) == (L.OUTSIDE, ON.SUDDEN, 4)


def test_yes_makes_the_facts_answers_and_asks_only_the_rest() -> None:
    shown = tell(ISSUE)
    confirmed = press(shown, YesNo.YES)
    state = confirmed.state
    # One answer, one stored change: the store refuses any other step of the version.
    assert state.version == shown.state.version + 1
    assert state.flow is FlowName.TRIAGE
    # A story never settles a warning sign: the checklist of the signs that cannot wait is
    # asked first, then swelling, which was not said in so many words.
    assert state.step == T.SIGNS
    state = advance(state, TypedText("none of these"), now=NOW).state
    assert state.step == T.SWELLING
    assert {T.WEIGHT_BEARING, T.ONSET, T.STARTED} <= set(state.history)
    assert state.answers[T.LOCATION] == L.OUTSIDE
    after = advance(state, TypedText("a little"), now=NOW).state
    # Walking and pain were settled too: the warning signs come next.
    asked = after.step
    assert asked not in (T.WEIGHT_BEARING, T.PAIN)
    assert triage.QUESTIONS[asked].choices[0].value == YesNo.YES
    assert after.answers[T.WEIGHT_BEARING] == W.PAINFUL and after.answers[T.PAIN] == "4"


def test_change_asks_everything_from_the_first_question() -> None:
    shown = tell(ISSUE)
    changed = press(shown, YesNo.NO)
    assert changed.state.version == shown.state.version + 1
    assert [r.template for r in changed.replies[:1]] == ["story/change.j2"]
    assert changed.state.flow is FlowName.TRIAGE
    assert changed.state.step == triage.FLOW.first
    assert not set(changed.state.answers) & set(triage.QUESTIONS)


def test_a_confirmed_cannot_walk_leads_to_the_emergency_rule() -> None:
    confirmed = press(tell("fell off a kerb, I can't put weight on it"), YesNo.YES)
    state = confirmed.state
    # Whatever is still asked, "no" (or the first button) to every other question ends in E4.
    for _ in range(len(triage.QUESTIONS)):
        if state.step == DONE:
            break
        choices = {c.value for c in triage.QUESTIONS[state.step].choices}
        value = YesNo.NO if YesNo.NO in choices else triage.QUESTIONS[state.step].choices[0].value
        confirmed = advance(state, ChooseAnswer(state.step, value, state.version), now=NOW)
        state = confirmed.state
    (done,) = [e for e in confirmed.effects if isinstance(e, RecordAssessment)]
    assert done.decision.disposition is Disposition.EMERGENCY
    assert "E4" in done.decision.reasons


def test_more_of_the_story_while_the_line_is_shown_adds_to_it() -> None:
    first = tell("rolled it yesterday")
    again = tell("outside, about 3/10", first.state)
    answers = again.replies[-1].context["answers"]
    assert (answers.onset, answers.started, answers.location, answers.pain) == (
        ON.SUDDEN,
        Started.DAYS_1_2,
        L.OUTSIDE,
        3,
    )
    assert again.state.version > first.state.version


def test_typing_yes_confirms_and_nonsense_is_re_asked_at_the_line() -> None:
    shown = tell("twisted it")
    assert tell("yes", shown.state).state.flow is FlowName.TRIAGE
    reask = tell("purple", shown.state)
    assert reask.state is None and reask.replies[-1].context["note"] == "reask"


def test_a_story_at_the_first_question_with_nothing_answered_is_read() -> None:
    started = advance(None, Command("new"), now=NOW)
    shown = tell(ISSUE, started.state)
    assert shown.state.flow is FlowName.STORY
    assert [r.template for r in shown.replies] == ["story/confirm.j2"]
    assert shown.state.version == started.state.version + 1


def test_a_story_after_the_first_answer_is_not_read_there() -> None:
    started = advance(None, Command("new"), now=NOW)
    first = triage.FLOW.first
    value = triage.QUESTIONS[first].calm_value
    answered = advance(started.state, ChooseAnswer(first, value, started.state.version), now=NOW)
    reask = tell("rolled it yesterday, 4/10", answered.state)
    assert reask.state is None
    assert reask.replies[-1].context["note"] == "reask"


def test_a_message_with_no_facts_still_says_what_can_be_typed() -> None:
    from bot.render import render

    (reply,) = tell("hello there").replies
    assert reply.template == "triage/no_assessment.j2"
    assert "in a few words" in render(reply.template, **reply.context)


def test_long_stories_are_read_up_to_the_story_limit_and_no_further() -> None:
    padding = " and then I kept going for a while" * 20
    long_story = ("rolled my ankle yesterday" + padding)[: MAX_STORY_LENGTH - 10]
    assert len(long_story) > 200
    assert tell(long_story).state.flow is FlowName.STORY
    (too_long,) = tell("rolled my ankle yesterday" + padding * 3).replies
    assert too_long.context == {"kind": "long_text"}
    # Past 200 characters with nothing to read: the long-text reply as before.
    (nothing,) = tell("la " * 100).replies
    assert nothing.context == {"kind": "long_text"}
    # In the middle of a triage, a long message is not an answer, as before.
    started = advance(None, Command("new"), now=NOW)
    first = triage.FLOW.first
    value = triage.QUESTIONS[first].calm_value
    answered = advance(started.state, ChooseAnswer(first, value, started.state.version), now=NOW)
    assert tell(long_story, answered.state).replies[0].context == {"kind": "long_text"}


def test_a_bare_pain_score_outside_a_question_is_still_a_soreness_report() -> None:
    outcome = tell("4/10")
    assert outcome.state is None or outcome.state.flow is not FlowName.STORY


def test_back_at_the_line_changes_nothing() -> None:
    shown = tell("twisted it")
    back = advance(shown.state, Navigate(ButtonAction.BACK, shown.state.version), now=NOW)
    assert back.state is None
    assert back.replies[-1].template == "story/confirm.j2"


def test_the_story_flow_is_registered_under_its_name() -> None:
    assert FLOWS[FlowName.STORY].questions[StoryStep.CONFIRM].template == "story/confirm.j2"


# --- held-out cases told as a story first ------------------------------------------------------

# Each case of tests/flows/test_clinical_cases.py told in a runner's words: the facts the words
# give must be the case's own buttons, and the rest is pressed button by button.
STORIES = {
    "acute_sprain": "Rolled my ankle on a kerb yesterday, the outside is a little swollen, "
    "I can walk but limp, about 4/10",
    "gradual_achilles_3_weeks": "My achilles pain built up over the last 3 weeks of training. "
    "Not swollen, I walk normally, pain 3/10",
    "e4_cannot_walk": "Fell off a kerb today, the outside of my ankle is very swollen and I "
    "can't put weight on it",
}


def by_story(name: str):
    from tests.flows.test_clinical_cases import BY_NAME, press_through

    case = BY_NAME[name]
    told = press(tell(STORIES[name]), YesNo.YES)
    settled = {k: v for k, v in told.state.answers.items() if k in STORY_STEPS}
    # The words gave exactly the values of the case's own buttons.
    for step, value in settled.items():
        labels = {c.value: c.label for c in triage.QUESTIONS[step].choices}
        assert labels[value] == case.answers[step], (name, step)
    rest = {step: label for step, label in case.answers.items() if step not in settled}
    return case, settled, press_through(told, rest)


@pytest.mark.parametrize("name", sorted(STORIES))
def test_a_case_told_as_a_story_gets_the_same_result_with_fewer_answers(name: str) -> None:
    from tests.flows.test_clinical_cases import play_triage, recorded

    case, settled, told = by_story(name)
    by_buttons = play_triage(case.answers)
    assert len(settled) >= 4, settled
    story_done, buttons_done = recorded(told.outcome), recorded(by_buttons.outcome)
    assert story_done.decision == buttons_done.decision
    assert story_done.decision.disposition is case.disposition
    if case.disposition is not Disposition.EMERGENCY:
        assert story_done.path == buttons_done.path
    else:
        # Buttons end an emergency before "where" is asked (the careful fallback path); the
        # story said where, so its path is the one the words describe.
        assert buttons_done.path == PathChoice(CarePath.BONE_STRESS, fallback=True)
        assert story_done.path == PathChoice(CarePath.SPRAIN)
    # Every settled question is one the buttons asked and the story did not.
    assert told.asked == [step for step in by_buttons.asked if step not in settled]
    if case.disposition is not Disposition.EMERGENCY:
        # The story's Yes and the questions left are fewer than the buttons; so are they with
        # the story counted as an answer too. (An emergency the buttons reach in two answers
        # cannot be reached faster: after the story it takes its Yes and the checklist.)
        assert 2 + len(told.asked) < len(by_buttons.asked)
    else:
        assert 1 + len(told.asked) <= 3
