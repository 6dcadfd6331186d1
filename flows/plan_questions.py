"""The runner's own questions, answered from /plan with a button each (pure).

Four questions runners ask while their ankle recovers, each answered for their care path and
where they are today, and only when asked (never pushed into every message): which
cross-training is allowed today (bike, pool, elliptical, with the gates that open each), which
painkillers to think about (never doses), brace or tape, and the staged return to racing.
The day thresholds and the racing stages are product rules (docs/clinical-basis.md), and the
templates say so in the runner's words.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from flows import triage
from flows.effects import Outcome
from flows.profile import Profile
from flows.replies import info
from flows.rules import flagged
from flows.types import (
    HIGH_RISK_BONE_SITES,
    TENDON_PATHS,
    Button,
    ButtonAction,
    CarePath,
    Disposition,
    PlanQuestion,
    Reply,
    Started,
    WeightBearing,
)
from flows.words import N_

LABELS = {
    PlanQuestion.CROSS_TRAINING: N_("Cross-training"),
    PlanQuestion.PAINKILLERS: N_("Painkillers"),
    PlanQuestion.BRACE: N_("Brace or tape"),
    PlanQuestion.RACING: N_("Back to racing"),
}


def question_buttons() -> tuple[tuple[Button, ...], ...]:
    """Two rows of two question buttons, for /plan."""
    buttons = [Button(label, ButtonAction.QUESTION, "", q) for q, label in LABELS.items()]
    return (tuple(buttons[:2]), tuple(buttons[2:]))


class CrossTrainingGroup(StrEnum):
    """Which row of the cross-training table a care path reads (template keys)."""

    SPRAIN = "sprain"
    TENDON = "tendon"
    BONE = "bone"
    BONE_HIGH_RISK = "bone_high"
    HEEL = "heel"
    CALF_TEAR = "calf_tear"


# The fewest days since the injury each "when did it start" answer means.
DAYS_AT_LEAST = {
    Started.TODAY: 0,
    Started.DAYS_1_2: 1,
    Started.DAYS_3_4: 3,
    Started.DAYS_5_10: 5,
    Started.DAYS_11_42: 11,
    Started.OVER_6_WEEKS: 42,
}
# PRODUCT RULE: after a sprain, cycling from day 3 if it is pain-free (LOVE's pain-free cardio;
# "day 3-4" in the clinical basis, the earlier end taken since pain still decides).
SPRAIN_CYCLING_FROM_DAY = 3
# No anti-inflammatory tablets in the first 48 h after an injury (R7).
NO_TABLETS_HOURS = 48
# No race until 8 weeks after a sprain (NHS: no strenuous running for up to 8 weeks).
SPRAIN_RACE_WEEKS = 8


def days_since_injury(profile: Profile, *, now: datetime) -> int | None:
    """The fewest whole days since the injury: the assessment's answer plus the days since."""
    episode = profile.episode
    if episode is None:
        return None
    started = triage.answers_of(episode.answers).started
    if started is None:
        return None
    return DAYS_AT_LEAST[started] + (now - episode.assessed_at).days


def walking_pain_free(profile: Profile) -> bool:
    """Whether the runner last said they walk normally (the latest check-in, else the
    assessment)."""
    episode = profile.episode
    if episode is None:
        return False
    walked = [c.walking for c in episode.check_ins if c.walking is not None]
    answer = walked[-1] if walked else triage.answers_of(episode.answers).weight_bearing
    return answer == WeightBearing.NORMAL


def cross_training_group(profile: Profile) -> CrossTrainingGroup | None:
    episode = profile.episode
    if episode is None:
        return None
    path = episode.care_path
    if path is CarePath.BONE_STRESS:
        site = triage.answers_of(episode.answers).bone_site
        # A site not asked about counts as a high-risk one, as an unsure answer does (R6).
        if (
            site is None
            or site in HIGH_RISK_BONE_SITES
            or episode.disposition is Disposition.EMERGENCY
        ):
            return CrossTrainingGroup.BONE_HIGH_RISK
        return CrossTrainingGroup.BONE
    if path is CarePath.CALF_TEAR:
        return CrossTrainingGroup.CALF_TEAR
    if path is CarePath.HEEL:
        return CrossTrainingGroup.HEEL
    if path in TENDON_PATHS or path is CarePath.INSTABILITY:
        # An unstable ankle without a new injury trains like a tendon: within comfort.
        return CrossTrainingGroup.TENDON
    return CrossTrainingGroup.SPRAIN


def cross_training(profile: Profile, *, now: datetime) -> Reply:
    days = days_since_injury(profile, now=now)
    return info(
        "plan/q_cross_training.j2",
        group=cross_training_group(profile),
        day=days,
        cycling_from=SPRAIN_CYCLING_FROM_DAY,
        cycling_open=days is not None and days >= SPRAIN_CYCLING_FROM_DAY,
        walking_pain_free=walking_pain_free(profile),
    )


def painkillers(profile: Profile, *, now: datetime) -> Reply:
    episode = profile.episode
    answers = triage.answers_of(episode.answers) if episode is not None else None
    days = days_since_injury(profile, now=now)
    sudden = episode is not None and episode.care_path in (CarePath.SPRAIN, CarePath.CALF_TEAR)
    # Unknown timing counts as recent: the safer reading.
    recent = sudden and (days is None or days * 24 < NO_TABLETS_HOURS)
    return info(
        "plan/q_painkillers.j2",
        blood_thinner=answers is not None and flagged(answers.blood_thinner),
        within_48_hours=recent,
        hours=NO_TABLETS_HOURS,
    )


def brace(profile: Profile) -> Reply:
    episode = profile.episode
    sprained = episode is not None and episode.care_path in (CarePath.SPRAIN, CarePath.INSTABILITY)
    return info("plan/q_brace.j2", sprained=sprained)


def racing(profile: Profile, *, now: datetime) -> Reply:
    episode = profile.episode
    path = episode.care_path if episode is not None else None
    days = days_since_injury(profile, now=now)
    earliest = None
    if path in (CarePath.SPRAIN, CarePath.INSTABILITY) and days is not None:
        earliest = now + timedelta(days=max(0, SPRAIN_RACE_WEEKS * 7 - days))
    return info(
        "plan/q_racing.j2",
        path=path.value if path is not None else "",
        tendon=path in TENDON_PATHS,
        earliest_race=earliest,
        zone=profile.zone,
        weeks=SPRAIN_RACE_WEEKS,
    )


def answer(profile: Profile, question: PlanQuestion, *, now: datetime) -> Outcome:
    """The answer to one question, with the other questions' buttons under it."""
    match question:
        case PlanQuestion.CROSS_TRAINING:
            reply = cross_training(profile, now=now)
        case PlanQuestion.PAINKILLERS:
            reply = painkillers(profile, now=now)
        case PlanQuestion.BRACE:
            reply = brace(profile)
        case PlanQuestion.RACING:
            reply = racing(profile, now=now)
    return Outcome(replies=(Reply(reply.template, reply.context, question_buttons()),))
