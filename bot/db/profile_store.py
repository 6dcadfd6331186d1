"""A runner's `flows.profile.Profile`: what the flows may need to know before an event.

`settings_profile` is the runner's settings alone, for the busy path of triage answers (no
query); `load_profile` adds the current episode with the assessment that opened it and its
check-ins, recent soreness, what is scheduled, which check-ins went unanswered and which
follow-ups reached the runner (only those may be answered), the plan's history and the
balance programme after recovery.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db import followup_store, programme_store, schedule_store
from bot.db.chat_store import ChatRow
from bot.db.models import (
    Assessment,
    CheckInRecord,
    Conversation,
    MessageState,
    Runner,
    ScheduledMessage,
    SorenessReport,
)
from flows import follow_up_schedule
from flows.checkin import (
    MESSAGE_KEY,
    CheckInStep,
    advice_reasons,
    exercises_done,
    morning_worse,
)
from flows.local_time import FollowUpKind
from flows.profile import CheckInView, EpisodeView, PlanEventView, Profile
from flows.types import CarePath, Disposition, SorenessSource

RECENT_SORENESS = 10
# A follow-up in one of these states never reached the runner. In any other (on its way, sent,
# or failed with an unknown outcome) it may be on their screen, and its buttons must work.
NEVER_DELIVERED = (
    MessageState.PENDING,
    MessageState.CLAIMED,
    MessageState.DROPPED,
    MessageState.CANCELLED,
)


def _last_interaction(session: Session, runner_id: int) -> datetime | None:
    """When the runner last did something that counts as writing to the bot."""
    candidates = [
        session.scalar(select(Conversation.updated_at).where(Conversation.runner_id == runner_id)),
        session.scalar(
            select(func.max(SorenessReport.at)).where(
                SorenessReport.runner_id == runner_id,
                SorenessReport.source != SorenessSource.ASSESSMENT,
            )
        ),
        session.scalar(
            select(func.max(CheckInRecord.at)).where(CheckInRecord.runner_id == runner_id)
        ),
    ]
    found = [_aware(c) for c in candidates if c is not None]
    return max(found) if found else None


def _aware(value: datetime) -> datetime:
    # func.max() bypasses the column type on SQLite, so the offset may be missing there.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _unanswered_check_ins(session: Session, runner_id: int) -> list[int]:
    """Check-in messages sent since the runner last wrote, oldest first."""
    since = _last_interaction(session, runner_id)
    query = select(ScheduledMessage.id).where(
        ScheduledMessage.runner_id == runner_id,
        ScheduledMessage.kind == FollowUpKind.CHECKIN,
        ScheduledMessage.state == MessageState.SENT,
    )
    if since is not None:
        query = query.where(ScheduledMessage.sent_at > since)
    return list(session.scalars(query.order_by(ScheduledMessage.sent_at, ScheduledMessage.id)))


def _sent_for_episode(
    session: Session, *, runner_id: int, assessed_at: datetime
) -> dict[str, frozenset[int]]:
    """The runner's check-ins and seen-checks that went out (or may have) for the episode
    assessed at `assessed_at`, by kind: the only ones their buttons may answer."""
    rows = session.execute(
        select(ScheduledMessage.id, ScheduledMessage.kind, ScheduledMessage.payload).where(
            ScheduledMessage.runner_id == runner_id,
            ScheduledMessage.kind.in_((FollowUpKind.CHECKIN, FollowUpKind.SEEN_CHECK)),
            ScheduledMessage.state.not_in([state.value for state in NEVER_DELIVERED]),
        )
    )
    key = follow_up_schedule.episode_key(assessed_at)
    found: dict[str, set[int]] = {FollowUpKind.CHECKIN: set(), FollowUpKind.SEEN_CHECK: set()}
    for message_id, kind, payload in rows:
        # The payload names the episode, as `flows.due_messages.compose_due` checks before sending;
        # JSON, so compared here rather than in SQL.
        if (payload or {}).get("episode") == key:
            found[kind].add(message_id)
    return {kind: frozenset(ids) for kind, ids in found.items()}


def check_in_view(record: CheckInRecord) -> CheckInView:
    """A stored check-in as the flows see it, with its exercise answers if it had them."""
    answers = record.answers or {}
    pain = answers.get(CheckInStep.EXERCISE_PAIN)
    return CheckInView(
        at=record.at,
        soreness=record.soreness,
        trend=record.trend,
        exercises_done=exercises_done(answers.get(CheckInStep.EXERCISES)),
        exercise_pain=int(pain) if pain is not None else None,
        morning_worse=morning_worse(answers.get(CheckInStep.MORNING)),
        walking=answers.get(CheckInStep.WALK),
    )


def settings_profile(runner: Runner | ChatRow) -> Profile:
    """The runner's settings alone, for events that need nothing more (no queries)."""
    return Profile(
        runner_id=runner.id,
        zone=runner.zone,
        reminder_time=runner.reminder_time,
        reminders_paused=runner.reminders_paused,
        followups_stopped=runner.followups_stopped,
    )


def load_profile(session: Session, *, runner: Runner | ChatRow) -> Profile:
    """Everything the flows may need to know about the runner before an event (see module doc);
    `runner` is their ORM row or the hot path's joined row."""
    episode_row = followup_store.current_episode(session, runner_id=runner.id)
    episode = None
    answered: set[int] = set()
    sent: dict[str, frozenset[int]] = {}
    if episode_row is not None:
        sent = _sent_for_episode(session, runner_id=runner.id, assessed_at=episode_row.assessed_at)
        assessment = (
            session.get(Assessment, episode_row.assessment_id)
            if episode_row.assessment_id is not None
            else None
        )
        records = followup_store.check_ins_for(session, episode_id=episode_row.id)
        answered = {
            int(r.answers[MESSAGE_KEY])
            for r in records
            if str(r.answers.get(MESSAGE_KEY, "")).isdigit()
        }
        episode = EpisodeView(
            assessed_at=episode_row.assessed_at,
            disposition=Disposition[episode_row.disposition],
            location=episode_row.location,
            care_path=CarePath(episode_row.care_path),
            pain_at_assessment=episode_row.pain_at_assessment,
            phase=episode_row.phase,
            status=episode_row.status,
            reasons=advice_reasons(
                assessment.reasons if assessment else (), [r.answers or {} for r in records]
            ),
            answers=dict(assessment.answers) if assessment else {},
            check_ins=tuple(check_in_view(r) for r in records if r.trend),
        )
    soreness = followup_store.recent_soreness(session, runner_id=runner.id, limit=RECENT_SORENESS)
    upcoming = schedule_store.pending_for(session, runner_id=runner.id)
    unanswered = _unanswered_check_ins(session, runner.id)
    sent_check_ins = sent.get(FollowUpKind.CHECKIN, frozenset())
    return replace(
        settings_profile(runner),
        episode=episode,
        soreness=tuple((r.at, r.value) for r in soreness),
        upcoming=tuple((m.kind, m.due_at) for m in upcoming),
        unanswered_checkins=len(unanswered),
        answered_messages=frozenset(answered),
        # Only a check-in of the current episode: a typed score is not an answer to one an
        # earlier episode left open.
        open_check_in=unanswered[-1]
        if unanswered and unanswered[-1] not in answered and unanswered[-1] in sent_check_ins
        else None,
        sent_check_ins=sent_check_ins,
        sent_seen_checks=sent.get(FollowUpKind.SEEN_CHECK, frozenset()),
        plan_events=tuple(
            PlanEventView(at=e.at, kind=e.kind, data=dict(e.data))
            for e in followup_store.plan_events_for(
                session, runner_id=runner.id, episode_id=episode_row.id
            )
        )
        if episode_row is not None
        else (),
        programme=programme_store.latest_programme(session, runner_id=runner.id),
    )
