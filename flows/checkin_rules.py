"""What a check-in decides: re-triage, see a clinician, resolved, or carry on (pure).

After an assessment the bot checks in on the runner's soreness (reference section 6). Each
answered check-in is a `CheckIn`; `decide_check_in` weighs the newest one against the episode
so far, with the same rules as the first assessment: any red flag re-triages at once; worse at
two check-ins in a row is S6; five or more days (120 h) after a home-care assessment, soreness
not lower than the pain reported then is S5; pain 0-1/10 at three check-ins in a row resolves
the episode. Unanswered check-ins stop nudging after two in a row (one safety-net message
instead). The time is always passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from flows.progression import is_resolved
from flows.rules import Answers, Decision, decide
from flows.types import Disposition, Trend, WeightBearing, YesNo

# S5 counts from about 5 days after the first assessment (reference sections 1 and 6).
NOT_IMPROVING_AFTER = timedelta(hours=120)
# Two unanswered check-ins in a row: one safety-net message, then quiet until the runner writes.
UNANSWERED_LIMIT = 2
# S6: worse at this many check-ins in a row (docs/clinical-basis.md, "See a clinician").
WORSE_CHECK_INS_IN_A_ROW = 2


class Verdict(StrEnum):
    """What an answered check-in decided; stored with it (`check_ins.verdict`)."""

    RETRIAGE = "retriage"  # a red flag: the same outcome messages as a first assessment
    SEE_CLINICIAN = "see_clinician"  # S5 or S6
    RESOLVED = "resolved"  # stop check-ins, move to prevention
    CONTINUE = "continue"
    # A seen-check's answer, recorded as a check-in too; never decided by `decide_check_in`.
    SEEN = "seen"
    NOT_SEEN = "not_seen"


@dataclass(frozen=True, slots=True)
class CheckIn:
    """One answered check-in."""

    at: datetime
    soreness: int
    trend: Trend
    can_take_four_steps: bool = True
    # The red flags re-screened (flows.checkin.RESCREENED), by the triage answer each fills.
    flags: Mapping[str, YesNo] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Episode:
    """The runner's episode as far as check-ins need it."""

    assessed_at: datetime
    disposition: Disposition
    pain_at_assessment: int
    check_ins: tuple[CheckIn, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckInDecision:
    verdict: Verdict
    decision: Decision | None = None
    reasons: tuple[str, ...] = ()


def rescreen_answers(check_in: CheckIn) -> Answers:
    """The check-in's red-flag answers as triage answers, so the same rules judge them."""
    values = dict(check_in.flags)
    walking = WeightBearing.PAINFUL if check_in.can_take_four_steps else WeightBearing.UNABLE
    return Answers(weight_bearing=walking, **values)


def is_worse_twice_in_a_row(check_ins: Sequence[CheckIn]) -> bool:
    """S6: worse than the check-in before, at the last two check-ins."""
    last = check_ins[-WORSE_CHECK_INS_IN_A_ROW:]
    return len(last) == WORSE_CHECK_INS_IN_A_ROW and all(c.trend is Trend.WORSE for c in last)


def is_not_improving(episode: Episode, latest: CheckIn) -> bool:
    """S5 at a check-in: 120 h or more after home care began, soreness not below the start."""
    return (
        episode.disposition is Disposition.HOME_CARE
        and latest.at - episode.assessed_at >= NOT_IMPROVING_AFTER
        and latest.soreness >= episode.pain_at_assessment
    )


def decide_check_in(episode: Episode, latest: CheckIn) -> CheckInDecision:
    """Weigh the newest check-in; red flags beat S5/S6, which beat resolving."""
    check_ins = (*episode.check_ins, latest)
    extra = []
    if is_not_improving(episode, latest):
        extra.append("S5")
    if is_worse_twice_in_a_row(check_ins):
        extra.append("S6")
    decision = decide(rescreen_answers(latest), extra_reasons=tuple(extra))
    if decision.disposition is Disposition.EMERGENCY:
        return CheckInDecision(Verdict.RETRIAGE, decision, decision.reasons)
    if decision.disposition is Disposition.SEE_CLINICIAN:
        return CheckInDecision(Verdict.SEE_CLINICIAN, decision, decision.reasons)
    if is_resolved([c.soreness for c in check_ins]):
        return CheckInDecision(Verdict.RESOLVED)
    return CheckInDecision(Verdict.CONTINUE)
