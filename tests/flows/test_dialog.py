"""The triage conversation through the flows: transcripts to each disposition, navigation,
typed answers, stale buttons and bad input."""

from __future__ import annotations

from flows.commands import COMMANDS
from flows.dialog import (
    ChooseAnswer,
    Command,
    DialogState,
    Navigate,
    Resume,
    TypedText,
    Unreadable,
    advance,
    event_for_command,
    needs_profile,
)
from flows.triage import TriageStep
from flows.types import DONE, Disposition
from tests.flows.conftest import NOW, play, recorded
from tests.scripts import GRADUAL, GRADUAL_NOS, SPRAIN_NOS
from tests.scripts import SPRAIN as SPRAIN_ANSWERS

# A sudden outside sprain, walking with a limp, pain 4, no warning signs ("none" answers the
# checklist of signs that cannot wait).
SPRAIN = list(SPRAIN_ANSWERS)
SUDDEN_FLAGS_NO = ["no"] * SPRAIN_NOS  # Ottawa points, night pain, giving way
# No sign on the checklist, walking with a limp: the location question comes next.
TO_LOCATION = ("none", "limp")
ANSWERED = {"signs": "none", "walk": "painful"}


def asked_steps(*typed: str) -> list[str]:
    """The steps asked, in order, while typing the answers."""
    outcome = advance(None, Command("new"), now=NOW)
    state = outcome.state
    steps = [state.step]
    for text in typed:
        outcome = advance(state, TypedText(text), now=NOW)
        state = outcome.state or state
        if state.step != DONE:
            steps.append(state.step)
    return steps


def test_sudden_sprain_without_warning_signs_ends_in_home_care_with_one_message() -> None:
    state, outcome = play(*SPRAIN, *SUDDEN_FLAGS_NO)
    assert state.step == DONE
    assert recorded(outcome) is not None
    assert recorded(outcome).decision.disposition is Disposition.HOME_CARE
    (home,) = outcome.replies
    assert home.template == "triage/outcome_home_care.j2"
    labels = [[b.label for b in row] for row in home.buttons]
    assert labels == [["Why", "What to do"], ["Warning signs", "Today's exercises"]]


def test_sudden_path_asks_the_checklist_first_and_ottawa_but_not_bone_spot() -> None:
    steps = asked_steps(*SPRAIN, *SUDDEN_FLAGS_NO)
    assert steps[:2] == [TriageStep.SIGNS, TriageStep.WEIGHT_BEARING]
    assert TriageStep.OTTAWA in steps and TriageStep.BONE_SPOT not in steps
    assert TriageStep.TREND not in steps  # started 1-2 days ago
    assert TriageStep.TIPTOE not in steps  # no pop
    assert TriageStep.SIGNS_AGAIN not in steps  # "None of these" covered every sign
    assert len(steps) == len(SPRAIN) + len(SUDDEN_FLAGS_NO)


def test_gradual_path_asks_bone_spot_but_not_ottawa() -> None:
    steps = asked_steps(*GRADUAL, *["no"] * GRADUAL_NOS)
    assert TriageStep.TREND in steps and TriageStep.BONE_SPOT in steps
    assert TriageStep.OTTAWA not in steps


def test_not_improving_after_six_weeks_sends_to_a_clinician() -> None:
    _state, outcome = play(*GRADUAL, *["no"] * GRADUAL_NOS)
    assert recorded(outcome).decision.disposition is Disposition.SEE_CLINICIAN
    assert recorded(outcome).decision.reasons == ("S5",)
    (advice,) = outcome.replies
    assert advice.template == "triage/outcome_see_clinician.j2"
    labels = [[b.label for b in row] for row in advice.buttons]
    assert labels == [["Why", "What to do"], ["Warning signs", "PDF for the clinic"]]


def test_ottawa_bone_tenderness_sends_to_a_clinician() -> None:
    # Ottawa yes, night pain no, giving way no
    _, outcome = play(*SPRAIN, "yes", "no", "no")
    assert recorded(outcome).decision.disposition is Disposition.SEE_CLINICIAN
    assert recorded(outcome).decision.reasons == ("S1",)


def test_cannot_take_four_steps_ends_the_questions_at_once_as_an_emergency() -> None:
    state, outcome = play("none", "can't")
    assert state.step == DONE
    assert recorded(outcome).decision.disposition is Disposition.EMERGENCY
    assert recorded(outcome).decision.reasons == ("E4",)
    assert [r.template for r in outcome.replies] == ["triage/outcome_emergency.j2"]


def test_a_pop_with_a_failed_tiptoe_test_is_an_emergency_even_with_little_pain() -> None:
    # the checklist's pop -> where it hurts -> tiptoe asked -> "I can't"
    steps = asked_steps("pop", "back")
    assert steps == [TriageStep.SIGNS, TriageStep.LOCATION, TriageStep.TIPTOE]
    _, outcome = play("pop", "back", "i can't")
    assert recorded(outcome).decision.reasons == ("E3",)


def test_not_sure_to_a_red_flag_escalates() -> None:
    _, outcome = play("pop", "back", "not sure")
    assert recorded(outcome).decision.disposition is Disposition.EMERGENCY


def test_buttons_drive_the_dialog_and_carry_the_version() -> None:
    outcome = advance(None, Command("start"), now=NOW)
    question = outcome.replies[-1]
    assert outcome.replies[0].template == "triage/welcome.j2"
    none = question.buttons[-1][0]
    assert (none.step, none.value, question.version) == ("signs", "none", 1)
    moved = advance(outcome.state, ChooseAnswer("signs", "none", question.version), now=NOW)
    assert moved.state.step is TriageStep.WEIGHT_BEARING
    assert moved.state.answers == {"signs": "none"}
    assert moved.replies[0].version == 2


def test_a_button_from_an_earlier_question_changes_nothing() -> None:
    start = advance(None, Command("new"), now=NOW)
    moved = advance(start.state, ChooseAnswer("signs", "none", 1), now=NOW)
    again = advance(moved.state, ChooseAnswer("signs", "e2", 1), now=NOW)
    assert again.state is None
    assert again.replies[0].template == "triage/stale_button.j2"
    assert again.replies[-1].template == "triage/ask_weight_bearing.j2"


def test_a_button_with_an_unknown_value_changes_nothing() -> None:
    start = advance(None, Command("new"), now=NOW)
    outcome = advance(start.state, ChooseAnswer("signs", "knee", 1), now=NOW)
    assert outcome.state is None
    assert outcome.replies[0].context["kind"] == "button"


def test_back_returns_to_the_previous_question_and_forgets_its_answer() -> None:
    state, _ = play(*TO_LOCATION, "outside", "sudden", "5-10 days ago")
    assert state.step is TriageStep.TREND
    back = advance(state, Navigate("back", state.version), now=NOW)
    assert back.state.step is TriageStep.STARTED
    assert back.state.answers == {**ANSWERED, "loc": "outside", "onset": "sudden"}
    # A different answer takes a different path: no improvement question before 5 days.
    onward = advance(back.state, TypedText("today"), now=NOW)
    assert onward.state.step is TriageStep.SWELLING


def test_typed_back_navigates_except_where_back_is_an_answer() -> None:
    state, _ = play(
        *TO_LOCATION, "back"
    )  # at the location question "back" means the back of the ankle
    assert state.answers == {**ANSWERED, "loc": "back"} and state.step is TriageStep.ONSET
    state, _outcome = play(*TO_LOCATION, "back", "back")
    assert state.step is TriageStep.LOCATION and state.answers == ANSWERED


def test_the_first_question_has_nothing_to_go_back_to() -> None:
    start = advance(None, Command("new"), now=NOW)
    outcome = advance(start.state, Navigate("back", start.state.version), now=NOW)
    assert outcome.state is None
    assert outcome.replies[0].context["note"] == "first_question"


def test_start_over_begins_a_fresh_assessment() -> None:
    state, _ = play(*TO_LOCATION, "outside", "sudden")
    fresh = advance(state, Navigate("restart", state.version), now=NOW)
    assert fresh.state.step is TriageStep.SIGNS and fresh.state.answers == {}
    assert fresh.state.version == state.version + 1


def test_unclear_text_is_re_asked_with_the_buttons() -> None:
    state, _ = play(*TO_LOCATION, "outside")
    outcome = advance(state, TypedText("it's complicated"), now=NOW)
    assert outcome.state is None
    (reply,) = outcome.replies
    assert reply.template == "triage/ask_onset.j2" and reply.context["note"] == "reask"
    assert reply.buttons


def test_typed_pain_accepts_seven_and_seven_out_of_ten_but_not_eleven() -> None:
    state, _ = play(*SPRAIN[:6])
    assert state.step is TriageStep.PAIN
    assert advance(state, TypedText("7/10"), now=NOW).state.answers["pain"] == "7"
    assert advance(state, TypedText("7"), now=NOW).state.answers["pain"] == "7"
    assert advance(state, TypedText("11"), now=NOW).state is None


def test_very_long_text_gets_a_short_reply_and_changes_nothing() -> None:
    state, _ = play(*TO_LOCATION, "outside")
    outcome = advance(state, TypedText("x" * 500), now=NOW)
    assert outcome.state is None
    assert outcome.replies[0].context["kind"] == "long_text"


def test_stickers_and_other_media_change_nothing_and_repeat_the_question() -> None:
    state, _ = play(*TO_LOCATION, "outside")
    outcome = advance(state, Unreadable("sticker"), now=NOW)
    assert outcome.state is None
    assert [r.template for r in outcome.replies] == ["triage/unreadable.j2", "triage/ask_onset.j2"]


def test_cancel_ends_the_assessment_and_text_afterwards_points_to_new() -> None:
    state, _ = play(*TO_LOCATION, "outside")
    cancelled = advance(state, Command("cancel"), now=NOW)
    assert cancelled.state.step == DONE and cancelled.state.answers == {}
    after = advance(cancelled.state, TypedText("banana"), now=NOW)
    assert after.replies[0].template == "triage/no_assessment.j2"
    # Words the story reader knows are read as the start of a new story instead.
    story = advance(cancelled.state, TypedText("outside"), now=NOW)
    assert story.replies[0].template == "story/confirm.j2"


def test_resume_shows_the_current_question_without_changing_anything() -> None:
    state, _ = play(*TO_LOCATION, "outside", "sudden")
    outcome = advance(state, Resume(), now=NOW)
    assert outcome.state is None
    assert outcome.replies[0].template == "triage/ask_started.j2"
    assert outcome.replies[0].context["note"] == "resume"


def test_help_mid_assessment_repeats_the_question_after_the_help() -> None:
    state, _ = play(*TO_LOCATION, "outside")
    outcome = advance(state, Command("help"), now=NOW)
    assert [r.template for r in outcome.replies] == ["triage/help.j2", "triage/ask_onset.j2"]


def test_commands_map_to_events_and_unknown_ones_are_unreadable() -> None:
    new = advance(None, event_for_command("new"), now=NOW)
    assert [r.template for r in new.replies] == ["triage/ask_signs.j2"]
    start = advance(None, event_for_command("START"), now=NOW)
    assert [r.template for r in start.replies] == ["triage/welcome.j2", "triage/ask_signs.j2"]
    assert event_for_command("frobnicate") == Unreadable("unknown_command")


def test_a_new_assessment_keeps_counting_versions_so_old_buttons_stay_stale() -> None:
    state, _ = play(*TO_LOCATION, "outside", "sudden")
    renewed = advance(state, Command("new"), now=NOW)
    assert renewed.state.version == state.version + 1
    stale = advance(renewed.state, ChooseAnswer("loc", "inside", 1), now=NOW)
    assert stale.state is None


def test_the_finished_assessment_records_when_it_started_and_ended() -> None:
    later = NOW.replace(hour=10)
    start = advance(None, Command("new"), now=NOW)
    state = start.state
    outcome = None
    for text in ["none", "can't"]:
        outcome = advance(state, TypedText(text), now=later)
        state = outcome.state
    assert recorded(outcome).started_at == NOW
    assert recorded(outcome).completed_at == later
    assert isinstance(state, DialogState)


def test_starting_or_explaining_a_dialog_needs_no_follow_up_profile() -> None:
    """Loading the whole profile costs several queries: /new, /start, /help, /about, /later and
    /language run on the settings alone; the other commands get the whole profile (as /cancel
    always did)."""
    light = {"start", "new", "help", "about", "later", "language"}
    for command in COMMANDS:
        needed = needs_profile(None, event_for_command(command.name))
        assert needed is (command.name not in light), command.name
