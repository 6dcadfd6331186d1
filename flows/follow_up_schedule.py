"""When follow-ups go out: the check-ins or seen-check an assessment starts, daily reminders,
and check-ins started again after a quiet spell, as `ScheduleMessage` effects (pure).

Check-ins follow an assessment at 24, 48 and 72 hours (home care) and a seen-check follows an
urgent outcome, in the runner's daytime when their zone is known; each has an idempotency key,
so scheduling it twice is a no-op.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time

from flows.care_paths import plan_start
from flows.effects import (
    CancelMessages,
    ChangeSettings,
    Effect,
    OpenEpisode,
    RecordAssessment,
    RecordSoreness,
    ScheduleMessage,
)
from flows.local_time import (
    DAILY_CHECKIN_INTERVAL,
    HOME_CARE_CHECKIN_DELAYS,
    SEEN_CHECK_DELAYS,
    FollowUpKind,
    checkin_due_times,
    local_date_of,
    next_daily_checkin,
    next_local_occurrence,
)
from flows.profile import EpisodeView, Profile
from flows.rules import Answers
from flows.types import Disposition, EpisodeStatus, Location, SorenessSource

FOLLOW_UP_KINDS = (FollowUpKind.CHECKIN, FollowUpKind.SEEN_CHECK, FollowUpKind.SAFETY_NET)


# Without a known zone, follow-ups keep the time of day of the assessment (the runner was awake
# then) by adding whole days, instead of guessing a daytime window in the wrong zone.
NOMINAL_DELAYS = {
    Disposition.HOME_CARE: HOME_CARE_CHECKIN_DELAYS,
    Disposition.SEE_CLINICIAN: (SEEN_CHECK_DELAYS[Disposition.SEE_CLINICIAN],),
    Disposition.EMERGENCY: (SEEN_CHECK_DELAYS[Disposition.EMERGENCY],),
}


def episode_key(assessed_at: datetime) -> str:
    """Identifies an episode in payloads and idempotency keys (its assessment time)."""
    return assessed_at.strftime("%Y%m%dT%H%M%S")


def follow_up_times(
    profile: Profile, *, assessed_at: datetime, disposition: Disposition
) -> list[tuple[str, datetime]]:
    """The check-ins or seen-check an assessment starts, in the runner's daytime if known."""
    if profile.zone:
        return checkin_due_times(
            assessed_at=assessed_at, disposition=disposition, zone=profile.zone
        )
    kind = FollowUpKind.CHECKIN if disposition is Disposition.HOME_CARE else FollowUpKind.SEEN_CHECK
    return [(kind, assessed_at + delay) for delay in NOMINAL_DELAYS[disposition]]


def schedule_follow_up(
    profile: Profile,
    *,
    kind: str,
    due_at: datetime,
    assessed_at: datetime,
    number: int,
    tag: str = "",
) -> ScheduleMessage:
    """A check-in or seen-check of an episode; its key makes scheduling it twice a no-op
    (`tag` tells apart a chain started again later, which may reuse a number). The payload
    carries the tag on, so that the rest of such a chain reuses no number either."""
    key = f"r{profile.runner_id}:e{episode_key(assessed_at)}:{kind}:{number}{tag}"
    payload: dict[str, str | int] = {
        "episode": episode_key(assessed_at),
        "n": number,
        "zone": profile.zone or "UTC",
    }
    if tag:
        payload["tag"] = tag
    return ScheduleMessage(kind=kind, due_at=due_at, key=key, payload=payload)


def next_reminder(profile: Profile, *, after: datetime) -> ScheduleMessage | None:
    """The next daily exercise reminder, when reminders are on and a home-care plan runs."""
    episode = profile.episode
    if (
        profile.reminder_time is None
        or profile.zone is None
        or profile.reminders_paused
        or profile.followups_stopped
        or episode is None
        or episode.status != EpisodeStatus.ACTIVE
        or episode.disposition is not Disposition.HOME_CARE
    ):
        return None
    local = time.fromisoformat(profile.reminder_time)
    due = next_local_occurrence(after=after, local_time=local, zone=profile.zone)
    day = local_date_of(due, profile.zone)
    key = f"r{profile.runner_id}:reminder:{day.isoformat()}:{profile.reminder_time}"
    payload = {"zone": profile.zone, "time": profile.reminder_time}
    return ScheduleMessage(kind=FollowUpKind.REMINDER, due_at=due, key=key, payload=payload)


def after_assessment(
    profile: Profile, assessment: RecordAssessment, answers: Answers
) -> tuple[Effect, ...]:
    """A finished assessment (`answers` are its typed answers) opens an episode: soreness
    recorded, follow-ups scheduled."""
    disposition = assessment.decision.disposition
    at = assessment.completed_at
    # The plan starts where its first session did (flows.advice), so the two agree.
    phase = plan_start(answers, assessment.path.path)
    effects: list[Effect] = [
        # An emergency can end the questions before the pain score; 0 stands for "not asked"
        # (the pain at assessment only matters for S5, which applies to home care).
        OpenEpisode(
            disposition=disposition,
            location=answers.location or Location.ALL_OVER,
            pain_at_assessment=answers.pain or 0,
            assessed_at=at,
            care_path=assessment.path.path,
            phase=phase,
        ),
        CancelMessages(FOLLOW_UP_KINDS),
    ]
    if profile.followups_stopped:
        effects.append(ChangeSettings({"followups_stopped": False}))
        profile = replace(profile, followups_stopped=False)
    if answers.pain is not None:
        effects.append(RecordSoreness(at=at, value=answers.pain, source=SorenessSource.ASSESSMENT))
    kind, due = follow_up_times(profile, assessed_at=at, disposition=disposition)[0]
    effects.append(schedule_follow_up(profile, kind=kind, due_at=due, assessed_at=at, number=1))
    # A reminder time chosen before there was a plan starts with the plan.
    opened = EpisodeView(
        assessed_at=at,
        disposition=disposition,
        location=answers.location or Location.ALL_OVER,
        care_path=assessment.path.path,
        pain_at_assessment=answers.pain or 0,
        phase=phase,
        status=EpisodeStatus.ACTIVE,
        answers=dict(assessment.answers),
    )
    reminder = next_reminder(replace(profile, episode=opened), after=at)
    if reminder is not None:
        effects += [CancelMessages((FollowUpKind.REMINDER,)), reminder]
    return tuple(effects)


def restart_check_ins(profile: Profile, *, now: datetime) -> tuple[Effect, ...]:
    """After a quiet spell (two unanswered check-ins) the runner wrote: check in again tomorrow."""
    episode = profile.episode
    if (
        episode is None
        or episode.status != EpisodeStatus.ACTIVE
        or profile.followups_stopped
        or episode.disposition is not Disposition.HOME_CARE
        or any(kind == FollowUpKind.CHECKIN for kind, _ in profile.upcoming)
    ):
        return ()
    due = (
        next_daily_checkin(after=now, zone=profile.zone)
        if profile.zone
        else now + DAILY_CHECKIN_INTERVAL
    )
    # The check-ins sent so far: those answered and those that went unanswered.
    number = len(episode.check_ins) + profile.unanswered_checkins + 1
    return (
        schedule_follow_up(
            profile,
            kind=FollowUpKind.CHECKIN,
            due_at=due,
            assessed_at=episode.assessed_at,
            number=number,
            tag=f":again{now:%Y%m%d%H%M}",
        ),
    )
