"""Which care path a runner's answers point to, and what each path allows.

The disposition says how urgently to be seen; the care path says what kind of problem the
answers describe, and so which first-days advice, exercises, starting phase and return-to-run
rules fit (docs/clinical-basis.md, "Care paths"). It is chosen once, from the triage answers,
and stored with the assessment and its episode. Where the answers cannot tell two paths apart
the safer one is chosen and `fallback` says so, so the runner can be told. What each path's
plan holds is `flows.path_plans`; `plan_start` is the phase a new plan of a path starts in.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.rules import Answers, flagged
from flows.sessions import starting_phase
from flows.types import (
    AchillesSite,
    CarePath,
    Location,
    Onset,
    Phase,
    Started,
)


@dataclass(frozen=True, slots=True)
class PathChoice:
    """The chosen path; `fallback` is true when a safer path stands in for one we cannot tell."""

    path: CarePath
    fallback: bool = False


# A gradual problem at one side of the ankle is most often the tendon that runs there
# (reference: outside -> peroneal, inside -> tibialis posterior, front -> tibialis anterior).
_GRADUAL_TENDON: dict[Location, CarePath] = {
    Location.OUTSIDE: CarePath.PERONEAL,
    Location.INSIDE: CarePath.TIBIALIS_POSTERIOR,
    Location.FRONT: CarePath.TIBIALIS_ANTERIOR,
}


def choose_path(a: Answers) -> PathChoice:
    """The care path for these answers (most specific evidence first).

    - Bone first: one sore bony spot, or night or rest pain, on a gradual onset is a possible
      bone stress injury, whatever the location; its rules are the strictest (no running until
      0/10 at the bone).
    - A sudden problem at the back of the ankle or calf is a calf strain or a partial Achilles
      tear until a clinician says otherwise (no stretching, no hopping early).
    - Giving way, or an injury still sore after 6 weeks, is chronic instability.
    - Gradual at the back: mid-portion or insertional Achilles by where it hurts; "not sure"
      falls back to insertional, whose exercises avoid end-range stretch and so are safe for
      both.
    - Gradual at the heel: plantar heel pain. Gradual at one side or the front: its tendon.
    - Gradual "all over": nothing tells the structure apart, so the bone path's caution applies
      (fallback).
    - Any other sudden problem is an acute sprain or knock (PEACE & LOVE); at the heel this is
      a fallback, as the heel's own path is for pain that built up.
    - Where it hurts unknown (an emergency sign ended the questions first): the bone path's
      caution, as a fallback, for the plan a clinician's clearance may start.
    """
    if a.location is None:
        # An emergency ended the questions before where it hurts was asked: after a
        # clinician's clearance the most careful plan applies (fallback).
        return PathChoice(CarePath.BONE_STRESS, fallback=True)
    gradual = a.onset is Onset.GRADUAL
    if gradual and (flagged(a.bone_spot) or flagged(a.night_pain)):
        return PathChoice(CarePath.BONE_STRESS)
    if not gradual and a.location is Location.BACK:
        return PathChoice(CarePath.CALF_TEAR)
    if a.location is not Location.BACK and (
        flagged(a.giving_way) or (not gradual and a.started is Started.OVER_6_WEEKS)
    ):
        return PathChoice(CarePath.INSTABILITY)
    if gradual:
        if a.location is Location.BACK:
            if a.achilles_site is AchillesSite.MID:
                return PathChoice(CarePath.ACHILLES_MID)
            return PathChoice(
                CarePath.ACHILLES_INSERTION, fallback=a.achilles_site is not AchillesSite.INSERTION
            )
        if a.location is Location.HEEL:
            return PathChoice(CarePath.HEEL)
        if a.location in _GRADUAL_TENDON:
            return PathChoice(_GRADUAL_TENDON[a.location])
        return PathChoice(CarePath.BONE_STRESS, fallback=True)
    return PathChoice(CarePath.SPRAIN, fallback=a.location is Location.HEEL)


def plan_start(a: Answers, path: CarePath) -> Phase:
    """The phase a new plan on this path starts in, from the assessment's answers.

    An answer it needs may be missing only when the questions ended early (an emergency,
    which has no plan); the plan then starts at the gentlest phase.
    """
    if a.started is None or a.pain is None or a.weight_bearing is None or a.swelling is None:
        return Phase.MOBILITY
    return starting_phase(
        path,
        started=a.started,
        pain_now=a.pain,
        weight_bearing=a.weight_bearing,
        swelling=a.swelling,
    )
