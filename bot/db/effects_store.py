"""What a flow decided, carried out in the database: every `flows.effects.Effect`, in order.

`apply_effects` is the one place the outcome of an event (or of a due follow-up) changes a
runner's rows, inside the caller's transaction: record an assessment and open the episode it
starts, record soreness, check-ins, exercise days, plan events and the balance programme,
schedule or cancel follow-ups, change settings or the episode, or erase the runner altogether.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.db import followup_store, privacy_store, programme_store, schedule_store, store
from flows.effects import (
    CancelMessages,
    ChangeEpisode,
    ChangeSettings,
    DeleteEverything,
    Effect,
    OpenEpisode,
    RecordAssessment,
    RecordCheckIn,
    RecordExercise,
    RecordPlanEvent,
    RecordProgrammeSession,
    RecordSoreness,
    ScheduleMessage,
    StartProgramme,
    StopProgramme,
)


def apply_effects(
    session: Session, *, runner_id: int, effects: tuple[Effect, ...], now: datetime
) -> None:
    """Carry out what the flow decided, in the caller's transaction, in order.

    Effects after an `OpenEpisode` belong to the episode it opened; an `OpenEpisode` points at
    the assessment the `RecordAssessment` before it recorded. Other effects change the
    episode's fields, never which episode is current.
    """
    if not effects:
        return
    episode_id = followup_store.current_episode_id(session, runner_id=runner_id)
    assessment_id: int | None = None
    for effect in effects:
        match effect:
            case RecordAssessment(decision=decision):
                assessment_id = store.record_assessment(
                    session,
                    runner_id=runner_id,
                    answers=dict(effect.answers),
                    disposition=decision.disposition.code,
                    reasons=list(decision.reasons),
                    rules_version=decision.rules_version,
                    care_path=effect.path.path.value,
                    plyometric_gate_open=decision.plyometric_gate_open,
                    started_at=effect.started_at,
                    completed_at=effect.completed_at,
                )
            case OpenEpisode():
                episode_id = followup_store.open_episode(
                    session,
                    runner_id=runner_id,
                    assessment_id=assessment_id,
                    disposition=effect.disposition.code,
                    location=effect.location,
                    pain_at_assessment=effect.pain_at_assessment,
                    assessed_at=effect.assessed_at,
                    care_path=effect.care_path.value,
                    phase=effect.phase,
                    now=now,
                )
            case ScheduleMessage():
                schedule_store.schedule(session, runner_id=runner_id, message=effect, now=now)
            case CancelMessages(kinds=kinds):
                schedule_store.cancel_pending(
                    session, runner_id=runner_id, now=now, kinds=kinds or None
                )
            case RecordSoreness():
                followup_store.record_soreness(
                    session,
                    runner_id=runner_id,
                    episode_id=episode_id,
                    at=effect.at,
                    value=effect.value,
                    source=effect.source,
                )
            case RecordCheckIn():
                followup_store.record_check_in(
                    session,
                    runner_id=runner_id,
                    episode_id=episode_id,
                    at=effect.at,
                    answers=dict(effect.answers),
                    soreness=effect.soreness,
                    trend=effect.trend,
                    verdict=effect.verdict,
                )
            case RecordExercise():
                followup_store.log_exercise(
                    session,
                    runner_id=runner_id,
                    episode_id=episode_id,
                    local_date=effect.local_date,
                    result=effect.result,
                    at=effect.at,
                )
            case ChangeSettings(changes=changes):
                followup_store.update_runner_settings(
                    session, runner_id=runner_id, now=now, **changes
                )
            case ChangeEpisode(changes=changes) if episode_id is not None:
                followup_store.update_episode(session, episode_id=episode_id, now=now, **changes)
            case RecordPlanEvent():
                followup_store.record_plan_event(
                    session,
                    runner_id=runner_id,
                    episode_id=episode_id,
                    at=effect.at,
                    kind=effect.kind,
                    data=dict(effect.data),
                )
            case StartProgramme():
                programme_store.start_programme(
                    session,
                    runner_id=runner_id,
                    episode_id=episode_id,
                    first_day=effect.first_day,
                    started_at=effect.at,
                )
            case StopProgramme():
                programme_store.stop_programme(session, runner_id=runner_id, now=effect.at)
            case RecordProgrammeSession():
                programme_store.record_session(
                    session,
                    runner_id=runner_id,
                    local_date=effect.local_date,
                    result=effect.result.value,
                    at=effect.at,
                )
            case DeleteEverything():
                # Write out what is pending first, then forget every loaded object: none of
                # them may be flushed again after their rows are gone.
                session.flush()
                privacy_store.delete_runner(session, runner_id=runner_id)
                session.expunge_all()
                return
