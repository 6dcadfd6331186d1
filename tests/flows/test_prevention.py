"""The balance programme after recovery (flows.prevention): the offer when an episode resolves,
opting in and out, the session calendar and levels, logging and adherence, and the session-day
reminders at the runner's local time (across a change of the clocks) until the closing
message."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from flows import prevention
from flows.dialog import advance
from flows.due_messages import DROP_PROGRAMME_OVER, DROP_REMINDER_OFF, compose_due
from flows.effects import (
    CancelMessages,
    RecordProgrammeSession,
    ScheduleMessage,
    StartProgramme,
    StopProgramme,
)
from flows.events import ChooseProgramme, Command, LogProgrammeSession, event_for_button
from flows.local_time import FollowUpKind
from flows.profile import CheckInView, Profile, ProgrammeView
from flows.types import (
    BUTTON_LABEL_LIMIT,
    ButtonAction,
    CarePath,
    EpisodeStatus,
    ExerciseResult,
    ProgrammeChoice,
    ProgrammeStatus,
    Reply,
)
from tests.flows.test_follow_ups import EPISODE, PROFILE, checkin_through

BERLIN = "Europe/Berlin"
# Monday 16 March 2026, 18:00 in Berlin (UTC+1); the clocks go forward on Sunday 29 March.
OPTED_IN = datetime(2026, 3, 16, 17, 0, tzinfo=UTC)
RESOLVED = replace(EPISODE, status=EpisodeStatus.RESOLVED)
RUNNER = replace(PROFILE, zone=BERLIN, reminder_time="07:30", episode=RESOLVED, upcoming=())


def of(kind: type, effects: tuple) -> list:
    return [e for e in effects if isinstance(e, kind)]


def running_profile(first_day: date = date(2026, 3, 16), **changes) -> Profile:
    programme = ProgrammeView(
        started_at=OPTED_IN, first_day=first_day, status=ProgrammeStatus.ACTIVE
    )
    return replace(RUNNER, programme=replace(programme, **changes))


# --- the calendar -----------------------------------------------------------------------------


def test_three_session_days_a_week_for_eight_weeks_with_a_rest_day_after_each():
    days = prevention.session_days(date(2026, 3, 16))
    assert len(days) == 24
    assert days[:4] == (date(2026, 3, 16), date(2026, 3, 18), date(2026, 3, 20), date(2026, 3, 23))
    assert days[-1] == date(2026, 3, 16) + timedelta(weeks=7, days=4)
    for week in range(8):
        in_week = [d for d in days if prevention.week_of(days[0], d) == week + 1]
        assert len(in_week) == 3
    assert all((b - a).days >= 2 for a, b in pairwise(days))


def test_levels_rise_with_the_weeks():
    assert [prevention.level_for_week(w) for w in range(1, 9)] == [1, 1, 2, 2, 2, 3, 3, 3]


# --- the offer -------------------------------------------------------------------------------


def test_the_resolved_check_in_offers_the_programme_with_one_tap():
    history = replace(
        EPISODE, check_ins=(CheckInView(OPTED_IN, 1, "better"), CheckInView(OPTED_IN, 0, "better"))
    )
    replies = checkin_through(
        ["better", "none", "normal", "none"], soreness=1, profile=replace(PROFILE, episode=history)
    )
    resolved = next(r for r in replies if r.template == "care/resolved.j2")
    (row,) = resolved.buttons
    assert [(b.action, b.value) for b in row] == [(ButtonAction.PROGRAMME, ProgrammeChoice.START)]
    assert resolved.context["brace"] is True  # a sprain


def test_the_brace_advice_is_only_for_a_sprain_or_an_unstable_ankle():
    for path in CarePath:
        profile = replace(RUNNER, episode=replace(RESOLVED, care_path=path))
        reply = prevention.resolved_reply(profile, {})
        assert reply.context["brace"] is (path in (CarePath.SPRAIN, CarePath.INSTABILITY))


def test_no_offer_while_a_programme_runs():
    reply = prevention.resolved_reply(running_profile(), {})
    assert not reply.context["offer"] and not reply.buttons


# --- opting in and out ------------------------------------------------------------------------


def test_opting_in_starts_today_and_schedules_the_next_session_day_at_the_reminder_time():
    outcome = advance(None, ChooseProgramme(ProgrammeChoice.START), now=OPTED_IN, profile=RUNNER)
    (started,) = of(StartProgramme, outcome.effects)
    assert started.first_day == date(2026, 3, 16)
    (reminder,) = of(ScheduleMessage, outcome.effects)
    # 07:30 today is over, so the next reminder is Wednesday's, the second session day.
    local = reminder.due_at.astimezone(ZoneInfo(BERLIN))
    assert (local.date(), local.time()) == (date(2026, 3, 18), time(7, 30))
    assert reminder.kind == FollowUpKind.PROGRAMME
    assert [r.template for r in outcome.replies] == [
        "prevention/started.j2",
        "prevention/session.j2",
    ]
    assert outcome.replies[1].context["number"] == 1


def test_without_a_reminder_time_it_starts_without_reminders():
    runner = replace(RUNNER, reminder_time=None)
    outcome = prevention.start(runner, now=OPTED_IN)
    assert of(StartProgramme, outcome.effects) and not of(ScheduleMessage, outcome.effects)
    assert outcome.replies[0].context["has_reminders"] is False


def test_it_starts_only_after_the_episode_resolved_and_only_once():
    active = replace(RUNNER, episode=EPISODE)
    assert prevention.start(active, now=OPTED_IN).replies[0].template == "prevention/not_yet.j2"
    again = prevention.start(running_profile(), now=OPTED_IN + timedelta(days=3))
    assert again.replies[0].template == "prevention/already_running.j2"
    assert not again.effects


def test_stopping_cancels_its_reminders():
    outcome = advance(
        None, ChooseProgramme(ProgrammeChoice.STOP), now=OPTED_IN, profile=running_profile()
    )
    assert of(StopProgramme, outcome.effects)
    assert of(CancelMessages, outcome.effects)[0].kinds == (FollowUpKind.PROGRAMME,)
    nothing = prevention.stop(RUNNER, now=OPTED_IN)
    assert nothing.replies[0].template == "prevention/none_running.j2" and not nothing.effects


def test_programme_buttons_round_trip_to_their_events():
    session = prevention.session_reply(running_profile().programme, date(2026, 3, 18))
    done = session.buttons[0][0]
    assert event_for_button(done, 0) == LogProgrammeSession(date(2026, 3, 18), ExerciseResult.DONE)
    assert event_for_button(prevention.STOP_BUTTON, 0) == ChooseProgramme(ProgrammeChoice.STOP)


# --- logging and adherence --------------------------------------------------------------------


def test_a_session_day_is_logged_and_other_days_are_stale():
    profile = running_profile()
    now = datetime(2026, 3, 18, 8, 0, tzinfo=UTC)
    logged = prevention.log_session(
        profile, day=date(2026, 3, 18), result=ExerciseResult.DONE, now=now
    )
    assert of(RecordProgrammeSession, logged.effects)[0].local_date == date(2026, 3, 18)
    assert logged.replies[0].context["done"] == 1
    assert logged.replies[0].context["planned"] == 2  # Monday's (not done) and today's
    for day in (date(2026, 3, 17), date(2026, 3, 20), date(2026, 2, 1)):
        stale = prevention.log_session(profile, day=day, result=ExerciseResult.DONE, now=now)
        assert not stale.effects, day
    stopped = running_profile(status=ProgrammeStatus.STOPPED)
    assert not prevention.log_session(
        stopped, day=date(2026, 3, 18), result=ExerciseResult.DONE, now=now
    ).effects


def test_adherence_counts_done_sessions_out_of_the_days_over_so_far():
    programme = running_profile(
        sessions=(
            (date(2026, 3, 16), "done"),
            (date(2026, 3, 18), "skipped"),
            (date(2026, 3, 23), "done"),
        )
    ).programme
    # Tuesday 24 March: four session days are over (16, 18, 20, 23), two done.
    figures = prevention.adherence(programme, date(2026, 3, 24))
    assert (figures.done, figures.planned, figures.percent) == (2, 4, 50)
    # On a session day not logged yet, that day does not count against the runner.
    assert prevention.adherence(programme, date(2026, 3, 20)).planned == 2
    assert prevention.adherence(programme, date(2026, 3, 16)).planned == 1
    assert prevention.adherence(programme, date(2026, 6, 1)).planned == 24


def test_status_shows_the_week_and_adherence():
    profile = running_profile(sessions=((date(2026, 3, 16), "done"),))
    outcome = advance(
        None, Command("status"), now=datetime(2026, 3, 19, 12, tzinfo=UTC), profile=profile
    )
    programme = outcome.replies[0].context["programme"]
    assert (programme["week"], programme["done"], programme["planned"]) == (1, 1, 2)
    assert programme["next_day"] == date(2026, 3, 20)
    assert programme["published_percent"] == 73


def test_plan_shows_todays_session_or_the_next_session_day():
    profile = running_profile()
    on_session_day = prevention.plan_replies(profile, now=datetime(2026, 3, 18, 12, tzinfo=UTC))
    assert [r.template for r in on_session_day] == ["prevention/session.j2"]
    rest = prevention.plan_replies(profile, now=datetime(2026, 3, 19, 12, tzinfo=UTC))
    assert rest[0].template == "prevention/rest_day.j2"
    assert rest[0].context["next_day"] == date(2026, 3, 20)
    assert prevention.plan_replies(RUNNER, now=OPTED_IN) == ()


# --- reminders on session days ----------------------------------------------------------------


def chain(profile: Profile, first: ScheduleMessage) -> list[tuple[ScheduleMessage, tuple]]:
    """Every reminder of the programme, each composed at its due time (a fake clock)."""
    sent = []
    message: ScheduleMessage | None = first
    while message is not None:
        due = compose_due(
            message.kind,
            dict(message.payload),
            message_id=1,
            due_at=message.due_at,
            profile=profile,
            now=message.due_at + timedelta(seconds=5),
        )
        sent.append((message, due.replies))
        message = due.follow_ups[0] if due.follow_ups else None
    return sent


def test_reminders_fall_on_session_days_at_the_local_time_across_a_change_of_the_clocks():
    profile = running_profile()
    first = prevention.next_programme_reminder(profile, after=OPTED_IN)
    assert first is not None
    sent = chain(profile, first)
    days = prevention.session_days(date(2026, 3, 16))
    sessions = [(m, r) for m, r in sent if not m.payload["end"]]
    # Session 1 was shown at opt-in (its reminder time was already over); 23 reminders follow.
    assert [m.due_at.astimezone(ZoneInfo(BERLIN)).date() for m, _ in sessions] == list(days[1:])
    for message, replies in sessions:
        local = message.due_at.astimezone(ZoneInfo(BERLIN))
        assert local.time() == time(7, 30), local
        assert [r.template for r in replies] == ["prevention/reminder.j2", "prevention/session.j2"]
    offsets = {m.due_at.astimezone(ZoneInfo(BERLIN)).utcoffset() for m, _ in sessions}
    assert offsets == {timedelta(hours=1), timedelta(hours=2)}  # before and after 29 March
    end, replies = sent[-1]
    assert end.payload["end"] is True
    assert end.due_at.astimezone(ZoneInfo(BERLIN)).date() == days[-1] + timedelta(days=1)
    assert [r.template for r in replies] == ["prevention/finished.j2"]


def test_after_downtime_the_chain_skips_the_session_days_that_are_over():
    profile = running_profile()
    first = prevention.next_programme_reminder(profile, after=OPTED_IN)
    assert first is not None
    late = datetime(2026, 3, 24, 12, tzinfo=UTC)
    due = compose_due(
        first.kind,
        dict(first.payload),
        message_id=1,
        due_at=first.due_at,
        profile=profile,
        now=late,
    )
    assert due.drop_reason is not None
    (follow,) = due.follow_ups
    assert follow.due_at.astimezone(ZoneInfo(BERLIN)).date() == date(2026, 3, 25)


def test_a_stopped_programme_or_a_changed_time_drops_its_reminder():
    profile = running_profile()
    first = prevention.next_programme_reminder(profile, after=OPTED_IN)
    assert first is not None

    def compose(p: Profile):
        return compose_due(
            first.kind,
            dict(first.payload),
            message_id=1,
            due_at=first.due_at,
            profile=p,
            now=first.due_at,
        )

    stopped = replace(profile, programme=replace(profile.programme, status="stopped"))
    assert compose(stopped).drop_reason == DROP_PROGRAMME_OVER
    assert compose(replace(profile, reminder_time="08:00")).drop_reason == DROP_REMINDER_OFF
    assert compose(replace(profile, reminders_paused=True)).drop_reason == DROP_REMINDER_OFF


def test_pause_resume_and_a_new_reminder_time_move_the_programme_reminders():
    profile = running_profile()
    paused = advance(None, Command("pause"), now=OPTED_IN, profile=profile)
    assert FollowUpKind.PROGRAMME in of(CancelMessages, paused.effects)[0].kinds
    resumed = advance(
        None, Command("resume"), now=OPTED_IN, profile=replace(profile, reminders_paused=True)
    )
    kinds = [m.kind for m in of(ScheduleMessage, resumed.effects)]
    assert FollowUpKind.PROGRAMME in kinds


def prevention_replies() -> list[Reply]:
    """One reply of every programme template, for the template tests."""
    profile = running_profile(sessions=((date(2026, 3, 16), "done"),))
    wed = datetime(2026, 3, 18, 12, tzinfo=UTC)
    replies = [
        prevention.resolved_reply(RUNNER, {}),
        *prevention.start(RUNNER, now=OPTED_IN).replies,
        *prevention.start(replace(RUNNER, reminder_time=None), now=OPTED_IN).replies,
        *prevention.start(profile, now=wed).replies,
        *prevention.start(replace(RUNNER, episode=EPISODE), now=wed).replies,
        *prevention.stop(profile, now=wed).replies,
        *prevention.stop(RUNNER, now=wed).replies,
        *prevention.plan_replies(profile, now=wed),
        *prevention.plan_replies(profile, now=wed + timedelta(days=1)),
        prevention.finished_reply(profile.programme, date(2026, 6, 1)),
        *advance(None, Command("status"), now=wed, profile=profile).replies,
    ]
    for result in ExerciseResult:
        replies += prevention.log_session(
            profile, day=date(2026, 3, 18), result=result, now=wed
        ).replies
    replies += prevention.log_session(
        profile,
        day=date(2026, 5, 8),
        result=ExerciseResult.DONE,
        now=datetime(2026, 5, 8, tzinfo=UTC),
    ).replies
    first = prevention.next_programme_reminder(profile, after=OPTED_IN)
    assert first is not None
    replies += compose_due(
        first.kind,
        dict(first.payload),
        message_id=1,
        due_at=first.due_at,
        profile=profile,
        now=first.due_at,
    ).replies
    return replies


def test_every_programme_button_label_fits_a_phone():
    for reply in prevention_replies():
        for row in reply.buttons:
            for button in row:
                assert len(button.label) <= BUTTON_LABEL_LIMIT, button.label
