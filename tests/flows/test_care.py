"""Follow-ups as pure decisions: what an assessment schedules, what each due message says and
schedules next, the check-in conversation and its verdicts, soreness reports, reminder set-up,
and the pause / resume / stop commands."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from flows import care
from flows.dialog import (
    AnswerSeenCheck,
    Command,
    LogExercise,
    StartAssessment,
    StartCheckIn,
    TypedText,
    advance,
)
from flows.events import (
    CancelMessages,
    ChangeEpisode,
    ChangeSettings,
    CheckInView,
    EpisodeView,
    Profile,
    RecordCheckIn,
    RecordExercise,
    RecordSoreness,
    ScheduleMessage,
)
from flows.questions import Step
from flows.types import Disposition, Reply
from tests.flows.conftest import play

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
SPRAIN_ANSWERS = {
    "loc": "outside",
    "onset": "sudden",
    "start": "d1_2",
    "swell": "mild",
    "walk": "painful",
    "pain": "4",
}
EPISODE = EpisodeView(
    assessed_at=NOW,
    disposition=Disposition.HOME_CARE,
    location="outside",
    pain_at_assessment=4,
    phase=1,
    status="active",
    answers=SPRAIN_ANSWERS,
)
PROFILE = Profile(
    runner_id=7,
    zone="Europe/London",
    reminder_time="07:00",
    episode=EPISODE,
    soreness=((NOW, 4),),
    upcoming=(("checkin", NOW + timedelta(days=1)),),
)


def of(kind: type, effects) -> list:
    return [e for e in effects if isinstance(e, kind)]


def checkin_through(
    typed: list[str], *, soreness: int = 3, profile: Profile = PROFILE, at: datetime = NOW
) -> list[Reply]:
    return checkin_outcome(typed, soreness=soreness, profile=profile, at=at)[1]


def checkin_outcome(typed, *, soreness=3, profile=PROFILE, at=NOW, message_id=5):
    outcome = advance(None, StartCheckIn(message_id, soreness), now=at, profile=profile)
    replies = list(outcome.replies)
    state = outcome.state
    for text in typed:
        outcome = advance(state, TypedText(text), now=at, profile=profile)
        state = outcome.state or state
        replies += outcome.replies
    return outcome, replies


def setup_through(typed: list[str], profile: Profile = PROFILE) -> list[Reply]:
    outcome = advance(None, Command("reminders"), now=NOW, profile=profile)
    replies = list(outcome.replies)
    state = outcome.state
    for text in typed:
        if text.startswith("o") and text[1:].lstrip("-").isdigit():
            from flows.dialog import ChooseAnswer

            outcome = advance(
                state, ChooseAnswer(state.step.value, text, state.version), now=NOW, profile=profile
            )
        else:
            outcome = advance(state, TypedText(text), now=NOW, profile=profile)
        state = outcome.state or state
        replies += outcome.replies
    return replies


# --- what an assessment schedules ---------------------------------------------------------------


def test_home_care_schedules_the_first_check_in_about_24_hours_later_in_daytime() -> None:
    _, outcome = play("outside", "sudden", "1-2 days ago", "mild", "limp", "4", *["no"] * 12)
    effects = care.after_assessment(PROFILE, outcome.assessment)
    first, reminder = of(ScheduleMessage, effects)
    assert first.kind == "checkin"
    # A reminder time chosen earlier starts with the plan: 07:00 London, the next morning.
    assert reminder.kind == "reminder" and reminder.due_at == datetime(2026, 11, 22, 7, tzinfo=UTC)
    assert first.due_at == outcome.assessment.completed_at + timedelta(hours=24)
    assert of(RecordSoreness, effects)[0].value == 4
    assert of(CancelMessages, effects)  # an older episode's follow-ups end


def test_without_a_zone_follow_ups_keep_the_time_of_day_of_the_assessment() -> None:
    night = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
    _, outcome = play(
        "outside", "sudden", "1-2 days ago", "mild", "limp", "4", *["no"] * 12, now=night
    )
    (first,) = of(ScheduleMessage, care.after_assessment(Profile(runner_id=1), outcome.assessment))
    assert first.due_at == night + timedelta(hours=24)
    zoned = of(ScheduleMessage, care.after_assessment(PROFILE, outcome.assessment))[0]
    assert zoned.due_at.astimezone().hour != 23 or zoned.due_at != first.due_at


def test_see_clinician_schedules_a_seen_check_at_48_hours_and_emergency_at_24() -> None:
    _, clinician = play(
        "back", "gradual", "more than 6 weeks ago", "same", "none", "normal", "3", *["no"] * 11
    )
    _, emergency = play("outside", "sudden", "today", "marked", "can't")
    for outcome, hours in ((clinician, 48), (emergency, 24)):
        (check,) = of(
            ScheduleMessage, care.after_assessment(Profile(runner_id=1), outcome.assessment)
        )
        assert check.kind == "seen_check"
        assert check.due_at == outcome.assessment.completed_at + timedelta(hours=hours)


# --- composing due messages -----------------------------------------------------------------------


def payload(n: int = 1) -> dict:
    return {"episode": care.episode_key(NOW), "n": n, "zone": "Europe/London"}


def test_the_check_in_chain_is_24_48_72_hours_then_daily() -> None:
    dues = []
    due_at = NOW + timedelta(hours=24)
    for n in range(1, 6):
        due = care.compose_due(
            "checkin", payload(n), message_id=n, due_at=due_at, profile=PROFILE, now=due_at
        )
        assert due.replies[0].template == "care/checkin.j2"
        (follow,) = due.follow_ups
        dues.append(follow.due_at)
        due_at = follow.due_at
    assert dues[0] == NOW + timedelta(hours=48)
    assert dues[1] == NOW + timedelta(hours=72)
    assert all(
        timedelta(hours=20) <= b - a <= timedelta(hours=34) for a, b in itertools.pairwise(dues)
    )


def test_check_in_buttons_carry_the_message_and_the_soreness() -> None:
    due = care.compose_due(
        "checkin", payload(), message_id=42, due_at=NOW, profile=PROFILE, now=NOW
    )
    buttons = [b for row in due.replies[0].buttons for b in row]
    assert [b.value for b in buttons] == [str(v) for v in range(11)]
    assert {(b.action, b.step) for b in buttons} == {("checkin", "42")}


def test_after_two_unanswered_check_ins_one_safety_net_and_nothing_more() -> None:
    quiet = replace(PROFILE, unanswered_checkins=2)
    due = care.compose_due("checkin", payload(4), message_id=9, due_at=NOW, profile=quiet, now=NOW)
    assert [r.template for r in due.replies] == ["care/safety_net.j2"]
    assert due.follow_ups == ()


def test_writing_again_after_the_quiet_spell_restarts_check_ins() -> None:
    quiet = replace(PROFILE, unanswered_checkins=2, upcoming=())
    outcome = advance(None, TypedText("2/10"), now=NOW, profile=quiet)
    (restart,) = of(ScheduleMessage, outcome.effects)
    assert restart.kind == "checkin" and restart.due_at > NOW


def test_a_check_in_of_a_finished_or_stopped_episode_is_dropped() -> None:
    over = replace(PROFILE, episode=replace(EPISODE, status="resolved"))
    assert care.compose_due(
        "checkin", payload(), message_id=1, due_at=NOW, profile=over, now=NOW
    ).drop_reason
    stopped = replace(PROFILE, followups_stopped=True)
    assert care.compose_due(
        "checkin", payload(), message_id=1, due_at=NOW, profile=stopped, now=NOW
    ).drop_reason


def test_a_daily_reminder_shows_todays_session_and_schedules_the_next_local_occurrence() -> None:
    due_at = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)  # 07:00 in London in November
    due = care.compose_due(
        "reminder",
        {"zone": "Europe/London", "time": "07:00"},
        message_id=3,
        due_at=due_at,
        profile=PROFILE,
        now=due_at,
    )
    assert [r.template for r in due.replies] == ["care/reminder.j2", "triage/exercise_session.j2"]
    buttons = [b.label for b in due.replies[1].buttons[0]]
    assert buttons == ["✅ Done", "⏭ Skipped", "😣 Too sore"]
    (follow,) = due.follow_ups
    assert follow.due_at == due_at + timedelta(days=1)
    assert follow.key == "r7:reminder:2026-11-22:07:00"


def test_reminders_keep_local_time_across_the_spring_forward() -> None:
    profile = replace(PROFILE, zone="America/New_York", reminder_time="07:30")
    due_at = datetime(2027, 3, 13, 12, 30, tzinfo=UTC)  # 07:30 EST, the day before DST
    due = care.compose_due(
        "reminder",
        {"zone": "America/New_York", "time": "07:30"},
        message_id=1,
        due_at=due_at,
        profile=profile,
        now=due_at,
    )
    assert due.follow_ups[0].due_at == datetime(2027, 3, 14, 11, 30, tzinfo=UTC)  # 07:30 EDT


def test_a_paused_or_changed_reminder_is_dropped() -> None:
    paused = replace(PROFILE, reminders_paused=True)
    assert care.compose_due(
        "reminder", {"time": "07:00"}, message_id=1, due_at=NOW, profile=paused, now=NOW
    ).drop_reason
    assert care.compose_due(
        "reminder", {"time": "06:00"}, message_id=1, due_at=NOW, profile=PROFILE, now=NOW
    ).drop_reason


# --- the check-in conversation --------------------------------------------------------------------


def test_a_calm_check_in_asks_change_signs_and_exercises_then_thanks() -> None:
    outcome, replies = checkin_outcome(["same", "none", "normal", "all", "3", "settled"])
    assert [r.template for r in replies][-1] == "care/checkin_thanks.j2"
    assert outcome.state.step is Step.DONE
    (record,) = of(RecordCheckIn, outcome.effects)
    assert (record.soreness, record.trend, record.verdict) == (3, "same", "continue")
    assert of(RecordSoreness, outcome.effects)[0].source == "checkin"


def test_a_new_warning_sign_at_a_check_in_re_triages_as_an_emergency() -> None:
    outcome, replies = checkin_outcome(["better", "yes", "can't"])
    assert [r.template for r in replies][-2:] == [
        "care/checkin_escalated.j2",
        "triage/outcome_emergency.j2",
    ]
    assert of(ChangeEpisode, outcome.effects)[0].changes == {"disposition": "EMERGENCY"}
    (seen,) = of(ScheduleMessage, outcome.effects)
    assert seen.kind == "seen_check" and seen.due_at == NOW + timedelta(hours=24)


def test_worse_at_two_check_ins_in_a_row_moves_to_see_a_clinician() -> None:
    worse = replace(PROFILE, episode=replace(EPISODE, check_ins=(CheckInView(NOW, 5, "worse"),)))
    _outcome, replies = checkin_outcome(
        ["worse", "none", "normal", "none"], soreness=6, profile=worse
    )
    assert replies[-1].template == "triage/outcome_see_clinician.j2"
    assert replies[-1].context["codes"] == {"S6"}


def test_no_improvement_five_days_after_home_care_moves_to_see_a_clinician() -> None:
    later = NOW + timedelta(hours=121)
    _outcome, replies = checkin_outcome(["same", "none", "normal", "none"], soreness=4, at=later)
    assert replies[-1].context["codes"] == {"S5"}


def test_three_check_ins_at_0_or_1_resolve_the_episode() -> None:
    low = replace(
        PROFILE,
        episode=replace(
            EPISODE, check_ins=(CheckInView(NOW, 1, "better"), CheckInView(NOW, 0, "better"))
        ),
    )
    outcome, replies = checkin_outcome(
        ["better", "none", "normal", "none"], soreness=1, profile=low
    )
    assert replies[-1].template == "care/resolved.j2"
    assert of(ChangeEpisode, outcome.effects)[0].changes["status"] == "resolved"


def test_an_answered_check_in_button_changes_nothing() -> None:
    answered = replace(PROFILE, answered_messages=frozenset({5}))
    outcome = advance(None, StartCheckIn(5, 3), now=NOW, profile=answered)
    assert outcome.state is None and outcome.replies[0].template == "care/already_answered.j2"


def test_a_check_in_waits_for_an_assessment_in_progress() -> None:
    start = advance(None, StartAssessment(), now=NOW)
    outcome = advance(start.state, StartCheckIn(5, 3), now=NOW, profile=PROFILE)
    assert outcome.state is None
    assert outcome.replies[0].template == "care/finish_assessment_first.j2"


def test_a_typed_score_answers_the_open_check_in() -> None:
    open_check_in = replace(PROFILE, open_check_in=12)
    outcome = advance(None, TypedText("3/10"), now=NOW, profile=open_check_in)
    assert outcome.state.step is Step.CHECKIN_TREND
    assert outcome.state.answers["ci"] == "12"


# --- soreness, seen checks, exercises, settings --------------------------------------------------


def test_a_bare_score_outside_a_question_is_a_soreness_report_with_the_trend() -> None:
    outcome = advance(None, TypedText("2/10"), now=NOW + timedelta(hours=5), profile=PROFILE)
    assert of(RecordSoreness, outcome.effects)[0].value == 2
    assert outcome.replies[0].context["previous"] == 4


def test_sore_without_a_number_asks_for_it() -> None:
    outcome = advance(None, Command("sore"), now=NOW, profile=PROFILE)
    assert outcome.state.step is Step.SORENESS
    done = advance(outcome.state, TypedText("5"), now=NOW, profile=PROFILE)
    assert of(RecordSoreness, done.effects)[0].value == 5


def test_seen_check_yes_closes_the_episode_and_no_repeats_the_advice_once() -> None:
    seen = advance(None, AnswerSeenCheck(5, True), now=NOW, profile=PROFILE)
    assert of(ChangeEpisode, seen.effects)[0].changes == {"status": "closed"}
    not_seen = advance(None, AnswerSeenCheck(5, False), now=NOW, profile=PROFILE)
    assert [r.template for r in not_seen.replies] == [
        "care/seen_no.j2",
        "triage/outcome_home_care.j2",
    ]
    assert of(RecordCheckIn, not_seen.effects)[0].verdict == "not_seen"


def test_exercise_answers_are_logged_for_their_local_day() -> None:
    outcome = advance(None, LogExercise(NOW.date(), "too_sore"), now=NOW, profile=PROFILE)
    (log,) = of(RecordExercise, outcome.effects)
    assert (log.local_date, log.result) == (NOW.date(), "too_sore")


def test_reminder_set_up_by_offset_then_city_then_time() -> None:
    replies = setup_through(["o60", "Europe/Paris", "07:30"])
    assert replies[-1].template == "care/reminders_set.j2"
    assert replies[-1].context["zone"] == "Europe/Paris"


def test_finishing_set_up_stores_settings_and_schedules_the_next_reminder() -> None:
    start = advance(None, Command("reminders"), now=NOW, profile=PROFILE)
    state = start.state
    for text in ("Lisbon", "7:30"):
        out = advance(state, TypedText(text), now=NOW, profile=PROFILE)
        state = out.state
    settings = of(ChangeSettings, out.effects)[0].changes
    assert settings == {
        "zone": "Europe/Lisbon",
        "reminder_time": "07:30",
        "reminders_paused": False,
    }
    (reminder,) = of(ScheduleMessage, out.effects)
    assert reminder.due_at.astimezone().time() == time(7, 30) or reminder.due_at.minute == 30


def test_pause_resume_and_stop() -> None:
    paused = advance(None, Command("pause"), now=NOW, profile=PROFILE)
    assert of(ChangeSettings, paused.effects)[0].changes == {"reminders_paused": True}
    assert of(CancelMessages, paused.effects)[0].kinds == ("reminder",)
    resumed = advance(
        None, Command("resume"), now=NOW, profile=replace(PROFILE, reminders_paused=True)
    )
    assert [e.kind for e in of(ScheduleMessage, resumed.effects)] == ["reminder"]
    stopped = advance(None, Command("stop"), now=NOW, profile=PROFILE)
    assert of(CancelMessages, stopped.effects)[0].kinds == ()
    assert of(ChangeSettings, stopped.effects)[0].changes == {"followups_stopped": True}
