"""Follow-up commands and buttons that are not dialogs: pause, resume, stop, status, a
seen-check's answer, a reminder's Done / Skipped / Too sore, and the runner's data (pure).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from flows import prevention, triage
from flows.advice import outcome_replies
from flows.care_paths import PathChoice
from flows.checkin import MESSAGE_KEY, SEEN_KEY, answerable
from flows.checkin_rules import Verdict
from flows.clearance import CLEARED_COMMAND
from flows.effects import (
    CancelMessages,
    ChangeSettings,
    Effect,
    Outcome,
    RecordCheckIn,
    RecordExercise,
)
from flows.follow_up_schedule import next_reminder, restart_check_ins
from flows.local_time import FollowUpKind, local_date_of
from flows.profile import Profile
from flows.replies import info
from flows.rules import Decision, see_within
from flows.state import DialogState
from flows.types import Button, ButtonAction, ExerciseResult, Reply, SeenAnswer
from flows.words import N_

CLEARED_LABEL = N_("Cleared: start my plan")

# --- scheduling --------------------------------------------------------------------------------


# --- composing a due message ---------------------------------------------------------------------


# --- events --------------------------------------------------------------------------------------


def _version(state: DialogState | None) -> int:
    return (state.version if state is not None else 0) + 1


def answer_seen_check(profile: Profile, *, message_id: int, seen: bool, now: datetime) -> Outcome:
    """The answer to "were you seen?". Only a seen-check sent for the active episode and not
    answered yet counts; any other id is stale. "Yes" offers the home plan a clinician may have
    cleared the runner for."""
    episode = profile.episode
    if episode is None or not answerable(profile, message_id, profile.sent_seen_checks):
        return Outcome(replies=(info("care/already_answered.j2"),))
    record = RecordCheckIn(
        at=now,
        answers={
            MESSAGE_KEY: str(message_id),
            SEEN_KEY: SeenAnswer.YES if seen else SeenAnswer.NO,
        },
        soreness=profile.soreness[-1][1] if profile.soreness else 0,
        trend="",
        verdict=Verdict.SEEN if seen else Verdict.NOT_SEEN,
    )
    if seen:
        # The episode stays open: the clinician may clear the runner for a home plan on its
        # care path (`flows.clearance`); a new assessment closes it otherwise.
        cleared = Button(CLEARED_LABEL, ButtonAction.COMMAND, "", CLEARED_COMMAND)
        return Outcome(
            replies=(Reply("care/seen_yes.j2", {}, ((cleared,),)),),
            effects=(record,),
        )
    # Not seen yet: repeat the advice once, with the reasons it was given for.
    answers = triage.answers_of(episode.answers)
    decision = Decision(
        episode.disposition,
        episode.reasons,
        (),
        rules_version="",
        see_within=see_within(episode.reasons),
    )
    repeat = outcome_replies(answers, decision, PathChoice(episode.care_path))
    return Outcome(replies=(info("care/seen_no.j2"), *repeat), effects=(record,))


# How far back a day's exercises can still be logged: a reminder answered late, not history
# written afresh (a date far off would also break the progress chart).
EXERCISE_LOG_DAYS_BACK = 14
# "Today" moves by a day when the runner changes zone after a reminder was sent.
ZONE_SLACK = timedelta(days=1)


def loggable_days(profile: Profile, *, now: datetime) -> tuple[date, date]:
    """The first and last day of the runner's own calendar whose exercises they can log now:
    not over two weeks back nor before the current episode began, and not after today (with a
    day's slack for a changed zone). Reminders are only sent for days in between."""
    zone = profile.zone or "UTC"
    today = local_date_of(now, zone)
    first = today - timedelta(days=EXERCISE_LOG_DAYS_BACK)
    if profile.episode is not None:
        began = local_date_of(profile.episode.assessed_at, zone)
        first = max(first, began - ZONE_SLACK)
    return first, today + ZONE_SLACK


def log_exercise(profile: Profile, *, day: date, result: ExerciseResult, now: datetime) -> Outcome:
    """A reminder's Done / Skipped / Too sore, logged for the day it was for; a day no
    reminder can have been for (an old button, or a forged date) is stale and logs nothing."""
    first, last = loggable_days(profile, now=now)
    if not first <= day <= last:
        return Outcome(replies=(info("care/already_answered.j2"),))
    return Outcome(
        replies=(info("care/exercise_logged.j2", result=result),),
        effects=(RecordExercise(local_date=day, result=result, at=now),),
    )


def show_status(profile: Profile, *, now: datetime) -> Outcome:
    programme = prevention.summary(profile, now=now)
    return Outcome(replies=(info("care/status.j2", profile=profile, now=now, programme=programme),))


def pause(profile: Profile) -> Outcome:
    return Outcome(
        replies=(info("care/paused.j2"),),
        effects=(
            ChangeSettings({"reminders_paused": True}),
            CancelMessages((FollowUpKind.REMINDER, FollowUpKind.PROGRAMME)),
        ),
    )


def resume(profile: Profile, *, now: datetime) -> Outcome:
    updated = replace(profile, reminders_paused=False, followups_stopped=False)
    effects: list[Effect] = [
        ChangeSettings({"reminders_paused": False, "followups_stopped": False})
    ]
    reminder = next_reminder(updated, after=now)
    if reminder is not None:
        effects.append(reminder)
    session = prevention.next_programme_reminder(updated, after=now)
    if session is not None:
        effects.append(session)
    effects += restart_check_ins(updated, now=now)
    return Outcome(
        replies=(
            info("care/resumed.j2", has_reminder=reminder is not None or session is not None),
        ),
        effects=tuple(effects),
    )


def stop(profile: Profile) -> Outcome:
    return Outcome(
        replies=(info("care/stopped.j2"),),
        effects=(ChangeSettings({"followups_stopped": True}), CancelMessages(())),
    )


def progress(profile: Profile) -> Outcome:
    return Outcome(replies=(Reply("plan/progress.j2", {}, attachment="progress"),))


# The attachment kind of /summary's reply: the adapter adds the PDF (`bot.summary_pdf`).
SUMMARY_ATTACHMENT = "summary"


def summary(profile: Profile) -> Outcome:
    """The one-page PDF for a clinician; the adapter says in words when there is no
    assessment to sum up (it reads every finished one, not only the current episode's)."""
    return Outcome(replies=(Reply("plan/summary.j2", {}, attachment=SUMMARY_ATTACHMENT),))


def export(profile: Profile) -> Outcome:
    return Outcome(replies=(Reply("plan/export.j2", {}, attachment="export"),))
