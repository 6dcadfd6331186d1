"""What each care path's plan is made of: its first-days advice, how it starts, its exercises.

One `PathPlan` per `CarePath` (facts from docs/clinical-basis.md, "Care paths"): which
first-days advice the runner gets, which rule picks the starting phase, the exercises its
sessions lead with, those they never contain (or not before a phase) and whether hopping can
ever be offered. It is data only, so the session builder (`flows.sessions`), the advice
(`flows.advice`) and the tests read the same table; `flows.care_paths` decides which path
applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from flows.types import CarePath, Phase


class FirstDays(StrEnum):
    """Which first-days advice a path gets (a block of templates/triage/first_days_care.j2)."""

    ACUTE = "acute"  # PEACE, then LOVE, worded by how long ago it started
    INSTABILITY = "instability"  # LOVE, exercises built into training, a brace for sport
    TENDON = "tendon"  # load management within the pain-monitoring model
    BONE = "bone"  # protect and offload, 0/10 at the bone before running
    HEEL = "heel"  # the plantar high-load protocol and footwear
    CALF_TEAR = "calf_tear"  # protect, no calf stretching, no running until checked


class StartRule(StrEnum):
    """How a path picks the phase its plan starts in (`flows.sessions.starting_phase`)."""

    ACUTE = "acute"  # mobility in the first 72 h or when sore/swollen, else strength or balance
    LOADING = "loading"  # strength: loading is the treatment (mobility if pain > 5)
    PROTECT = "protect"  # mobility until a clinician or the check-ins say more
    INSTABILITY = "instability"  # balance when walking normally with pain <= 3, else strength


@dataclass(frozen=True, slots=True)
class PathPlan:
    """One care path's plan.

    `leads` are exercise ids its sessions put first, in this order (after any hops), whenever
    the day's phase and pain allow them; the location's own leads follow. `excluded` never
    appear; `excluded_before` appear only from the given phase. `top_phase` is the highest
    phase the plan reaches: below PLYOMETRIC its sessions never offer hops.
    """

    first_days: FirstDays
    start: StartRule
    leads: tuple[str, ...] = ()
    excluded: frozenset[str] = frozenset()
    excluded_before: Mapping[str, Phase] | None = None
    top_phase: Phase = Phase.PLYOMETRIC

    def allows(self, exercise_id: str, phase: Phase) -> bool:
        """Whether an exercise may be in this path's session at a plan phase."""
        if exercise_id in self.excluded:
            return False
        held = (self.excluded_before or {}).get(exercise_id)
        return held is None or phase >= held


# Exercises that stand on one leg, rise on the toes or land: they load the foot and shin bones,
# so a possible bone stress injury does without them (protect and offload; reference 1c).
_BONE_LOADING = frozenset(
    {
        "calf_raise",
        "heel_drops",
        "heel_drops_floor",
        "hsr_raise",
        "calf_iso",
        "plantar_raise",
        "bigtoe_raise",
        "lunge_raise",
        "sl_stance",
        "bf_stance",
        "bf_knee_bend",
        "bf_toe_raise",
    }
)
# The 2BFit exercises: built into the training of an unstable ankle (Vuurberg 2018: for
# recurrent sprains, make the exercises part of regular training; Hupperets 2009).
_PREVENTION_SET = ("bf_stance", "bf_knee_bend", "bf_toe_raise")

PATH_PLANS: Mapping[CarePath, PathPlan] = {
    CarePath.SPRAIN: PathPlan(FirstDays.ACUTE, StartRule.ACUTE),
    CarePath.INSTABILITY: PathPlan(
        FirstDays.INSTABILITY, StartRule.INSTABILITY, leads=("sl_stance", *_PREVENTION_SET)
    ),
    # Mid-portion: Alfredson heel drops lead (heavy slow raises are the library's alternative).
    CarePath.ACHILLES_MID: PathPlan(
        FirstDays.TENDON, StartRule.LOADING, leads=("heel_drops", "calf_iso")
    ),
    # Insertional: no end-range dorsiflexion, so no drop below the step and no calf stretch
    # (Jonsson 2008; reference 1b).
    CarePath.ACHILLES_INSERTION: PathPlan(
        FirstDays.TENDON,
        StartRule.LOADING,
        leads=("heel_drops_floor", "calf_iso"),
        excluded=frozenset({"heel_drops", "calf_stretch", "hsr_raise"}),
    ),
    # Peroneal: no trial protocol; band eversion and calf strength by analogy with the
    # Achilles (UNSOURCED as a protocol). The outside location's band note leads with eversion.
    CarePath.PERONEAL: PathPlan(FirstDays.TENDON, StartRule.LOADING, leads=("band", "calf_raise")),
    # Tibialis posterior: progressive eccentric inversion (Kulig 2009), then calf raises.
    CarePath.TIBIALIS_POSTERIOR: PathPlan(
        FirstDays.TENDON, StartRule.LOADING, leads=("band_inversion", "band", "calf_raise")
    ),
    # Tibialis anterior: no protocol in the reference; the band's "toes up" direction loads it
    # (UNSOURCED analogy), after the front's shin stretch.
    CarePath.TIBIALIS_ANTERIOR: PathPlan(
        FirstDays.TENDON, StartRule.LOADING, leads=("tib_stretch", "band")
    ),
    CarePath.BONE_STRESS: PathPlan(
        FirstDays.BONE,
        StartRule.PROTECT,
        leads=("alphabet", "band", "wall_bridge"),
        excluded=_BONE_LOADING,
        # A stressed bone is not loaded on one leg or by impact at home: the plan stops at the
        # strength phase, whose exercises here are non-impact (protect and offload).
        top_phase=Phase.STRENGTH,
    ),
    # Plantar heel: high-load heel raises and the fascia stretch (Rathleff 2015; DiGiovanni 2003).
    CarePath.HEEL: PathPlan(
        FirstDays.HEEL, StartRule.LOADING, leads=("plantar_raise", "fascia_stretch")
    ),
    # Calf strain or partial tear: no calf stretching in the first weeks. A common guide, an
    # inference from "immobilise for the first days" (CKS) and PEACE (UNSOURCED as worded).
    CarePath.CALF_TEAR: PathPlan(
        FirstDays.CALF_TEAR,
        StartRule.PROTECT,
        leads=("alphabet", "wall_bridge"),
        excluded_before={"calf_stretch": Phase.BALANCE},
    ),
}


def plan_for(path: CarePath) -> PathPlan:
    return PATH_PLANS[path]


def named_exercise_ids() -> frozenset[str]:
    """Every exercise id a path plan names (the library must have each)."""
    ids: set[str] = set()
    for plan in PATH_PLANS.values():
        ids |= {*plan.leads, *plan.excluded, *(plan.excluded_before or {})}
    return frozenset(ids)
