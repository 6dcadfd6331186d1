"""The details under an outcome, sent when the runner taps Why, What to do, Warning signs or
Today's exercises (pure).

A detail is built from the runner's current episode: the stored assessment and the advice it
has now (a check-in may have changed it), never from the tapped message. A button of another
assessment (its key, `flows.advice.assessment_key`, names other answers), or with no episode
open, is stale and says so.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from flows import triage
from flows.advice import assessment_key, first_days_replies, outcome_context
from flows.care_paths import PathChoice, choose_path
from flows.effects import Outcome
from flows.exercise_plan import has_plan, howto_buttons, no_plan, todays_session
from flows.flow import with_current_question
from flows.profile import EpisodeView, Profile
from flows.replies import info
from flows.rules import Decision, see_within
from flows.state import DialogState
from flows.types import Disposition, OutcomeDetail, Reply


def decision_of(episode: EpisodeView) -> Decision:
    """The episode's current advice as a decision (its gate is the plan's business)."""
    waiting = episode.disposition is Disposition.SEE_CLINICIAN
    return Decision(
        episode.disposition,
        episode.reasons,
        (),
        rules_version="",
        see_within=see_within(episode.reasons) if waiting else None,
    )


def detail_replies(
    detail: OutcomeDetail, episode: EpisodeView, profile: Profile, *, now: datetime
) -> tuple[Reply, ...]:
    """The messages one detail button sends for `episode`."""
    answers = triage.answers_of(episode.answers)
    chosen = choose_path(answers)
    choice = PathChoice(episode.care_path, chosen.fallback and chosen.path is episode.care_path)
    context = outcome_context(answers, decision_of(episode), choice)
    waiting = episode.disposition is not Disposition.HOME_CARE
    match detail:
        case OutcomeDetail.WHY:
            return (Reply("triage/detail_why.j2", context),)
        case OutcomeDetail.SIGNS:
            return (Reply("triage/detail_signs.j2", context),)
        case OutcomeDetail.TODO if waiting:
            return (
                Reply("triage/detail_see_clinician.j2", context),
                *first_days_replies(answers, choice, context, waiting=True),
            )
        case OutcomeDetail.TODO:
            return first_days_replies(answers, choice, context, waiting=False)
    if not has_plan(profile):
        return no_plan().replies
    session = todays_session(profile, now=now)
    ids = [item.exercise.id for item in session.context["session"].items]
    return (replace(session, buttons=howto_buttons(ids)),)


def show_detail(
    state: DialogState | None,
    profile: Profile,
    detail: OutcomeDetail,
    key: str,
    *,
    now: datetime,
) -> Outcome:
    """A detail of the runner's current episode; a button of another assessment is stale."""
    current = profile.episode
    if current is None or assessment_key(triage.answers_of(current.answers)) != key:
        note = info("triage/stale_button.j2", active=state is not None and state.active)
        return with_current_question(state, note, now=now)
    return Outcome(replies=detail_replies(detail, current, profile, now=now))
