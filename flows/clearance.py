"""A clinician cleared the runner for home exercises: the plan starts on their care path.

After "See a clinician" or "Emergency" the bot asks whether the runner was seen. A runner who
was, and whom the clinician cleared for home care, sends /cleared or taps its button (the
reference: a return to exercise starts on home care or once a clinician has cleared it). A new
assessment would not do: a suspected bone stress injury answers the same and is sent back to
the clinician. From then on the episode is followed up as home care: the path's starting phase,
check-ins from the next day, the daily reminder if one is set, and the path's first-days care
with today's session. The assessment keeps what the rules decided; a plan event records the
clearance and the disposition it replaced.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from flows import triage
from flows.advice import first_days_replies
from flows.care_paths import PathChoice, plan_start
from flows.checks import RUN_NEEDS_CLINICIAN, cleared_by_clinician
from flows.effects import CancelMessages, ChangeEpisode, Effect, Outcome, RecordPlanEvent
from flows.exercise_plan import todays_session
from flows.follow_up_schedule import next_reminder, restart_check_ins
from flows.local_time import FollowUpKind
from flows.profile import EpisodeView, Profile
from flows.replies import info
from flows.types import Disposition, EpisodeStatus, PlanEventKind

CLEARED_COMMAND = "cleared"
# The plan event's data: the disposition the clearance replaced (a `Disposition` name).
CLEARED_FROM = "from"


def can_be_cleared(profile: Profile) -> bool:
    """An active episode that sent the runner to be seen (home care has its plan already)."""
    episode = profile.episode
    return (
        episode is not None
        and episode.status == EpisodeStatus.ACTIVE
        and episode.disposition is not Disposition.HOME_CARE
    )


def clears_running(profile: Profile) -> bool:
    """A home-care episode on a path whose running waits for a clinician (not yet cleared)."""
    episode = profile.episode
    return (
        episode is not None
        and episode.status in (EpisodeStatus.ACTIVE, EpisodeStatus.RESOLVED)
        and episode.disposition is Disposition.HOME_CARE
        and episode.care_path in RUN_NEEDS_CLINICIAN
        and not cleared_by_clinician(profile)
    )


def _cleared(episode: EpisodeView, now: datetime) -> RecordPlanEvent:
    """The plan event that records the clearance and the disposition it replaced."""
    return RecordPlanEvent(
        at=now, kind=PlanEventKind.CLEARED, data={CLEARED_FROM: episode.disposition.code}
    )


def start_cleared_plan(profile: Profile, *, now: datetime) -> Outcome:
    """Follow the episode up as home care from now on, on its care path; on a home-care path
    whose running waits for a clinician, record that they have checked it."""
    episode = profile.episode
    if episode is not None and clears_running(profile):
        return Outcome(
            replies=(info("plan/cleared_running.j2"),), effects=(_cleared(episode, now),)
        )
    if episode is None or not can_be_cleared(profile):
        return Outcome(replies=(info("plan/nothing_to_clear.j2", has_episode=episode is not None),))
    answers = triage.answers_of(episode.answers)
    phase = plan_start(answers, episode.care_path)
    cleared = replace(
        profile,
        episode=replace(episode, disposition=Disposition.HOME_CARE, phase=int(phase)),
    )
    effects: tuple[Effect, ...] = (
        ChangeEpisode({"disposition": Disposition.HOME_CARE.code, "phase": int(phase)}),
        _cleared(episode, now),
        CancelMessages((FollowUpKind.SEEN_CHECK,)),
        *restart_check_ins(cleared, now=now),
    )
    reminder = next_reminder(cleared, after=now)
    if reminder is not None:
        effects += (CancelMessages((FollowUpKind.REMINDER,)), reminder)
    choice = PathChoice(episode.care_path)
    context = {"path": choice.path.value, "fallback": False}
    return Outcome(
        replies=(
            info("plan/cleared.j2", path=choice.path.value),
            *first_days_replies(answers, choice, context, waiting=False),
            todays_session(cleared, now=now),
        ),
        effects=effects,
    )
