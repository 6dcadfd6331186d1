"""Follow-ups as pure decisions: what an assessment schedules, what each due message says and
schedules next, the check-in conversation and its verdicts, soreness reports, reminder set-up,
and the pause / resume / stop commands."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import due_messages, follow_up_schedule, triage
from flows.checkin import CheckInStep
from flows.dialog import (
    AnswerSeenCheck,
    Command,
    LogExercise,
    StartCheckIn,
    TypedText,
    advance,
)
from flows.effects import (
    CancelMessages,
    ChangeEpisode,
    ChangeSettings,
    Effect,
    OpenEpisode,
    Outcome,
    RecordCheckIn,
    RecordExercise,
    RecordSoreness,
    ScheduleMessage,
)
from flows.local_time import (
    CHECKIN_MAX_LATENESS,
    DAYTIME_GRACE,
    MIN_CHECKIN_GAP,
    is_daytime,
    local_date_of,
)
from flows.profile import CheckInView, EpisodeView, Profile
from flows.soreness import SorenessStep
from flows.types import DONE, CarePath, Disposition, OutcomeDetail, Reply
from tests.flows.conftest import play, recorded
from tests.flows.details import tap_details
from tests.scripts import GRADUAL, GRADUAL_NOS, SPRAIN, SPRAIN_NOS

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
    care_path=CarePath.SPRAIN,
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
    # The messages of this episode the tests answer: check-ins 5 and 12, seen-check 5.
    sent_check_ins=frozenset({5, 12}),
    sent_seen_checks=frozenset({5}),
)


def after_assessment(profile: Profile, outcome: Outcome) -> tuple[Effect, ...]:
    """The effects that follow the assessment an outcome recorded."""
    done = recorded(outcome)
    return follow_up_schedule.after_assessment(profile, done, triage.answers_of(done.answers))


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


def test_an_assessment_is_recorded_then_opens_its_episode_before_anything_else() -> None:
    _, home = play(*SPRAIN, *["no"] * SPRAIN_NOS)
    assessment, opened, *_ = home.effects
    assert assessment == recorded(home)
    assert opened == OpenEpisode(
        disposition=Disposition.HOME_CARE,
        location="outside",
        pain_at_assessment=4,
        assessed_at=assessment.completed_at,
        care_path=CarePath.SPRAIN,
    )
    # An emergency can end the questions before the pain score.
    _, emergency = play("none", "can't")
    (opened,) = of(OpenEpisode, emergency.effects)
    assert (opened.disposition, opened.pain_at_assessment) == (Disposition.EMERGENCY, 0)


def test_home_care_schedules_the_first_check_in_about_24_hours_later_in_daytime() -> None:
    _, outcome = play(*SPRAIN, *["no"] * SPRAIN_NOS)
    effects = after_assessment(PROFILE, outcome)
    first, reminder = of(ScheduleMessage, effects)
    assert first.kind == "checkin"
    # A reminder time chosen earlier starts with the plan: 07:00 London, the next morning.
    assert reminder.kind == "reminder" and reminder.due_at == datetime(2026, 11, 22, 7, tzinfo=UTC)
    assert first.due_at == recorded(outcome).completed_at + timedelta(hours=24)
    assert of(RecordSoreness, effects)[0].value == 4
    assert of(CancelMessages, effects)  # an older episode's follow-ups end


def test_without_a_zone_follow_ups_keep_the_time_of_day_of_the_assessment() -> None:
    night = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
    _, outcome = play(*SPRAIN, *["no"] * SPRAIN_NOS, now=night)
    (first,) = of(ScheduleMessage, after_assessment(Profile(runner_id=1), outcome))
    assert first.due_at == night + timedelta(hours=24)
    zoned = of(ScheduleMessage, after_assessment(PROFILE, outcome))[0]
    assert zoned.due_at.astimezone().hour != 23 or zoned.due_at != first.due_at


def test_see_clinician_schedules_a_seen_check_at_48_hours_and_emergency_at_24() -> None:
    _, clinician = play(*GRADUAL, *["no"] * GRADUAL_NOS)
    _, emergency = play("none", "can't")
    for outcome, hours in ((clinician, 48), (emergency, 24)):
        (check,) = of(ScheduleMessage, after_assessment(Profile(runner_id=1), outcome))
        assert check.kind == "seen_check"
        assert check.due_at == recorded(outcome).completed_at + timedelta(hours=hours)


# --- composing due messages -----------------------------------------------------------------------


def payload(n: int = 1) -> dict:
    return {"episode": follow_up_schedule.episode_key(NOW), "n": n, "zone": "Europe/London"}


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"follow_ups": (ScheduleMessage("checkin", NOW, "k"),)},
        {"replies": (Reply("care/safety_net.j2"),), "drop_reason": "late"},
        {"drop_reason": "late", "postpone_until": NOW},
        {"postpone_until": NOW, "follow_ups": (ScheduleMessage("checkin", NOW, "k"),)},
    ],
)
def test_a_due_is_exactly_one_of_sent_dropped_or_postponed(fields: dict) -> None:
    # The scheduler carries a `Due` out as it is, so one it could not carry out is refused here.
    with pytest.raises(ValueError, match=r"a (Due|postponed message)"):
        due_messages.Due(**fields)


def test_the_check_in_chain_is_24_48_72_hours_then_daily() -> None:
    dues = []
    due_at = NOW + timedelta(hours=24)
    for n in range(1, 6):
        due = due_messages.compose_due(
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
    due = due_messages.compose_due(
        "checkin", payload(), message_id=42, due_at=NOW, profile=PROFILE, now=NOW
    )
    buttons = [b for row in due.replies[0].buttons for b in row]
    assert [b.value for b in buttons] == [str(v) for v in range(11)]
    assert {(b.action, b.step) for b in buttons} == {("checkin", "42")}


def test_after_two_unanswered_check_ins_one_safety_net_and_nothing_more() -> None:
    quiet = replace(PROFILE, unanswered_checkins=2)
    due = due_messages.compose_due(
        "checkin", payload(4), message_id=9, due_at=NOW, profile=quiet, now=NOW
    )
    assert [r.template for r in due.replies] == ["care/safety_net.j2"]
    assert due.follow_ups == ()


def test_writing_again_after_the_quiet_spell_restarts_check_ins() -> None:
    quiet = replace(PROFILE, unanswered_checkins=2, upcoming=())
    outcome = advance(None, TypedText("2/10"), now=NOW, profile=quiet)
    (restart,) = of(ScheduleMessage, outcome.effects)
    assert restart.kind == "checkin" and restart.due_at > NOW


def test_a_check_in_of_a_finished_or_stopped_episode_is_dropped() -> None:
    over = replace(PROFILE, episode=replace(EPISODE, status="resolved"))
    assert due_messages.compose_due(
        "checkin", payload(), message_id=1, due_at=NOW, profile=over, now=NOW
    ).drop_reason
    stopped = replace(PROFILE, followups_stopped=True)
    assert due_messages.compose_due(
        "checkin", payload(), message_id=1, due_at=NOW, profile=stopped, now=NOW
    ).drop_reason


def test_a_daily_reminder_shows_todays_session_and_schedules_the_next_local_occurrence() -> None:
    due_at = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)  # 07:00 in London in November
    due = due_messages.compose_due(
        "reminder",
        {"zone": "Europe/London", "time": "07:00"},
        message_id=3,
        due_at=due_at,
        profile=PROFILE,
        now=due_at,
    )
    assert [r.template for r in due.replies] == ["care/reminder.j2", "triage/exercise_session.j2"]
    buttons = [[b.label for b in row] for row in due.replies[1].buttons]
    assert buttons == [["✅ Done", "⏭ Skipped"], ["😣 Too sore"]]
    (follow,) = due.follow_ups
    assert follow.due_at == due_at + timedelta(days=1)
    assert follow.key == "r7:reminder:2026-11-22:07:00"


def test_reminders_keep_local_time_across_the_spring_forward() -> None:
    profile = replace(PROFILE, zone="America/New_York", reminder_time="07:30")
    due_at = datetime(2027, 3, 13, 12, 30, tzinfo=UTC)  # 07:30 EST, the day before DST
    due = due_messages.compose_due(
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
    assert due_messages.compose_due(
        "reminder", {"time": "07:00"}, message_id=1, due_at=NOW, profile=paused, now=NOW
    ).drop_reason
    assert due_messages.compose_due(
        "reminder", {"time": "06:00"}, message_id=1, due_at=NOW, profile=PROFILE, now=NOW
    ).drop_reason


# --- the check-in conversation --------------------------------------------------------------------


def test_a_calm_check_in_asks_change_signs_and_exercises_then_thanks() -> None:
    outcome, replies = checkin_outcome(["same", "none", "normal", "all", "3", "settled"])
    assert [r.template for r in replies][-1] == "care/checkin_thanks.j2"
    assert outcome.state.step == DONE
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
    note, advice = replies[-2:]
    assert note.template == "care/checkin_escalated.j2"
    assert advice.template == "triage/outcome_see_clinician.j2"
    assert advice.context["codes"] == {"S6"}
    # The care while waiting to be seen is a tap away, for the episode's own path.
    worse_now = replace(worse, episode=replace(worse.episode, reasons=("S6",)))
    tapped = tap_details(
        _outcome,
        now=NOW,
        profile=replace(
            worse_now, episode=replace(worse_now.episode, disposition=Disposition.SEE_CLINICIAN)
        ),
    )
    _how, care, _relief = tapped[OutcomeDetail.TODO]
    assert care.template == "triage/first_days_care.j2"
    assert care.context["waiting_to_be_seen"] is True
    assert care.context["path"] == EPISODE.care_path


def test_no_improvement_five_days_after_home_care_moves_to_see_a_clinician() -> None:
    later = NOW + timedelta(hours=121)
    _outcome, replies = checkin_outcome(["same", "none", "normal", "none"], soreness=4, at=later)
    assert replies[-1].template == "triage/outcome_see_clinician.j2"
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
    start = advance(None, Command("new"), now=NOW)
    outcome = advance(start.state, StartCheckIn(5, 3), now=NOW, profile=PROFILE)
    assert outcome.state is None
    assert outcome.replies[0].template == "care/finish_assessment_first.j2"


def test_a_typed_score_answers_the_open_check_in() -> None:
    open_check_in = replace(PROFILE, open_check_in=12)
    outcome = advance(None, TypedText("3/10"), now=NOW, profile=open_check_in)
    assert outcome.state.step is CheckInStep.TREND
    assert outcome.state.answers["ci"] == "12"


# --- soreness, seen checks, exercises, settings --------------------------------------------------


def test_a_bare_score_outside_a_question_is_a_soreness_report_with_the_trend() -> None:
    outcome = advance(None, TypedText("2/10"), now=NOW + timedelta(hours=5), profile=PROFILE)
    assert of(RecordSoreness, outcome.effects)[0].value == 2
    assert outcome.replies[0].context["previous"] == 4


def test_sore_without_a_number_asks_for_it() -> None:
    outcome = advance(None, Command("sore"), now=NOW, profile=PROFILE)
    assert outcome.state.step is SorenessStep.SCORE
    done = advance(outcome.state, TypedText("5"), now=NOW, profile=PROFILE)
    assert of(RecordSoreness, done.effects)[0].value == 5


def test_seen_check_yes_offers_the_cleared_plan_and_no_repeats_the_advice_once() -> None:
    seen = advance(None, AnswerSeenCheck(5, True), now=NOW, profile=PROFILE)
    assert not of(ChangeEpisode, seen.effects)  # open until cleared or reassessed
    ((cleared,),) = seen.replies[0].buttons
    assert (cleared.action, cleared.value) == ("command", "cleared")
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
    assert of(CancelMessages, paused.effects)[0].kinds == ("reminder", "programme")
    resumed = advance(
        None, Command("resume"), now=NOW, profile=replace(PROFILE, reminders_paused=True)
    )
    assert [e.kind for e in of(ScheduleMessage, resumed.effects)] == ["reminder"]
    stopped = advance(None, Command("stop"), now=NOW, profile=PROFILE)
    assert of(CancelMessages, stopped.effects)[0].kinds == ()
    assert of(ChangeSettings, stopped.effects)[0].changes == {"followups_stopped": True}


# --- a due message decided whole: downtime, the daytime window, the safety net -------------------

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
LOS_ANGELES = "America/Los_Angeles"
SYDNEY = "Australia/Sydney"
TOKYO = "Asia/Tokyo"


def local(zone: str, *parts: int) -> datetime:
    """A wall-clock time in `zone` as a UTC instant (the first one when the clocks go back)."""
    return datetime(*parts, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def home_care(zone: str | None, assessed_at: datetime, *, check_ins=(), **changes) -> Profile:
    episode = replace(EPISODE, assessed_at=assessed_at, check_ins=check_ins)
    return replace(PROFILE, zone=zone, episode=episode, upcoming=(), **changes)


def check_in(profile: Profile, n: int, *, due_at: datetime, now: datetime, tag: str = ""):
    assert profile.episode is not None
    message = follow_up_schedule.schedule_follow_up(
        profile,
        kind="checkin",
        due_at=due_at,
        assessed_at=profile.episode.assessed_at,
        number=n,
        tag=tag,
    )
    due = due_messages.compose_due(
        "checkin", dict(message.payload), message_id=n, due_at=due_at, profile=profile, now=now
    )
    return message, due


def test_an_overdue_check_in_waits_for_the_morning_instead_of_going_out_at_night() -> None:
    # Assessed 23:00 in Berlin: the first check-in comes back to 20:00 the next evening. The
    # bot is down until 00:28 on the night the clocks spring forward (29 March 2026).
    profile = home_care(BERLIN, local(BERLIN, 2026, 3, 27, 23))
    assert profile.episode is not None
    (_, first), (_, second) = follow_up_schedule.follow_up_times(
        profile, assessed_at=profile.episode.assessed_at, disposition=Disposition.HOME_CARE
    )[:2]
    assert second == local(BERLIN, 2026, 3, 29, 20)
    assert first == local(BERLIN, 2026, 3, 28, 20)
    _, due = check_in(profile, 1, due_at=first, now=local(BERLIN, 2026, 3, 29, 0, 28))
    assert due.replies == () and due.follow_ups == () and due.drop_reason is None
    assert due.postpone_until == local(BERLIN, 2026, 3, 29, 9)  # 07:00 UTC, summer time
    # In the morning it goes out, whether the scheduler moved its due time or kept it; the
    # second (20:00 that day by the assessment's clock) comes the next day instead.
    for kept_or_moved in (first, due.postpone_until):
        _, sent = check_in(profile, 1, due_at=kept_or_moved, now=due.postpone_until)
        assert sent.replies[0].template == "care/checkin.j2"
        (follow,) = sent.follow_ups
        assert (follow.payload["n"], follow.due_at) == (2, local(BERLIN, 2026, 3, 30, 18))


def test_a_postponed_daily_check_in_keeps_a_days_gap_to_the_next() -> None:
    # New York, the night the clocks go back (1 November 2026): yesterday's 18:00 check-in is
    # picked up at 01:30 EST and waits for 09:00; the next one is not the same evening.
    profile = home_care(NEW_YORK, local(NEW_YORK, 2026, 10, 27, 18))
    due_at = local(NEW_YORK, 2026, 10, 31, 18)
    night = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, the second 01:30
    _, due = check_in(profile, 5, due_at=due_at, now=night)
    assert (
        due.postpone_until
        == local(NEW_YORK, 2026, 11, 1, 9)
        == datetime(2026, 11, 1, 14, tzinfo=UTC)
    )
    _, sent = check_in(profile, 5, due_at=due_at, now=due.postpone_until)
    (follow,) = sent.follow_ups
    assert follow.due_at == local(NEW_YORK, 2026, 11, 2, 18)
    assert follow.due_at - due.postpone_until >= MIN_CHECKIN_GAP


def test_a_first_check_in_held_for_the_morning_is_not_followed_the_same_evening() -> None:
    # Assessed at 23:00 in Tokyo before the zone was known (set with the reminder right after):
    # check-in 1 fell due at 23:00 the next night and went out at 09:00; the assessment's
    # 48-hour one, brought back to 20:00, would be the same day. The next comes a day on.
    assessed_at = local(TOKYO, 2026, 3, 5, 23)
    profile = home_care(TOKYO, assessed_at)
    morning = local(TOKYO, 2026, 3, 7, 9)
    _, sent = check_in(profile, 1, due_at=assessed_at + timedelta(hours=24), now=morning)
    assert sent.replies[0].template == "care/checkin.j2"
    (follow,) = sent.follow_ups
    assert follow.payload["n"] == 2
    assert follow.due_at - morning >= MIN_CHECKIN_GAP
    assert follow.due_at.astimezone(ZoneInfo(TOKYO)).date() == date(2026, 3, 8)


def test_a_check_in_a_few_minutes_late_at_the_end_of_the_day_still_goes_out() -> None:
    profile = home_care(BERLIN, local(BERLIN, 2026, 7, 6, 20))
    due_at = local(BERLIN, 2026, 7, 10, 20)
    _, on_time = check_in(profile, 5, due_at=due_at, now=due_at + timedelta(seconds=1))
    assert on_time.replies and on_time.postpone_until is None
    _, late = check_in(profile, 5, due_at=due_at, now=due_at + DAYTIME_GRACE + timedelta(minutes=1))
    assert late.postpone_until == local(BERLIN, 2026, 7, 11, 9)


def test_a_check_in_after_a_long_outage_is_dropped_and_the_chain_picks_up_now() -> None:
    profile = home_care(BERLIN, local(BERLIN, 2026, 3, 20, 9))
    due_at = local(BERLIN, 2026, 3, 26, 18)
    now = local(BERLIN, 2026, 3, 29, 10)  # three days later, after the spring forward
    message, due = check_in(profile, 7, due_at=due_at, now=now)
    assert due.drop_reason == due_messages.DROP_CHECK_IN_LATE and due.replies == ()
    (follow,) = due.follow_ups
    # Not a catch-up of every missed day: the newest check-in that is not too late itself.
    assert follow.due_at == local(BERLIN, 2026, 3, 28, 18)
    assert follow.payload["n"] == 9 and follow.key != message.key
    _, sent = check_in(profile, 9, due_at=follow.due_at, now=now)
    assert sent.replies and sent.follow_ups[0].due_at == local(BERLIN, 2026, 3, 30, 18)


def test_a_check_in_whose_morning_comes_after_the_next_one_is_dropped_for_it() -> None:
    # Assessed in Sydney, then the runner moves to Los Angeles: the first check-in (09:00 in
    # Sydney) is 02:24 there, and by 09:00 in Los Angeles the second is due.
    assessed_at = datetime(2026, 3, 28, 13, 29, tzinfo=UTC)
    sydney = home_care(SYDNEY, assessed_at)
    (_, first), *_ = follow_up_schedule.follow_up_times(
        sydney, assessed_at=assessed_at, disposition=Disposition.HOME_CARE
    )
    moved = replace(sydney, zone=LOS_ANGELES)
    _, due = check_in(moved, 1, due_at=first, now=local(LOS_ANGELES, 2026, 3, 30, 2, 24))
    assert due.drop_reason == due_messages.DROP_CHECK_IN_SUPERSEDED
    (follow,) = due.follow_ups
    assert follow.payload["n"] == 2 and follow.due_at == local(LOS_ANGELES, 2026, 3, 30, 9)


def test_without_a_zone_a_check_in_goes_out_at_any_hour_unless_too_late() -> None:
    night = datetime(2026, 11, 22, 3, tzinfo=UTC)
    profile = home_care(None, night - timedelta(hours=24))
    _, due = check_in(profile, 1, due_at=night, now=night + timedelta(hours=2))
    assert due.replies and due.postpone_until is None
    _, late = check_in(profile, 1, due_at=night, now=night + CHECKIN_MAX_LATENESS + timedelta(1))
    assert late.drop_reason == due_messages.DROP_CHECK_IN_LATE and len(late.follow_ups) == 1


def test_lateness_is_elapsed_time_whatever_zone_the_times_are_given_in() -> None:
    # 14:00 EST to 11:00 EDT the next day reads 21 h on the wall clock but is 20 h elapsed.
    zone = ZoneInfo(NEW_YORK)
    profile = home_care(None, local(NEW_YORK, 2026, 3, 3, 14))
    due_at = datetime(2026, 3, 7, 14, tzinfo=zone)
    _, due = check_in(profile, 5, due_at=due_at, now=datetime(2026, 3, 8, 11, tzinfo=zone))
    assert due.replies and due.drop_reason is None


def test_a_seen_check_is_sent_however_late_and_at_any_hour() -> None:
    profile = replace(
        home_care(BERLIN, local(BERLIN, 2026, 3, 20, 9)),
        episode=replace(EPISODE, disposition=Disposition.SEE_CLINICIAN),
    )
    due = due_messages.compose_due(
        "seen_check",
        payload(),
        message_id=3,
        due_at=local(BERLIN, 2026, 3, 22, 9),
        profile=profile,
        now=local(BERLIN, 2026, 3, 27, 2),
    )
    assert [r.template for r in due.replies] == ["care/seen_check.j2"]


def reminder(profile: Profile, *, due_at: datetime, now: datetime) -> due_messages.Due:
    return due_messages.compose_due(
        "reminder",
        {"zone": profile.zone, "time": profile.reminder_time},
        message_id=1,
        due_at=due_at,
        profile=profile,
        now=now,
    )


def test_yesterdays_reminder_is_dropped_and_todays_still_comes() -> None:
    profile = home_care(BERLIN, local(BERLIN, 2026, 3, 20, 9))
    due = reminder(
        profile, due_at=local(BERLIN, 2026, 3, 28, 7), now=local(BERLIN, 2026, 3, 29, 6, 30)
    )
    assert due.drop_reason == due_messages.DROP_REMINDER_STALE and due.replies == ()
    (follow,) = due.follow_ups
    assert follow.due_at == local(BERLIN, 2026, 3, 29, 7) == datetime(2026, 3, 29, 5, tzinfo=UTC)
    assert follow.key == "r7:reminder:2026-03-29:07:00"


@pytest.mark.parametrize(
    ("due_at", "now", "zone", "sent"),
    [
        # earlier today, local time
        (
            datetime(2026, 1, 14, 7, 30, tzinfo=UTC),
            datetime(2026, 1, 14, 23, tzinfo=UTC),
            "Europe/London",
            True,
        ),
        # yesterday late evening, picked up just after midnight: stale
        (
            datetime(2026, 1, 13, 23, 50, tzinfo=UTC),
            datetime(2026, 1, 14, 0, 10, tzinfo=UTC),
            "Europe/London",
            False,
        ),
        # different UTC dates, the same Sydney date (10:30 and 16:00 on 11 January)
        (
            datetime(2026, 1, 10, 23, 30, tzinfo=UTC),
            datetime(2026, 1, 11, 5, tzinfo=UTC),
            SYDNEY,
            True,
        ),
        # the same UTC date, different New York dates (23:30 on 10 January, 00:30 on 11 January)
        (
            datetime(2026, 1, 11, 4, 30, tzinfo=UTC),
            datetime(2026, 1, 11, 5, 30, tzinfo=UTC),
            NEW_YORK,
            False,
        ),
    ],
)
def test_a_reminder_is_sent_only_on_its_own_local_day(
    due_at: datetime, now: datetime, zone: str, sent: bool
) -> None:
    time_of_day = due_at.astimezone(ZoneInfo(zone)).strftime("%H:%M")
    profile = home_care(zone, due_at - timedelta(days=3), reminder_time=time_of_day)
    due = reminder(profile, due_at=due_at, now=now)
    assert bool(due.replies) is sent
    assert due.drop_reason == (None if sent else due_messages.DROP_REMINDER_STALE)
    (follow,) = due.follow_ups
    assert local_date_of(follow.due_at, zone) >= local_date_of(now, zone)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        due_messages.compose_due(
            "checkin",
            payload(),
            message_id=1,
            due_at=datetime(2026, 11, 22, 9),  # noqa: DTZ001
            profile=PROFILE,
            now=NOW,
        )


def test_after_a_week_down_the_reminders_pick_up_today_not_day_by_day() -> None:
    profile = home_care(NEW_YORK, local(NEW_YORK, 2026, 10, 20, 9))
    now = local(NEW_YORK, 2026, 11, 1, 12)  # the day the clocks go back
    due = reminder(profile, due_at=local(NEW_YORK, 2026, 10, 25, 7), now=now)
    (follow,) = due.follow_ups
    assert follow.key == "r7:reminder:2026-11-01:07:00"
    # Later the same day it is still its own day's reminder, so it goes out.
    today = reminder(profile, due_at=follow.due_at, now=now)
    assert today.replies and today.follow_ups[0].key == "r7:reminder:2026-11-02:07:00"


def test_after_the_safety_net_reminders_stay_quiet_but_chained_until_the_runner_writes() -> None:
    quiet = home_care(BERLIN, local(BERLIN, 2026, 3, 20, 9), unanswered_checkins=3)
    assert due_messages.safety_net_sent(quiet)
    due_at = local(BERLIN, 2026, 3, 25, 7)
    for day in range(25, 31):
        due = reminder(quiet, due_at=due_at, now=due_at)
        assert due.drop_reason == due_messages.DROP_QUIET and due.replies == ()
        (follow,) = due.follow_ups
        assert local_date_of(follow.due_at, BERLIN) == date(2026, 3, day + 1)
        due_at = follow.due_at
    wrote = replace(quiet, unanswered_checkins=0)
    again = reminder(wrote, due_at=due_at, now=due_at)
    assert again.replies[0].template == "care/reminder.j2" and again.follow_ups


def test_after_the_safety_net_check_ins_end_until_the_runner_writes_then_start_again() -> None:
    assessed_at = local(BERLIN, 2026, 3, 20, 9)
    quiet = home_care(BERLIN, assessed_at, unanswered_checkins=3)
    due_at = local(BERLIN, 2026, 3, 24, 18)
    _, due = check_in(quiet, 4, due_at=due_at, now=due_at)
    assert due == due_messages.Due(drop_reason=due_messages.DROP_QUIET)
    # The runner writes: a new chain starts, and it goes on.
    now = due_at + timedelta(days=1)
    wrote = advance(None, TypedText("2/10"), now=now, profile=quiet)
    (restart,) = of(ScheduleMessage, wrote.effects)
    assert restart.kind == "checkin"
    answering = replace(quiet, unanswered_checkins=0)
    sent = due_messages.compose_due(
        "checkin",
        dict(restart.payload),
        message_id=40,
        due_at=restart.due_at,
        profile=answering,
        now=restart.due_at,
    )
    assert sent.replies[0].template == "care/checkin.j2"
    (follow,) = sent.follow_ups
    assert follow.kind == "checkin" and follow.due_at > restart.due_at


def test_a_chain_started_again_never_reuses_a_key_of_an_earlier_chain() -> None:
    # One check-in answered, then #2 and #3 unanswered and #4 the safety net: writing again
    # starts at #5. Its successor #6 must not be the earlier chain's #6, or scheduling it
    # would be a no-op and the new chain would end there.
    assessed_at = local(BERLIN, 2026, 3, 20, 9)
    answered = (CheckInView(assessed_at + timedelta(days=1), 3, "same"),)
    quiet = home_care(BERLIN, assessed_at, check_ins=answered, unanswered_checkins=3)
    now = local(BERLIN, 2026, 3, 30, 12)
    (restart,) = follow_up_schedule.restart_check_ins(quiet, now=now)
    assert restart.payload["n"] == 5
    sent = due_messages.compose_due(
        "checkin",
        dict(restart.payload),
        message_id=50,
        due_at=restart.due_at,
        profile=replace(quiet, unanswered_checkins=0),
        now=restart.due_at,
    )
    (follow,) = sent.follow_ups
    earlier_sixth = follow_up_schedule.schedule_follow_up(
        quiet, kind="checkin", due_at=restart.due_at, assessed_at=assessed_at, number=6
    )
    assert follow.payload["n"] == 6 and follow.key != earlier_sixth.key


ZONES = (BERLIN, NEW_YORK, LOS_ANGELES, SYDNEY, "Asia/Kolkata", "Pacific/Chatham", None)


@settings(max_examples=400, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    assessed_minutes=st.integers(0, 2 * 365 * 24 * 60),
    due_minutes=st.integers(20 * 60, 10 * 24 * 60),
    late_minutes=st.integers(0, 4 * 24 * 60),
    number=st.integers(1, 6),
    unanswered=st.integers(0, 3),
)
def test_a_due_check_in_is_sent_in_daytime_postponed_into_it_or_dropped_for_the_next(
    zone, assessed_minutes, due_minutes, late_minutes, number, unanswered
) -> None:
    assessed_at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=assessed_minutes)
    due_at = assessed_at + timedelta(minutes=due_minutes)
    now = due_at + timedelta(minutes=late_minutes)
    profile = home_care(zone, assessed_at, unanswered_checkins=unanswered)
    message, due = check_in(profile, number, due_at=due_at, now=now)

    def carries_the_chain_on(follow_ups) -> None:
        (follow,) = follow_ups
        assert follow.kind == "checkin" and follow.key != message.key
        assert follow.payload["n"] > number
        assert now - follow.due_at <= CHECKIN_MAX_LATENESS

    if due.replies:
        assert now - due_at <= CHECKIN_MAX_LATENESS
        if zone is not None:
            assert is_daytime(now, zone=zone) or (
                now - due_at <= DAYTIME_GRACE and is_daytime(due_at, zone=zone)
            )
        if due.replies[0].template == "care/safety_net.j2":
            assert unanswered == 2 and due.follow_ups == ()
        else:
            assert unanswered < 2
            carries_the_chain_on(due.follow_ups)
            assert due.follow_ups[0].due_at > now
            if zone is not None:  # a day's change to ask about, however late this one went
                assert due.follow_ups[0].due_at - now >= MIN_CHECKIN_GAP
    elif due.postpone_until is not None:
        assert zone is not None and due.follow_ups == ()
        assert now < due.postpone_until and due.postpone_until - due_at <= CHECKIN_MAX_LATENESS
        assert due.postpone_until.astimezone(ZoneInfo(zone)).time() == time(9, 0)
    elif due.drop_reason == due_messages.DROP_QUIET:
        assert unanswered > 2 and due.follow_ups == ()
    else:
        assert due.drop_reason in (
            due_messages.DROP_CHECK_IN_LATE,
            due_messages.DROP_CHECK_IN_SUPERSEDED,
        )
        carries_the_chain_on(due.follow_ups)


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    assessed_minutes=st.integers(0, 365 * 24 * 60),
    down_after_minutes=st.integers(0, 6 * 24 * 60),
    down_minutes=st.integers(0, 5 * 24 * 60),
    lag_minutes=st.integers(0, 30),
    moves_due=st.booleans(),
)
def test_downtime_never_ends_a_check_in_chain_nor_sends_one_at_night(
    zone, assessed_minutes, down_after_minutes, down_minutes, lag_minutes, moves_due
) -> None:
    """A scheduler that is down for a while, then picks each message up a little late: the
    runner, who answers every check-in, keeps getting them, in daytime, two weeks on."""
    assessed_at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=assessed_minutes)
    down_from = assessed_at + timedelta(minutes=down_after_minutes)
    down_until = down_from + timedelta(minutes=down_minutes)
    profile = home_care(zone, assessed_at)
    (kind, due_at), *_ = follow_up_schedule.follow_up_times(
        profile, assessed_at=assessed_at, disposition=Disposition.HOME_CARE
    )
    message = follow_up_schedule.schedule_follow_up(
        profile, kind=kind, due_at=due_at, assessed_at=assessed_at, number=1
    )
    sent: list[datetime] = []
    ready_at = due_at  # when the scheduler may pick the message up: due, or postponed to
    for _ in range(100):
        picked_up = ready_at + timedelta(minutes=lag_minutes)
        if down_from <= picked_up < down_until:
            picked_up = down_until
        due = due_messages.compose_due(
            "checkin",
            dict(message.payload),
            message_id=1,
            due_at=due_at,
            profile=profile,
            now=picked_up,
        )
        if due.postpone_until is not None:
            assert due.postpone_until > picked_up
            ready_at = due.postpone_until
            due_at = due.postpone_until if moves_due else due_at
            continue
        if due.replies:
            sent.append(picked_up)
            if zone is not None:
                assert is_daytime(picked_up, zone=zone) or (
                    picked_up - due_at <= DAYTIME_GRACE and is_daytime(due_at, zone=zone)
                )
        (message,) = due.follow_ups
        due_at = ready_at = message.due_at
        if due_at > down_until + timedelta(days=14):
            break
    assert sent and sent[-1] > down_until + timedelta(days=10)
