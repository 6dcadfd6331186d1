"""Follow-ups in the database: episodes, soreness, check-ins, the exercise log, runner settings.

Like `bot.db.store`, every function is synchronous, takes the `Session` first and everything else
by keyword, passes time in, and never commits, so a handler can record a check-in, update the
episode and schedule the next message in one transaction. A runner has at most one active
episode (`open_episode` closes the previous one, and a partial unique index refuses a second);
soreness reports, check-ins and exercise logs name their episode but belong to the runner. The
exercise log holds one row per runner and local date: a second answer for the same day replaces
the first. Stored codes (statuses, sources, results) are the values of the enums in
`flows.types`; the database's check constraints refuse anything else.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.orm import Session

from bot.db.built import Prepared, dialect_insert, one_of
from bot.db.models import CheckInRecord, Episode, ExerciseLog, PlanEvent, Runner, SorenessReport
from flows.types import EpisodeStatus


class _Unset(Enum):
    """The type of `UNSET`, so type checkers tell "leave it" from a value (None included)."""

    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""Default of the optional arguments of `update_runner_settings`: leave that setting as it is."""

# What `update_episode` may change: the runner, the creation time and `updated_at` (stamped
# from `now`) are not the caller's to rewrite.
EPISODE_CHANGEABLE = frozenset(
    {
        "assessment_id",
        "status",
        "disposition",
        "location",
        "pain_at_assessment",
        "assessed_at",
        "phase",
        "unanswered_checkins",
        "resolved_at",
    }
)

REMINDER_TIME = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


# --- episodes -------------------------------------------------------------------------------------


# Built once: run for every assessment and every due follow-up (see bot.db.schedule_store).
_LATEST_EPISODE = (
    select(Episode)
    .where(Episode.runner_id == bindparam("runner_id"), Episode.status == bindparam("status"))
    .order_by(Episode.created_at.desc(), Episode.id.desc())
    .limit(1)
)
_episodes = Episode.__table__
_CLOSE_ACTIVE_EPISODE = Prepared(
    update(_episodes)
    .where(
        _episodes.c.runner_id == bindparam("runner"),
        _episodes.c.status == EpisodeStatus.ACTIVE.value,
    )
    .values(status=EpisodeStatus.CLOSED.value, updated_at=bindparam("now"))
)


def active_episode(session: Session, *, runner_id: int) -> Episode | None:
    """The runner's active episode, or None when none is being followed up."""
    return session.scalars(
        _LATEST_EPISODE, {"runner_id": runner_id, "status": EpisodeStatus.ACTIVE.value}
    ).one_or_none()


def current_episode(session: Session, *, runner_id: int) -> Episode | None:
    """The episode the runner's plan belongs to: the active one, else the latest resolved one
    (a resolved episode keeps its plan: prevention and the return to running go on)."""
    return session.scalars(_current(Episode), {"runner": runner_id}).one_or_none()


def current_episode_id(session: Session, *, runner_id: int) -> int | None:
    """The id of `current_episode` (what applying a flow's effects needs: no ORM object)."""
    return _CURRENT_ID.execute(session, {"runner": runner_id}).scalar()


@functools.cache
def _current(what: Any) -> Any:
    """`current_episode`'s one query, selecting `what` (built once for each)."""
    return (
        select(what)
        .where(
            _episodes.c.runner_id == bindparam("runner"),
            one_of(_episodes.c.status, [EpisodeStatus.ACTIVE.value, EpisodeStatus.RESOLVED.value]),
        )
        # The active episode first, else the latest resolved one.
        .order_by(
            case((_episodes.c.status == EpisodeStatus.ACTIVE.value, 0), else_=1),
            _episodes.c.created_at.desc(),
            _episodes.c.id.desc(),
        )
        .limit(1)
    )


_CURRENT_ID = Prepared(_current(_episodes.c.id))


def open_episode(
    session: Session,
    *,
    runner_id: int,
    assessment_id: int | None,
    disposition: str,
    location: str,
    pain_at_assessment: int,
    assessed_at: datetime,
    care_path: str,
    phase: int,
    now: datetime,
) -> int:
    """Start following up a new assessment; the runner's previous active episode is closed.
    The new episode's id."""
    _CLOSE_ACTIVE_EPISODE.execute(session, {"runner": runner_id, "now": now})
    return _OPEN_EPISODE.execute(
        session,
        {
            "runner": runner_id,
            "assessment": assessment_id,
            "decided": disposition,
            "spot": location,
            "pain": pain_at_assessment,
            "assessed": assessed_at,
            "path": care_path,
            "phase_": phase,
            "now": now,
        },
    ).scalar_one()


_OPEN_EPISODE = Prepared(
    insert(_episodes)
    .values(
        runner_id=bindparam("runner"),
        assessment_id=bindparam("assessment"),
        status=EpisodeStatus.ACTIVE.value,
        disposition=bindparam("decided"),
        location=bindparam("spot"),
        pain_at_assessment=bindparam("pain"),
        assessed_at=bindparam("assessed"),
        care_path=bindparam("path"),
        phase=bindparam("phase_"),
        unanswered_checkins=0,
        resolved_at=None,
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    .returning(_episodes.c.id)
)


def update_episode(session: Session, *, episode_id: int, now: datetime, **changes: Any) -> bool:
    """Change the named columns of an episode; False when it no longer exists.

    Only the columns in `EPISODE_CHANGEABLE` may be named (ValueError otherwise). A value may be
    a SQL expression, so a counter can move in the database itself:
    `unanswered_checkins=Episode.unanswered_checkins + 1`.
    """
    unknown = set(changes) - EPISODE_CHANGEABLE
    if unknown:
        raise ValueError(f"episodes have no changeable column {', '.join(sorted(unknown))}")
    result = session.execute(
        update(Episode).where(Episode.id == episode_id).values(updated_at=now, **changes)
    )
    return result.rowcount == 1


# --- soreness and check-ins -----------------------------------------------------------------------


def record_soreness(
    session: Session,
    *,
    runner_id: int,
    episode_id: int | None,
    at: datetime,
    value: int,
    source: str,
) -> int:
    """Keep a 0-10 soreness score and where it came from (a `SorenessSource` value); its id."""
    return _RECORD_SORENESS.execute(
        session,
        {"runner": runner_id, "episode": episode_id, "at_": at, "score": value, "from_": source},
    ).scalar_one()


_soreness = SorenessReport.__table__
_RECORD_SORENESS = Prepared(
    insert(_soreness)
    .values(
        runner_id=bindparam("runner"),
        episode_id=bindparam("episode"),
        at=bindparam("at_"),
        value=bindparam("score"),
        source=bindparam("from_"),
    )
    .returning(_soreness.c.id)
)


def recent_soreness(session: Session, *, runner_id: int, limit: int = 10) -> list[SorenessReport]:
    """The runner's last `limit` soreness scores, in the order they were given (newest last)."""
    newest_first = session.scalars(
        select(SorenessReport)
        .where(SorenessReport.runner_id == runner_id)
        .order_by(SorenessReport.at.desc(), SorenessReport.id.desc())
        .limit(limit)
    )
    return list(reversed(newest_first.all()))


def record_check_in(
    session: Session,
    *,
    runner_id: int,
    episode_id: int | None,
    at: datetime,
    answers: Mapping[str, Any],
    soreness: int,
    trend: str,
    verdict: str,
) -> CheckInRecord:
    """Keep an answered check-in with what it decided."""
    record = CheckInRecord(
        runner_id=runner_id,
        episode_id=episode_id,
        at=at,
        # A fresh dict: JSON columns do not track in-place mutation, and the caller keeps theirs.
        answers=dict(answers),
        soreness=soreness,
        trend=trend,
        verdict=verdict,
    )
    session.add(record)
    session.flush()
    return record


def check_ins_for(session: Session, *, episode_id: int) -> list[CheckInRecord]:
    """The episode's answered check-ins, oldest first."""
    return list(
        session.scalars(
            select(CheckInRecord)
            .where(CheckInRecord.episode_id == episode_id)
            .order_by(CheckInRecord.at, CheckInRecord.id)
        )
    )


# --- the exercise log -----------------------------------------------------------------------------


def log_exercise(
    session: Session,
    *,
    runner_id: int,
    episode_id: int | None,
    local_date: date,
    result: str,
    at: datetime,
    pain_during: int | None = None,
    morning_worse: bool | None = None,
) -> ExerciseLog:
    """Record the day's exercises (an `ExerciseResult` value) on the runner's local date.

    A second answer for the same runner and date replaces the first, every field of it: one
    statement (INSERT ... ON CONFLICT DO UPDATE), so two answers arriving together cannot both
    insert.
    """
    fields = {
        "episode_id": episode_id,
        "result": result,
        "at": at,
        "pain_during": pain_during,
        "morning_worse": morning_worse,
    }
    statement = (
        dialect_insert(session, ExerciseLog)
        .values(runner_id=runner_id, local_date=local_date, **fields)
        .on_conflict_do_update(index_elements=["runner_id", "local_date"], set_=fields)
        .returning(ExerciseLog)
    )
    # populate_existing: a log already loaded in this session shows the replaced values.
    return session.scalars(statement, execution_options={"populate_existing": True}).one()


# --- runners --------------------------------------------------------------------------------------


def runner_by_id(session: Session, *, runner_id: int) -> Runner | None:
    """The runner with this id, or None when there is none (any more)."""
    return session.get(Runner, runner_id)


def update_runner_settings(
    session: Session,
    *,
    runner_id: int,
    now: datetime,
    zone: str | _Unset | None = UNSET,
    reminder_time: str | _Unset | None = UNSET,
    reminders_paused: bool | _Unset = UNSET,
    followups_stopped: bool | _Unset = UNSET,
    chosen_locale: str | _Unset | None = UNSET,
) -> bool:
    """Change the runner's follow-up settings given (None clears a zone or reminder time);
    False when the runner does not exist.

    `zone` must be an IANA time zone name and `reminder_time` a 24-hour "HH:MM"; anything else
    raises ValueError, because a bad value would misplace every reminder after it.
    """
    given: dict[str, Any] = {
        name: value
        for name, value in {
            "zone": zone,
            "reminder_time": reminder_time,
            "reminders_paused": reminders_paused,
            "followups_stopped": followups_stopped,
            "chosen_locale": chosen_locale,
        }.items()
        if value is not UNSET
    }
    if isinstance(zone, str):
        _check_zone(zone)
    if isinstance(reminder_time, str) and REMINDER_TIME.fullmatch(reminder_time) is None:
        raise ValueError(f"reminder time {reminder_time!r} is not HH:MM (00:00 to 23:59)")
    result = session.execute(
        update(Runner).where(Runner.id == runner_id).values(updated_at=now, **given)
    )
    return result.rowcount == 1


# --- helpers -------------------------------------------------------------------------------------


def _check_zone(zone: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"{zone!r} is not an IANA time zone") from error


# --- the plan's history --------------------------------------------------------------------------


def record_plan_event(
    session: Session,
    *,
    runner_id: int,
    episode_id: int | None,
    at: datetime,
    kind: str,
    data: Mapping[str, Any],
) -> PlanEvent:
    """Keep one plan event (a phase change, a readiness check, a run day)."""
    event = PlanEvent(runner_id=runner_id, episode_id=episode_id, at=at, kind=kind, data=dict(data))
    session.add(event)
    session.flush()
    return event


def plan_events_for(
    session: Session, *, runner_id: int, episode_id: int | None = None
) -> list[PlanEvent]:
    """The runner's plan events (of one episode, if given), oldest first."""
    query = select(PlanEvent).where(PlanEvent.runner_id == runner_id)
    if episode_id is not None:
        query = query.where(PlanEvent.episode_id == episode_id)
    return list(session.scalars(query.order_by(PlanEvent.at, PlanEvent.id)))
