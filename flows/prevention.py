"""The balance programme after recovery: an opt-in 8-week home programme against re-sprains (pure).

When an episode resolves the runner is offered, with one tap, the 2BFit programme: three
sessions a week for eight weeks of three exercises (single-leg stance, one-legged knee bend,
toe raise), each at a level that rises with the weeks. In the trial it cut re-sprains within a
year from 33 % to 22 % (Hupperets 2009; docs/clinical-basis.md). With a reminder time set, a
reminder goes out on each session day at that local time (the next local occurrence on a
session day, never "the last one plus 24 h"); every session is logged Done / Skipped / Too
sore from its reminder or from /plan, and adherence (sessions done out of those planned so
far) shows in /status and /progress. After the last session a closing message ends it; the
runner can stop it at any time. After a sprain (and for an unstable ankle) the brace advice
goes with it: a semi-rigid or lace-up brace for trails and sport for 12 months (Janssen 2014).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from flows.effects import (
    CancelMessages,
    Effect,
    Outcome,
    RecordProgrammeSession,
    ScheduleMessage,
    StartProgramme,
    StopProgramme,
)
from flows.exercise_library import exercise_by_id
from flows.local_time import FollowUpKind, local_date_of, next_local_occurrence_on
from flows.profile import Profile, ProgrammeView
from flows.replies import info
from flows.types import (
    EXERCISE_RESULT_CODES,
    Button,
    ButtonAction,
    CarePath,
    EpisodeStatus,
    ExerciseResult,
    ProgrammeChoice,
    ProgrammeStatus,
    Reply,
    in_rows,
)
from flows.words import N_

# Eight weeks of three training days a week (Hupperets 2009, the 2BFit trial).
PROGRAMME_WEEKS = 8
# PRODUCT RULE: the three days of each programme week are its 1st, 3rd and 5th day, counted
# from the day the runner opts in, so a rest day follows every session. The trial only says
# three days a week.
SESSION_DAY_OFFSETS = (0, 2, 4)
# The trial's three exercises, by their ids in content/exercises.toml.
PROGRAMME_EXERCISES = ("bf_stance", "bf_knee_bend", "bf_toe_raise")
# UNSOURCED, a PRODUCT RULE: each exercise has three levels in the trial, but its week-by-week
# allocation was not found, so level 1 in weeks 1-2, level 2 in weeks 3-5, level 3 in weeks 6-8.
LEVEL_FROM_WEEK = ((1, 1), (3, 2), (6, 3))
# A brace for trails and sport for 12 months helps after a sprain (Janssen 2014); it is
# advised on the paths where the ankle was sprained.
BRACE_PATHS = frozenset({CarePath.SPRAIN, CarePath.INSTABILITY})
# The app version of this programme reached 73 % of sessions done (Van Reijen 2016): context
# for the runner's own figure, never a target.
PUBLISHED_ADHERENCE_PERCENT = 73
# A session can be logged this many days late (an old reminder answered), not history
# written afresh.
LOG_DAYS_BACK = 14


def session_days(first_day: date) -> tuple[date, ...]:
    """The 24 session days of a programme that starts on `first_day`, in order."""
    return tuple(
        first_day + timedelta(weeks=week, days=offset)
        for week in range(PROGRAMME_WEEKS)
        for offset in SESSION_DAY_OFFSETS
    )


def last_session_day(first_day: date) -> date:
    return session_days(first_day)[-1]


def week_of(first_day: date, day: date) -> int:
    """The programme week (1-8) that `day` falls in."""
    return (day - first_day).days // 7 + 1


def level_for_week(week: int) -> int:
    """The difficulty level (1-3) of the exercises in programme week `week`."""
    return max(level for first_week, level in LEVEL_FROM_WEEK if week >= first_week)


def programme_key(programme: ProgrammeView) -> str:
    """Identifies a programme in its reminders' payloads and keys (when it was started)."""
    return programme.started_at.strftime("%Y%m%dT%H%M%S")


def today_for(profile: Profile, now: datetime) -> date:
    return local_date_of(now, profile.zone or "UTC")


def running(profile: Profile, today: date) -> ProgrammeView | None:
    """The runner's programme while it runs: started, not stopped and not finished."""
    programme = profile.programme
    if (
        programme is None
        or programme.status != ProgrammeStatus.ACTIVE
        or today > last_session_day(programme.first_day)
    ):
        return None
    return programme


@dataclass(frozen=True, slots=True)
class Adherence:
    """Sessions done out of those planned so far: a session day counts as planned once it is
    over, or on the day itself once the runner logged it."""

    done: int
    planned: int
    total: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.done / self.planned) if self.planned else None


def adherence(programme: ProgrammeView, today: date) -> Adherence:
    days = session_days(programme.first_day)
    logged = dict(programme.sessions)
    planned = [d for d in days if d < today or (d == today and d in logged)]
    done = sum(1 for d in planned if logged.get(d) == ExerciseResult.DONE)
    return Adherence(done=done, planned=len(planned), total=len(days))


def summary(profile: Profile, *, now: datetime) -> dict[str, object] | None:
    """What /status says about the programme (None when there is none to speak of)."""
    programme = profile.programme
    if programme is None or programme.status != ProgrammeStatus.ACTIVE:
        return None
    today = today_for(profile, now)
    figures = adherence(programme, today)
    upcoming = [d for d in session_days(programme.first_day) if d >= today]
    return {
        "finished": not upcoming,
        "week": min(week_of(programme.first_day, today), PROGRAMME_WEEKS),
        "weeks": PROGRAMME_WEEKS,
        "done": figures.done,
        "planned": figures.planned,
        "percent": figures.percent,
        "published_percent": PUBLISHED_ADHERENCE_PERCENT,
        "next_day": upcoming[0] if upcoming else None,
    }


# --- replies -------------------------------------------------------------------------------------


START_BUTTON = Button(
    N_("Start balance programme"), ButtonAction.PROGRAMME, "", ProgrammeChoice.START
)
STOP_BUTTON = Button(N_("Stop the programme"), ButtonAction.PROGRAMME, "", ProgrammeChoice.STOP)


def resolved_reply(profile: Profile, context: dict[str, object]) -> Reply:
    """The "your ankle has settled" message, offering the programme (and the brace advice
    after a sprain) unless one already runs."""
    episode = profile.episode
    brace = episode is not None and episode.care_path in BRACE_PATHS
    offer = profile.programme is None or profile.programme.status != ProgrammeStatus.ACTIVE
    return Reply(
        "care/resolved.j2",
        {**context, "brace": brace, "offer": offer, "weeks": PROGRAMME_WEEKS},
        buttons=((START_BUTTON,),) if offer else (),
    )


def session_reply(programme: ProgrammeView, day: date) -> Reply:
    """One session's exercises at the week's level, with Done / Skipped / Too sore for `day`."""
    week = week_of(programme.first_day, day)
    labels = {
        ExerciseResult.DONE: N_("✅ Done"),
        ExerciseResult.SKIPPED: N_("⏭ Skipped"),
        ExerciseResult.TOO_SORE: N_("😣 Too sore"),
    }
    stamp = day.strftime("%Y%m%d")
    buttons = in_rows(
        [
            Button(label, ButtonAction.PROGRAMME_SESSION, stamp, EXERCISE_RESULT_CODES[result])
            for result, label in labels.items()
        ]
    )
    found = [exercise_by_id(i) for i in PROGRAMME_EXERCISES]
    return Reply(
        "prevention/session.j2",
        {
            "number": session_days(programme.first_day).index(day) + 1,
            "total": len(session_days(programme.first_day)),
            "week": week,
            "weeks": PROGRAMME_WEEKS,
            "level": level_for_week(week),
            "exercises": [e for e in found if e is not None],
        },
        buttons=buttons,
    )


def plan_replies(profile: Profile, *, now: datetime) -> tuple[Reply, ...]:
    """What /plan adds while the programme runs: today's session, or when the next one is."""
    today = today_for(profile, now)
    programme = running(profile, today)
    if programme is None:
        return ()
    if today in session_days(programme.first_day):
        session = session_reply(programme, today)
        return (replace(session, buttons=(*session.buttons, (STOP_BUTTON,))),)
    upcoming = next(d for d in session_days(programme.first_day) if d > today)
    return (
        Reply(
            "prevention/rest_day.j2",
            {"next_day": upcoming, **_figures(programme, today)},
            buttons=((STOP_BUTTON,),),
        ),
    )


def _figures(programme: ProgrammeView, today: date) -> dict[str, object]:
    figures = adherence(programme, today)
    return {
        "done": figures.done,
        "planned": figures.planned,
        "percent": figures.percent,
        "published_percent": PUBLISHED_ADHERENCE_PERCENT,
    }


# --- reminders -----------------------------------------------------------------------------------


def next_programme_reminder(profile: Profile, *, after: datetime) -> ScheduleMessage | None:
    """The programme's next reminder after `after`: at the runner's reminder time on the next
    session day, or, once the sessions are over, the closing message the day after the last.
    None when no programme runs or reminders are off, paused or stopped."""
    programme = profile.programme
    if (
        programme is None
        or programme.status != ProgrammeStatus.ACTIVE
        or profile.reminder_time is None
        or profile.zone is None
        or profile.reminders_paused
        or profile.followups_stopped
    ):
        return None
    local = time.fromisoformat(profile.reminder_time)
    days = session_days(programme.first_day)
    due = next_local_occurrence_on(after=after, local_time=local, zone=profile.zone, days=days)
    end = due is None
    if end:
        closing = last_session_day(programme.first_day) + timedelta(days=1)
        due = next_local_occurrence_on(
            after=after, local_time=local, zone=profile.zone, days=(closing,)
        )
        if due is None:
            return None
    day = local_date_of(due, profile.zone)
    what = "end" if end else day.strftime("%Y%m%d")
    key = f"r{profile.runner_id}:prog:{programme_key(programme)}:{what}:{profile.reminder_time}"
    payload: dict[str, str | bool] = {
        "programme": programme_key(programme),
        "zone": profile.zone,
        "time": profile.reminder_time,
        "end": end,
    }
    return ScheduleMessage(kind=FollowUpKind.PROGRAMME, due_at=due, key=key, payload=payload)


# --- events --------------------------------------------------------------------------------------


def choose(profile: Profile, choice: ProgrammeChoice, *, now: datetime) -> Outcome:
    if choice is ProgrammeChoice.START:
        return start(profile, now=now)
    return stop(profile, now=now)


def start(profile: Profile, *, now: datetime) -> Outcome:
    """Opt in: session 1 is today, the reminders follow on the session days."""
    today = today_for(profile, now)
    if running(profile, today) is not None:
        return Outcome(replies=(info("prevention/already_running.j2"),))
    episode = profile.episode
    if episode is None or episode.status != EpisodeStatus.RESOLVED:
        return Outcome(replies=(info("prevention/not_yet.j2"),))
    programme = ProgrammeView(started_at=now, first_day=today, status=ProgrammeStatus.ACTIVE)
    started = replace(profile, programme=programme)
    reminder = next_programme_reminder(started, after=now)
    effects: list[Effect] = [
        StartProgramme(at=now, first_day=today),
        CancelMessages((FollowUpKind.PROGRAMME,)),
    ]
    if reminder is not None:
        effects.append(reminder)
    intro = info(
        "prevention/started.j2",
        weeks=PROGRAMME_WEEKS,
        last_day=last_session_day(today),
        has_reminders=reminder is not None,
        reminder_time=profile.reminder_time,
        brace=episode.care_path in BRACE_PATHS,
    )
    return Outcome(replies=(intro, session_reply(programme, today)), effects=tuple(effects))


def stop(profile: Profile, *, now: datetime) -> Outcome:
    today = today_for(profile, now)
    programme = running(profile, today)
    if programme is None:
        return Outcome(replies=(info("prevention/none_running.j2"),))
    return Outcome(
        replies=(info("prevention/stopped.j2", **_figures(programme, today)),),
        effects=(StopProgramme(at=now), CancelMessages((FollowUpKind.PROGRAMME,))),
    )


def log_session(profile: Profile, *, day: date, result: ExerciseResult, now: datetime) -> Outcome:
    """A session's Done / Skipped / Too sore; only a session day of the running programme, not
    in the future and not over two weeks back, can be logged (others are stale buttons)."""
    today = today_for(profile, now)
    programme = profile.programme
    if (
        programme is None
        or programme.status != ProgrammeStatus.ACTIVE
        or day not in session_days(programme.first_day)
        or not today - timedelta(days=LOG_DAYS_BACK) <= day <= today + timedelta(days=1)
    ):
        return Outcome(replies=(info("care/already_answered.j2"),))
    logged = (*((d, r) for d, r in programme.sessions if d != day), (day, result.value))
    counted = replace(programme, sessions=tuple(sorted(logged)))
    return Outcome(
        replies=(
            info(
                "prevention/session_logged.j2",
                result=result,
                last=day == last_session_day(programme.first_day),
                **_figures(counted, max(today, day)),
            ),
        ),
        effects=(RecordProgrammeSession(local_date=day, result=result, at=now),),
    )


def finished_reply(programme: ProgrammeView, today: date) -> Reply:
    """The closing message once the eight weeks are over."""
    last = last_session_day(programme.first_day)
    return info(
        "prevention/finished.j2",
        weeks=PROGRAMME_WEEKS,
        **_figures(programme, max(today, last + timedelta(days=1))),
    )
