"""What a due follow-up becomes when its time comes: sent, dropped or postponed, and what comes
after it (pure).

The scheduler hands each due message to `compose_due` with the runner's profile; lateness, the
daytime window and the quiet after the safety net are all judged here, so the scheduler only
carries the decision out. The messages themselves (a check-in with soreness buttons, a
seen-check, a daily reminder with today's session) are built here too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from flows import prevention
from flows.checkin_rules import UNANSWERED_LIMIT
from flows.effects import ScheduleMessage
from flows.exercise_plan import todays_session
from flows.follow_up_schedule import (
    episode_key,
    follow_up_times,
    next_reminder,
    schedule_follow_up,
)
from flows.local_time import (
    CHECKIN_MAX_LATENESS,
    DAILY_CHECKIN_INTERVAL,
    DAYTIME_GRACE,
    MIN_CHECKIN_GAP,
    FollowUpKind,
    daytime_from,
    is_daytime,
    local_date_of,
    next_daily_checkin,
)
from flows.profile import EpisodeView, Profile
from flows.replies import info
from flows.types import (
    EXERCISE_RESULT_CODES,
    PAIN_MAX,
    PAIN_MIN,
    Button,
    ButtonAction,
    Disposition,
    EpisodeStatus,
    ExerciseResult,
    Reply,
    SeenAnswer,
    in_rows,
)
from flows.words import N_

# Why a due message is dropped instead of sent (recorded with the message).
DROP_FOLLOW_UPS_STOPPED = "follow-ups stopped by the runner"


DROP_REMINDER_OFF = "reminders off, paused or changed"


DROP_REMINDER_STALE = "the day the reminder was for is over"


DROP_QUIET = "quiet after the safety net until the runner writes again"


DROP_EPISODE_OVER = "the episode it belongs to is over"


DROP_CLINICIAN_INVOLVED = "check-ins stop once a clinician is involved"


DROP_CHECK_IN_LATE = "too late: the next check-in covers it"


DROP_CHECK_IN_SUPERSEDED = "the next check-in comes before its daytime does"


DROP_PROGRAMME_OVER = "the balance programme it belongs to was stopped or replaced"


@dataclass(frozen=True, slots=True)
class Due:
    """What a due scheduled message becomes, decided whole (the scheduler carries it out as it
    is, and keeps each of `follow_ups` as the flow made it): exactly one of

    - sent: `replies` to send now, and in `follow_ups` the next message of its chain;
    - dropped: `drop_reason`, and in `follow_ups` still the next message of its chain, so that
      downtime never ends one; empty only where the chain ends on purpose (the episode is over,
      follow-ups or reminders are off, or the quiet after the safety net, which writing again
      ends);
    - postponed: `postpone_until`, and no follow-ups: the message itself comes again then and
      is decided afresh.
    """

    replies: tuple[Reply, ...] = ()
    follow_ups: tuple[ScheduleMessage, ...] = ()
    drop_reason: str | None = None
    postpone_until: datetime | None = None

    def __post_init__(self) -> None:
        outcomes = (
            bool(self.replies),
            self.drop_reason is not None,
            self.postpone_until is not None,
        )
        if sum(outcomes) != 1:
            raise ValueError("a Due is exactly one of: replies, a drop reason, a postponement")
        if self.postpone_until is not None and self.follow_ups:
            raise ValueError("a postponed message decides its follow-ups when it comes again")


def _belongs_to_episode(profile: Profile, payload: dict) -> bool:
    episode = profile.episode
    return (
        episode is not None
        and episode.status == EpisodeStatus.ACTIVE
        and payload.get("episode") == episode_key(episode.assessed_at)
    )


def check_in_reply(message_id: int, *, number: int, plan: bool) -> Reply:
    buttons = in_rows(
        [
            Button(str(v), ButtonAction.CHECKIN, str(message_id), str(v))
            for v in range(PAIN_MIN, PAIN_MAX + 1)
        ]
    )
    return Reply("care/checkin.j2", {"number": number, "plan": plan}, buttons)


def seen_check_reply(message_id: int, disposition: Disposition) -> Reply:
    buttons = (
        (
            Button(N_("Yes, I've been seen"), ButtonAction.SEEN, str(message_id), SeenAnswer.YES),
            Button(N_("Not yet"), ButtonAction.SEEN, str(message_id), SeenAnswer.NO),
        ),
    )
    return Reply("care/seen_check.j2", {"disposition": disposition.code}, buttons)


def reminder_reply(profile: Profile, day: date, *, now: datetime) -> tuple[Reply, ...]:
    stamp = day.strftime("%Y%m%d")
    labels = {
        ExerciseResult.DONE: N_("✅ Done"),
        ExerciseResult.SKIPPED: N_("⏭ Skipped"),
        ExerciseResult.TOO_SORE: N_("😣 Too sore"),
    }
    buttons = in_rows(
        [
            Button(label, ButtonAction.EXERCISE, stamp, EXERCISE_RESULT_CODES[result])
            for result, label in labels.items()
        ]
    )
    return (info("care/reminder.j2"), replace(todays_session(profile, now=now), buttons=buttons))


def safety_net_sent(profile: Profile) -> bool:
    """Whether the safety net went out since the runner last wrote. It is itself a check-in
    message, the one composed once UNANSWERED_LIMIT had gone unanswered, so it is the next
    one `unanswered_checkins` counts."""
    return profile.unanswered_checkins > UNANSWERED_LIMIT


def compose_due(
    kind: str, payload: dict, *, message_id: int, due_at: datetime, profile: Profile, now: datetime
) -> Due:
    """What a due scheduled message does now (sent, dropped or postponed; see `Due`) and what
    comes after it. Lateness, the daytime window and the quiet after the safety net are all
    judged here, so that the scheduler only carries the decision out."""
    if due_at.utcoffset() is None or now.utcoffset() is None:
        raise ValueError("compose_due needs timezone-aware datetimes")
    # In UTC, so that lateness is elapsed time: Python subtracts two datetimes that share a
    # tzinfo on the wall clock, which is an hour off across a change of the clocks.
    due_at, now = due_at.astimezone(UTC), now.astimezone(UTC)
    if profile.followups_stopped:
        return Due(drop_reason=DROP_FOLLOW_UPS_STOPPED)
    if kind == FollowUpKind.REMINDER:
        return _compose_reminder(payload, due_at=due_at, profile=profile, now=now)
    if kind == FollowUpKind.PROGRAMME:
        return _compose_programme(payload, due_at=due_at, profile=profile, now=now)
    if not _belongs_to_episode(profile, payload):
        return Due(drop_reason=DROP_EPISODE_OVER)
    episode = profile.episode
    assert episode is not None
    if kind == FollowUpKind.SEEN_CHECK:
        # Sent however late: a one-off after an urgent outcome, and nothing newer will repeat
        # its advice, so late is safer than never (reference: choose the safer option).
        return Due(replies=(seen_check_reply(message_id, episode.disposition),))
    if kind == FollowUpKind.CHECKIN:
        return _compose_check_in(
            payload, message_id=message_id, due_at=due_at, profile=profile, now=now
        )
    return Due(drop_reason=f"unknown kind {kind}")


def _compose_reminder(payload: dict, *, due_at: datetime, profile: Profile, now: datetime) -> Due:
    follow = next_reminder(profile, after=due_at)
    if follow is None or payload.get("time") != profile.reminder_time:
        # Whatever turned reminders off or changed their time also cancelled or replaced them.
        return Due(drop_reason=DROP_REMINDER_OFF)
    zone = profile.zone
    assert zone is not None  # next_reminder gives none without a zone
    today = local_date_of(now, zone)
    # After downtime the chain picks up today, skipping the days that are already over.
    while follow is not None and local_date_of(follow.due_at, zone) < today:
        follow = next_reminder(profile, after=follow.due_at)
    assert follow is not None  # the settings it depends on did not change meanwhile
    if safety_net_sent(profile):
        return Due(drop_reason=DROP_QUIET, follow_ups=(follow,))
    day = local_date_of(due_at, zone)
    if day < today:
        return Due(drop_reason=DROP_REMINDER_STALE, follow_ups=(follow,))
    return Due(replies=reminder_reply(profile, day, now=now), follow_ups=(follow,))


def _compose_programme(payload: dict, *, due_at: datetime, profile: Profile, now: datetime) -> Due:
    """A balance programme session day (today's session with its result buttons), or the
    closing message once the eight weeks are over."""
    programme = profile.programme
    if (
        programme is None
        or programme.status != prevention.ProgrammeStatus.ACTIVE
        or payload.get("programme") != prevention.programme_key(programme)
    ):
        return Due(drop_reason=DROP_PROGRAMME_OVER)
    zone = profile.zone
    if zone is None or profile.reminders_paused or payload.get("time") != profile.reminder_time:
        # Whatever turned reminders off or changed their time also cancelled or replaced them.
        return Due(drop_reason=DROP_REMINDER_OFF)
    today = local_date_of(now, zone)
    if payload.get("end"):
        return Due(replies=(prevention.finished_reply(programme, today),))
    follow = prevention.next_programme_reminder(profile, after=due_at)
    assert follow is not None  # after a session day, at least the closing message is to come
    # After downtime the chain picks up today, skipping the session days that are over.
    while not follow.payload["end"] and local_date_of(follow.due_at, zone) < today:
        following = prevention.next_programme_reminder(profile, after=follow.due_at)
        assert following is not None  # the settings it depends on did not change meanwhile
        follow = following
    day = local_date_of(due_at, zone)
    if day < today:
        return Due(drop_reason=DROP_REMINDER_STALE, follow_ups=(follow,))
    replies = (info("prevention/reminder.j2"), prevention.session_reply(programme, day))
    return Due(replies=replies, follow_ups=(follow,))


def _compose_check_in(
    payload: dict, *, message_id: int, due_at: datetime, profile: Profile, now: datetime
) -> Due:
    episode = profile.episode
    assert episode is not None
    if episode.disposition is not Disposition.HOME_CARE:
        return Due(drop_reason=DROP_CLINICIAN_INVOLVED)
    if safety_net_sent(profile):
        # The chain ends here on purpose: writing again starts a new one (restart_check_ins).
        return Due(drop_reason=DROP_QUIET)
    number = int(payload.get("n", 1))
    tag = str(payload.get("tag", ""))
    out = _check_in_send_time(due_at=due_at, now=now, zone=profile.zone)
    if out - due_at > CHECKIN_MAX_LATENESS:
        follow = _first_check_in_not_late(
            profile, episode, number=number, tag=tag, due_at=due_at, now=now
        )
        return Due(drop_reason=DROP_CHECK_IN_LATE, follow_ups=(follow,))
    follow = _next_check_in(profile, episode, number=number, tag=tag, due_at=due_at, out=out)
    if out >= follow.due_at:
        return Due(drop_reason=DROP_CHECK_IN_SUPERSEDED, follow_ups=(follow,))
    if out > now:
        return Due(postpone_until=out)
    if profile.unanswered_checkins >= UNANSWERED_LIMIT:
        # Too many unanswered in a row: one safety net instead, then quiet until the runner
        # writes again.
        return Due(replies=(info("care/safety_net.j2"),))
    reply = check_in_reply(message_id, number=number, plan=True)
    return Due(replies=(reply,), follow_ups=(follow,))


def _check_in_send_time(*, due_at: datetime, now: datetime, zone: str | None) -> datetime:
    """When a due check-in may go out: now in the runner's daytime, else when it next begins.
    Without a known zone there is no daytime to keep to, so it is now."""
    if zone is None:
        return now
    if now - due_at <= DAYTIME_GRACE and is_daytime(due_at, zone=zone):
        return now
    return daytime_from(now, zone=zone)


def _next_check_in(
    profile: Profile,
    episode: EpisodeView,
    *,
    number: int,
    tag: str,
    due_at: datetime,
    out: datetime,
) -> ScheduleMessage:
    """The check-in after check-in `number` (due at `due_at`, going out at `out`): the
    assessment's next 24/48/72 h one while one remains after it, then daily."""
    nominal = follow_up_times(
        profile, assessed_at=episode.assessed_at, disposition=episode.disposition
    )
    # A chain started again later may carry a number whose nominal time is long past. One that
    # goes out late (held for the morning) is not followed the same day: the next nominal time
    # is kept only when it is a day's gap away, or already due (then this one is superseded).
    if (
        number < len(nominal)
        and nominal[number][1] > due_at
        and not out < nominal[number][1] < out + MIN_CHECKIN_GAP
    ):
        due_next = nominal[number][1]
    elif profile.zone:
        # Counted from when this one goes out, so no two are sent closer than a day's gap.
        due_next = next_daily_checkin(after=out, zone=profile.zone)
    else:
        due_next = due_at + DAILY_CHECKIN_INTERVAL
    return schedule_follow_up(
        profile,
        kind=FollowUpKind.CHECKIN,
        due_at=due_next,
        assessed_at=episode.assessed_at,
        number=number + 1,
        tag=tag,
    )


def _first_check_in_not_late(
    profile: Profile,
    episode: EpisodeView,
    *,
    number: int,
    tag: str,
    due_at: datetime,
    now: datetime,
) -> ScheduleMessage:
    """The check-in that carries a chain on past check-in `number`, dropped as too late: the
    first of its successors not too late itself, so that a long outage is skipped at once."""
    follow = _next_check_in(profile, episode, number=number, tag=tag, due_at=due_at, out=due_at)
    while now - follow.due_at > CHECKIN_MAX_LATENESS:
        follow = _next_check_in(
            profile,
            episode,
            number=int(follow.payload["n"]),
            tag=tag,
            due_at=follow.due_at,
            out=follow.due_at,
        )
    return follow
