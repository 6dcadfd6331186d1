"""Buttons name what they answer (a message id, a day), and a runner can forge any of them: a
check-in, a seen-check or an exercise log is taken only when that message really went out to
the runner for their current episode and is still open, or that day could have had a reminder.
Anything else gets the "already answered" note and changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from flows import runner_commands
from flows.checkin import CheckInStep
from flows.dialog import AnswerSeenCheck, LogExercise, StartCheckIn, advance
from flows.effects import ChangeEpisode, RecordCheckIn, RecordExercise
from flows.events import event_for_button
from flows.profile import EpisodeView, Profile
from flows.types import Button, CarePath, Disposition
from tests.flows.test_follow_ups import EPISODE, NOW, PROFILE

ALREADY_ANSWERED = "care/already_answered.j2"


def stale(outcome) -> bool:
    """Nothing stored, nothing changed, and the runner told the button no longer applies."""
    return (
        outcome.state is None
        and outcome.effects == ()
        and [r.template for r in outcome.replies] == [ALREADY_ANSWERED]
    )


def emergency(profile: Profile) -> Profile:
    return replace(
        profile, episode=replace(EPISODE, disposition=Disposition.EMERGENCY, reasons=("E1",))
    )


# --- check-ins ------------------------------------------------------------------------------------


def test_a_check_in_sent_for_this_episode_starts_the_check_in() -> None:
    outcome = advance(None, StartCheckIn(5, 3), now=NOW, profile=PROFILE)
    assert outcome.state.step is CheckInStep.TREND
    assert outcome.state.answers["ci"] == "5"


def test_a_check_in_id_never_sent_to_this_runner_is_stale() -> None:
    # Another runner's message, an earlier episode's, or one that was never sent at all.
    assert stale(advance(None, StartCheckIn(999, 3), now=NOW, profile=PROFILE))


def test_a_check_in_cannot_be_started_on_an_emergency_episode() -> None:
    """Even with a check-in of this episode still open (the advice moved on after it)."""
    assert stale(advance(None, StartCheckIn(5, 3), now=NOW, profile=emergency(PROFILE)))
    clinician = replace(PROFILE, episode=replace(EPISODE, disposition=Disposition.SEE_CLINICIAN))
    assert stale(advance(None, StartCheckIn(5, 3), now=NOW, profile=clinician))


def test_a_check_in_of_a_resolved_episode_or_with_no_episode_is_stale() -> None:
    resolved = replace(PROFILE, episode=replace(EPISODE, status="resolved"))
    assert stale(advance(None, StartCheckIn(5, 3), now=NOW, profile=resolved))
    assert stale(advance(None, StartCheckIn(5, 3), now=NOW, profile=replace(PROFILE, episode=None)))


def test_an_answered_check_in_is_stale_even_though_it_was_sent() -> None:
    answered = replace(PROFILE, answered_messages=frozenset({5}))
    assert stale(advance(None, StartCheckIn(5, 3), now=NOW, profile=answered))


# --- seen-checks ----------------------------------------------------------------------------------


def test_a_seen_check_id_never_sent_cannot_close_the_episode() -> None:
    for seen in (True, False):
        assert stale(advance(None, AnswerSeenCheck(999, seen), now=NOW, profile=emergency(PROFILE)))


def test_a_check_in_id_is_not_a_seen_check() -> None:
    """Check-in 12 went out to the runner, but "were you seen?" was never asked on it."""
    assert stale(advance(None, AnswerSeenCheck(12, True), now=NOW, profile=emergency(PROFILE)))


def test_the_sent_seen_check_is_answered_once() -> None:
    profile = emergency(PROFILE)
    outcome = advance(None, AnswerSeenCheck(5, True), now=NOW, profile=profile)
    # The episode stays open for a clearance (flows.clearance) until a new assessment.
    assert not [e for e in outcome.effects if isinstance(e, ChangeEpisode)]
    (record,) = [e for e in outcome.effects if isinstance(e, RecordCheckIn)]
    assert record.answers == {"ci": "5", "seen": "y"}
    answered = replace(profile, answered_messages=frozenset({5}))
    assert stale(advance(None, AnswerSeenCheck(5, True), now=NOW, profile=answered))


def test_a_seen_check_of_an_episode_no_longer_active_is_stale() -> None:
    for status in ("closed", "resolved"):
        over = replace(PROFILE, episode=replace(EPISODE, status=status))
        assert stale(advance(None, AnswerSeenCheck(5, False), now=NOW, profile=over))


# --- exercise logs --------------------------------------------------------------------------------

# An episode a month old, so the two-week limit is what bounds the past.
LONG_EPISODE = replace(PROFILE, episode=replace(EPISODE, assessed_at=NOW - timedelta(days=30)))


def logged(day: date, profile: Profile = LONG_EPISODE, *, now: datetime = NOW) -> list[date]:
    outcome = advance(None, LogExercise(day, "done"), now=now, profile=profile)
    days = [e.local_date for e in outcome.effects if isinstance(e, RecordExercise)]
    assert days or stale(outcome)
    return days


def test_a_date_far_in_the_future_is_stale_not_stored() -> None:
    assert logged(date(9999, 12, 31)) == []
    assert logged(date(1, 1, 1)) == []


def test_the_last_two_weeks_up_to_tomorrow_can_be_logged() -> None:
    today = NOW.date()  # 09:00 in London is the same day
    for days in (-14, -1, 0, 1):
        day = today + timedelta(days=days)
        assert logged(day) == [day], days
    for days in (-15, 2, 365):
        assert logged(today + timedelta(days=days)) == [], days


def test_days_before_the_episode_began_are_stale() -> None:
    began = replace(PROFILE, episode=replace(EPISODE, assessed_at=NOW - timedelta(days=3)))
    start = NOW.date() - timedelta(days=3)
    # A day of slack before it, for a zone changed since.
    assert logged(start - timedelta(days=1), began) == [start - timedelta(days=1)]
    assert logged(start - timedelta(days=2), began) == []


def test_today_is_the_runners_own_today() -> None:
    """22:00 UTC on 21 Nov is already 22 Nov in Auckland: 23 Nov is their tomorrow."""
    late = datetime(2026, 11, 21, 22, 0, tzinfo=UTC)
    auckland = replace(LONG_EPISODE, zone="Pacific/Auckland")
    assert logged(date(2026, 11, 23), auckland, now=late) == [date(2026, 11, 23)]
    assert logged(date(2026, 11, 23), LONG_EPISODE, now=late) == []
    assert runner_commands.loggable_days(auckland, now=late)[1] == date(2026, 11, 23)


def test_without_a_zone_or_an_episode_today_is_utcs() -> None:
    bare = Profile(runner_id=7)
    assert runner_commands.loggable_days(bare, now=NOW) == (date(2026, 11, 7), date(2026, 11, 22))
    assert logged(date(2026, 11, 23), bare) == []


# --- the date on the button -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-11-21",  # ISO with dashes: not what buttons carry
        "2026W477",  # an ISO week date, which date.fromisoformat takes
        "٢٠٢٦١١٢١",  # Arabic-Indic digits, which int() takes
        "00001121",  # year 0
        "20261340",
        "202611211",
        "",
    ],
)
def test_a_button_date_is_eight_ascii_digits_of_a_real_day(stamp: str) -> None:
    assert event_for_button(Button("", "exercise", stamp, "d"), 0) is None


def test_a_button_date_parses_to_that_day() -> None:
    event = event_for_button(Button("", "exercise", "20261121", "s"), 0)
    assert event == LogExercise(date(2026, 11, 21), "skipped")
    # Parsing reads the form only; which days may be logged is the flow's to judge.
    assert event_for_button(Button("", "exercise", "99991231", "d"), 0) == LogExercise(
        date(9999, 12, 31), "done"
    )


def test_a_profile_that_names_no_sent_message_answers_no_message_button() -> None:
    """The sent ids default to none, so a profile loaded without them fails safe."""
    episode = EpisodeView(NOW, Disposition.HOME_CARE, "all", CarePath.SPRAIN, 4, 1, "active")
    bare = Profile(runner_id=7, episode=episode)
    assert stale(advance(None, StartCheckIn(5, 3), now=NOW, profile=bare))
    assert stale(advance(None, AnswerSeenCheck(5, True), now=NOW, profile=bare))
