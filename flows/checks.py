"""The self-tests and readiness checks: which one is due, when, and what each opens (pure).

Pain alone is not enough to move a plan on (reference, objective progression): single-leg heel
raises against the other leg open the balance phase once tried and the hopping phase at 90 %;
a 30-second single-leg stance opens hopping too; tendon paths also need a brisk walk and a
jog on the spot first (plyometrics come late for a tendon). One check or one step-up a day at
most, each judged on the next morning before the next is offered (R9, the 24-hour rule of the
pain-monitoring model). Every hold comes as a `Hold`: a code and the numbers its sentence
needs, so the runner is told why and what will open it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flows.local_time import local_date_of
from flows.path_plans import plan_for
from flows.profile import Profile
from flows.sessions import ACCEPTABLE_PAIN_MAX
from flows.types import (
    TENDON_PATHS,
    CarePath,
    Check,
    EpisodeStatus,
    Phase,
    PhaseEventKey,
    PlanEventKind,
    ReadinessEventKey,
)

# R9: a check or a step-up at least 24 h after the previous one.
CHECK_SPACING = timedelta(hours=24)

# Heel raises: the sore leg against the other (limb symmetry index); 90 % is the primary pass
# mark. A count of 20-25 is only a secondary guide (healthy medians are 21-24 and fall with
# age, so a fixed 25 would fail about half of healthy women): shown, never a pass mark.
HEEL_RAISE_LSI_MIN = 90
HEEL_RAISE_COUNT_GUIDE = 20
# PRODUCT RULE: 30 s on one leg without touching down, eyes open, later eyes closed (the 30-s
# number is a common guide, not from a study).
STANCE_SECONDS = 30
# PRODUCT RULE: 10 single-leg hops with pain at or under the run limit, no flare next morning.
HOP_COUNT = 10

# The walk-run pain ceiling (R8): 2/10 generally; a bone is not run on through pain (0/10 at
# the bone); a tendon may keep running within the pain-monitoring model (up to 5/10 during,
# settled by the next morning).
RUN_PAIN_MAX = 2
BONE_RUN_PAIN_MAX = 0
TENDON_RUN_PAIN_MAX = ACCEPTABLE_PAIN_MAX


def run_pain_max(path: CarePath) -> int:
    """The highest pain during a run (and during the hop test) that still counts as clean."""
    if path is CarePath.BONE_STRESS:
        return BONE_RUN_PAIN_MAX
    if path in TENDON_PATHS:
        return TENDON_RUN_PAIN_MAX
    return RUN_PAIN_MAX


def check_pain_max(path: CarePath) -> int:
    """The pain limit of a check: the run limit, but never above 2/10 (hops are impact)."""
    return min(run_pain_max(path), RUN_PAIN_MAX)


# A possible bone stress injury or calf tear is not run on before a clinician has checked it,
# even where the answers allowed home care (a fallback to the bone path, a sudden pain at the
# back without a pop): the safer reading of the reference, which gives these paths no home
# return-to-run rule without a clinician.
RUN_NEEDS_CLINICIAN = frozenset({CarePath.BONE_STRESS, CarePath.CALF_TEAR})


def top_phase(path: CarePath) -> Phase:
    """The highest phase a plan on this path reaches (`flows.path_plans`). A bone plan stops
    at strength; its self-tests, all done on one leg, also wait for the clinician's check that
    running needs anyway (`next_check`)."""
    return plan_for(path).top_phase


# PRODUCT RULE: tendon and plantar loading programmes bring hops in late, after weeks of
# strength work (the trials load for 12 weeks; the order of the return-to-sport programme puts
# plyometrics last, its timing UNSOURCED): not before 6 weeks after the assessment.
LATE_HOP_PATHS = TENDON_PATHS | {CarePath.HEEL}
LOADING_BEFORE_HOPS = timedelta(weeks=6)


def hops_open_at(profile: Profile) -> datetime | None:
    """The earliest moment hops may start on this path (None: no such limit)."""
    episode = profile.episode
    if episode is None or episode.care_path not in LATE_HOP_PATHS:
        return None
    return episode.assessed_at + LOADING_BEFORE_HOPS


def cleared_by_clinician(profile: Profile) -> bool:
    """A clinician cleared the runner (`flows.clearance`, recorded as a plan event)."""
    return any(e.kind == PlanEventKind.CLEARED for e in profile.plan_events)


def runs_within_pain_model(path: CarePath) -> bool:
    """Tendon paths may keep running within the pain-monitoring model, no checks first."""
    return path in TENDON_PATHS


# The phase from which each check is offered, in the order they are offered.
CHECK_PHASE: dict[Check, Phase] = {
    Check.HEEL_RAISES: Phase.STRENGTH,
    Check.WALK: Phase.STRENGTH,
    Check.STANCE: Phase.BALANCE,
    Check.JOG: Phase.BALANCE,
    Check.SQUATS: Phase.BALANCE,
    Check.HOPS: Phase.BALANCE,
    Check.STANCE_EYES_CLOSED: Phase.PLYOMETRIC,
}

# Eyes-closed stance is asked where balance is the problem: after a sprain and with an ankle
# that gives way (a PRODUCT RULE: re-sprain risk is what balance training lowers).
_EYES_CLOSED_PATHS = frozenset({CarePath.SPRAIN, CarePath.INSTABILITY})


def checks_for(path: CarePath) -> tuple[Check, ...]:
    """The checks a runner on `path` takes, in order."""
    return tuple(
        c for c in CHECK_PHASE if c is not Check.STANCE_EYES_CLOSED or path in _EYES_CLOSED_PATHS
    )


def hop_checks(path: CarePath) -> tuple[Check, ...]:
    """The checks that must pass before the plan enters the hopping phase: heel raises at
    90 %, the 30-s stance and the hop test (10 hops at 2/10 or less, no morning flare: the
    reference's plyometric entry criteria, its numbers a PRODUCT RULE)."""
    needed = (Check.HEEL_RAISES, Check.STANCE, Check.HOPS)
    if path in TENDON_PATHS:
        # Plyometrics come late for a tendon: after strength and walking/jogging tolerance.
        needed += (Check.WALK, Check.JOG)
    return needed


def run_checks(path: CarePath) -> tuple[Check, ...]:
    """The checks that must pass before the walk-run (none for a tendon path)."""
    return () if runs_within_pain_model(path) else checks_for(path)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of a check, with the next morning's verdict once known (None: not yet)."""

    at: datetime
    check: Check
    passed: bool
    morning_worse: bool | None = None
    sore: int | None = None
    other: int | None = None
    pain: int | None = None

    @property
    def counts(self) -> bool:
        """Passed and the next morning was no worse."""
        return self.passed and self.morning_worse is False


def lsi_percent(sore: int, other: int) -> int:
    """The sore leg's heel raises as a whole percentage of the other leg's (0 if none)."""
    return sore * 100 // other if other > 0 else 0


def heel_raises_pass(sore: int, other: int) -> bool:
    return other > 0 and sore * 100 >= HEEL_RAISE_LSI_MIN * other


def attempts(profile: Profile) -> list[Attempt]:
    """Every check tried, oldest first, each with its next morning as far as it is known.

    The morning comes from the readiness dialog's own morning question, or from a check-in
    on a later day that asked how the morning after was.
    """
    zone = profile.zone or "UTC"
    found: list[Attempt] = []
    for event in sorted(profile.plan_events, key=lambda e: e.at):
        if event.kind != PlanEventKind.READINESS or ReadinessEventKey.CHECK not in event.data:
            continue
        data = event.data
        check = Check(data[ReadinessEventKey.CHECK])
        if ReadinessEventKey.MORNING_WORSE in data:
            for i in range(len(found) - 1, -1, -1):
                if found[i].check is check and found[i].morning_worse is None:
                    found[i] = _with_morning(found[i], bool(data[ReadinessEventKey.MORNING_WORSE]))
                    break
            continue
        found.append(
            Attempt(
                at=event.at,
                check=check,
                passed=bool(data[ReadinessEventKey.PASSED]),
                sore=data.get(ReadinessEventKey.SORE),
                other=data.get(ReadinessEventKey.OTHER),
                pain=data.get(ReadinessEventKey.PAIN),
            )
        )
    check_ins = profile.episode.check_ins if profile.episode is not None else ()
    for i, attempt in enumerate(found):
        if attempt.morning_worse is not None or not attempt.passed:
            continue
        day = local_date_of(attempt.at, zone)
        later = [
            c.morning_worse
            for c in check_ins
            if c.at > attempt.at and local_date_of(c.at, zone) > day and c.morning_worse is not None
        ]
        if later:
            found[i] = _with_morning(attempt, later[0])
    return found


def _with_morning(attempt: Attempt, worse: bool) -> Attempt:
    return Attempt(
        attempt.at, attempt.check, attempt.passed, worse, attempt.sore, attempt.other, attempt.pain
    )


def legacy_ready(profile: Profile) -> bool:
    """The five checks passed at once before 2026.12 (stored then as one event)."""
    return any(
        e.kind == PlanEventKind.READINESS and e.data.get(ReadinessEventKey.READY)
        for e in profile.plan_events
    )


def passed_checks(profile: Profile) -> frozenset[Check]:
    """The checks that count: passed, and the next morning no worse."""
    done = {a.check for a in attempts(profile) if a.counts}
    if legacy_ready(profile):
        done |= {Check.WALK, Check.STANCE, Check.SQUATS, Check.JOG, Check.HOPS}
    return frozenset(done)


def latest(profile: Profile, check: Check) -> Attempt | None:
    tried = [a for a in attempts(profile) if a.check is check]
    return tried[-1] if tried else None


def waiting_for_morning(profile: Profile) -> Attempt | None:
    """The check passed and not yet judged on its next morning (nothing moves on until it is)."""
    tried = attempts(profile)
    if tried and tried[-1].passed and tried[-1].morning_worse is None:
        return tried[-1]
    return None


def last_step_at(profile: Profile) -> datetime | None:
    """When the last check was tried or the plan last stepped up."""
    times = [a.at for a in attempts(profile)]
    times += [
        e.at
        for e in profile.plan_events
        if e.kind == PlanEventKind.PHASE
        and int(e.data.get(PhaseEventKey.TO, 0)) > int(e.data.get(PhaseEventKey.FROM, 0))
    ]
    return max(times) if times else None


def next_step_at(profile: Profile) -> datetime | None:
    """The earliest moment of the next check or step-up (None: no limit)."""
    last = last_step_at(profile)
    return last + CHECK_SPACING if last is not None else None


def too_soon(profile: Profile, now: datetime) -> bool:
    opens = next_step_at(profile)
    return opens is not None and now < opens


# Checks that land or jog: offered only while the plyometric gate is open (reference: the
# readiness checks start with the gate open), so no one hops on an ankle that still limps.
IMPACT_CHECKS = frozenset({Check.HOPS, Check.JOG})


def next_check(profile: Profile, *, impact_ok: bool = True) -> Check | None:
    """The check to offer next (None: none is due now).

    Only checks that open the next step are offered, so that a check does not take the day
    the step-up needs: below the hopping phase the checks for hopping that the phase has
    reached (in the strength phase, the heel-raise test only until it is first tried: trying
    it opens the balance phase), from the hopping phase on (or once the episode is resolved)
    the checks for the walk-run. One just failed waits behind any other that is due.
    """
    episode = profile.episode
    if episode is None:
        return None
    path = episode.care_path
    if path is CarePath.BONE_STRESS and not cleared_by_clinician(profile):
        return None
    done = passed_checks(profile)
    top = top_phase(path)
    phase = top if episode.status == EpisodeStatus.RESOLVED else episode.phase
    if phase < top:
        wanted = {c for c in hop_checks(path) if CHECK_PHASE[c] <= phase}
        if phase == Phase.STRENGTH and latest(profile, Check.HEEL_RAISES) is not None:
            wanted.discard(Check.HEEL_RAISES)
    else:
        wanted = set(run_checks(path))
    due = [
        c
        for c in checks_for(path)
        if c in wanted and c not in done and (impact_ok or c not in IMPACT_CHECKS)
    ]
    if Check.STANCE_EYES_CLOSED in due and Check.STANCE not in done:
        due.remove(Check.STANCE_EYES_CLOSED)
    tried = attempts(profile)
    if len(due) > 1 and tried and not tried[-1].passed and tried[-1].check in due:
        due.remove(tried[-1].check)
        due.append(tried[-1].check)
    return due[0] if due else None


class HoldCode(StrEnum):
    """Why the plan, hopping or running waits (each has its sentence in plan/_holds.j2)."""

    TOO_SOON = "too_soon"  # one check or step-up a day (`opens_at`)
    MORNING = "morning"  # a check waits for its next morning (`check`)
    GATE = "gate"  # the plyometric gate is closed (`blockers`)
    PHASE = "phase"  # hopping comes after the strength and balance phases (`phase`)
    HEEL_UNTRIED = "heel_untried"  # the heel-raise test has not been tried
    HEEL_BELOW = "heel_below"  # heel raises below 90 % (`sore`, `other`, `percent`)
    CHECK = "check"  # a check not passed yet (`check`)
    CLINICIAN = "clinician"  # running on this path waits for a clinician's check (/cleared)
    LOADING = "loading"  # tendon and heel: hops after weeks of loading (`opens_at`)
    BONE = "bone"  # a stressed bone: no hops in the home plan


@dataclass(frozen=True, slots=True)
class Hold:
    code: HoldCode
    context: Mapping[str, Any] = field(default_factory=dict)


def timing_holds(profile: Profile, now: datetime) -> tuple[Hold, ...]:
    """What the 24-hour rule and the next-morning rule hold back now."""
    holds: list[Hold] = []
    pending = waiting_for_morning(profile)
    if pending is not None:
        holds.append(Hold(HoldCode.MORNING, {"check": str(pending.check)}))
    opens = next_step_at(profile)
    if opens is not None and now < opens:
        holds.append(Hold(HoldCode.TOO_SOON, {"opens_at": opens}))
    return tuple(holds)


def _check_holds(profile: Profile, needed: Iterable[Check]) -> list[Hold]:
    done = passed_checks(profile)
    holds: list[Hold] = []
    for check in needed:
        if check in done:
            continue
        if check is Check.HEEL_RAISES:
            last = latest(profile, check)
            if last is None or last.sore is None or last.other is None:
                holds.append(Hold(HoldCode.HEEL_UNTRIED, {"lsi": HEEL_RAISE_LSI_MIN}))
            else:
                holds.append(
                    Hold(
                        HoldCode.HEEL_BELOW,
                        {
                            "sore": last.sore,
                            "other": last.other,
                            "percent": lsi_percent(last.sore, last.other),
                            "lsi": HEEL_RAISE_LSI_MIN,
                        },
                    )
                )
        else:
            holds.append(Hold(HoldCode.CHECK, {"check": str(check)}))
    return holds


def step_up_holds(
    profile: Profile, target: Phase, *, now: datetime, gate_blockers: tuple[str, ...]
) -> tuple[Hold, ...]:
    """Everything that keeps the plan from stepping up into `target` now (empty: it may)."""
    episode = profile.episode
    assert episode is not None
    holds = list(timing_holds(profile, now))
    if target is Phase.BALANCE and latest(profile, Check.HEEL_RAISES) is None:
        # Balance work follows strength: the heel-raise test marks where strength is.
        holds.append(Hold(HoldCode.HEEL_UNTRIED, {"lsi": HEEL_RAISE_LSI_MIN}))
    if target is Phase.PLYOMETRIC:
        holds += late_hop_holds(profile, now)
        if gate_blockers:
            holds.append(Hold(HoldCode.GATE, {"blockers": gate_blockers}))
        holds += _check_holds(profile, hop_checks(episode.care_path))
    return tuple(holds)


def late_hop_holds(profile: Profile, now: datetime) -> list[Hold]:
    """The weeks of loading a tendon or heel path waits before its hops (empty: none left)."""
    opens = hops_open_at(profile)
    if opens is not None and now < opens:
        return [Hold(HoldCode.LOADING, {"opens_at": opens})]
    return []


def hop_holds(
    profile: Profile, *, now: datetime, gate_blockers: tuple[str, ...]
) -> tuple[Hold, ...]:
    """Everything that holds hopping back now (empty: the plan is in the hopping phase)."""
    episode = profile.episode
    assert episode is not None
    if episode.care_path is CarePath.BONE_STRESS:
        return (Hold(HoldCode.BONE),)
    if episode.phase >= Phase.PLYOMETRIC and not gate_blockers:
        return ()
    holds: list[Hold] = late_hop_holds(profile, now)
    if gate_blockers:
        holds.append(Hold(HoldCode.GATE, {"blockers": gate_blockers}))
    if episode.phase < Phase.BALANCE:
        holds.append(Hold(HoldCode.PHASE, {"phase": int(episode.phase)}))
    holds += _check_holds(profile, hop_checks(episode.care_path))
    holds += timing_holds(profile, now)
    return tuple(holds)


def run_holds(
    profile: Profile, *, now: datetime, gate_blockers: tuple[str, ...]
) -> tuple[Hold, ...]:
    """Everything that holds the walk-run back (empty: the runner may start it).

    Running is impact like hopping: outside a tendon path it waits for the plyometric gate
    as well as the checks.
    """
    episode = profile.episode
    assert episode is not None
    path = episode.care_path
    if runs_within_pain_model(path) or legacy_ready(profile):
        # A runner who passed the five checks of before 2026.12 keeps their walk-run.
        return ()
    holds: list[Hold] = []
    if path in RUN_NEEDS_CLINICIAN and not cleared_by_clinician(profile):
        holds.append(Hold(HoldCode.CLINICIAN))
    if gate_blockers:
        holds.append(Hold(HoldCode.GATE, {"blockers": gate_blockers}))
    if episode.status == EpisodeStatus.ACTIVE and episode.phase < top_phase(path):
        holds.append(Hold(HoldCode.PHASE, {"phase": int(episode.phase)}))
    holds += _check_holds(profile, run_checks(path))
    if holds:
        holds += timing_holds(profile, now)
    return tuple(holds)
