"""The daily exercise session: the plyometric gate, the plan's phases and the session builder.

Every threshold comes from the ankle-care reference (sections 3, 4 and 5); the exercises
themselves are data (`flows.exercise_library`, read from content/exercises.toml) and what each
care path leads with or leaves out is data too (`flows.path_plans`). The functions here are
pure: the caller passes in the care path and the runner's latest answers (pain now, onset,
walking, swelling, triggers) and gets back a phase or a session, so the bot can re-check the
gate before every session without any I/O beyond the library's one read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flows.exercise_library import ContentError, Exercise, exercise_by_id, exercises
from flows.path_plans import PathPlan, StartRule, named_exercise_ids, plan_for
from flows.types import (
    PAIN_MAX,
    PAIN_MIN,
    WITHIN_72_HOURS,
    CarePath,
    Location,
    Onset,
    Phase,
    Started,
    Swelling,
    WeightBearing,
)

# Pain now at or above this closes the plyometric gate: 5 is the top of the acceptable zone,
# so no margin would be left for the impact of hopping (reference section 4).
GATE_PAIN_LIMIT = 5

# The pain zones of section 5 (0-3 safe, 4-5 acceptable, above 5 too much), here because the
# session builder needs them too; flows.progression names them (Zone).
SAFE_PAIN_MAX = 3
ACCEPTABLE_PAIN_MAX = 5

# A session is "about 4-6 exercises": enough to cover the lead work, balance and a warm-up
# without the runner giving up half-way.
SESSION_MAX_ITEMS = 6
# Pain 4-5 (acceptable zone): fewer items so the day's total load stays inside the zone.
ACCEPTABLE_ZONE_MAX_ITEMS = 4
# Pain above 5 (too much): only gentle range of motion, which section 3 asks for anyway.
TOO_MUCH_MAX_ITEMS = 3
# Gate open means "low-level, progressive hopping only" (section 4), so at most two
# plyometric drills a session, the smallest hops always among them.
PLYOMETRIC_MAX_ITEMS = 2


# --- the plyometric gate -------------------------------------------------------------------


def plyometric_gate_blockers(
    *,
    pain_now: int,
    onset: Onset,
    started: Started,
    weight_bearing: WeightBearing,
    swelling: Swelling,
    has_trigger: bool,
) -> tuple[str, ...]:
    """Every reason the plyometric gate is closed, as codes; an empty tuple means it is open.

    Codes: "pain" (pain now 5/10 or more), "recent_injury" (sudden injury less than 72 h ago),
    "walking" (anything but walking normally without pain), "swelling" (marked), "trigger"
    (any E or S trigger at the latest assessment or check-in).
    """
    _check_pain(pain_now)
    blockers: list[str] = []
    if pain_now >= GATE_PAIN_LIMIT:
        blockers.append("pain")
    if onset is Onset.SUDDEN and started in WITHIN_72_HOURS:
        blockers.append("recent_injury")
    if weight_bearing is not WeightBearing.NORMAL:
        blockers.append("walking")
    if swelling is Swelling.MARKED:
        blockers.append("swelling")
    if has_trigger:
        blockers.append("trigger")
    return tuple(blockers)


# --- phases ---------------------------------------------------------------------------------


def next_phase(phase: Phase) -> Phase:
    """One phase on, never past PLYOMETRIC."""
    return Phase(min(phase + 1, Phase.PLYOMETRIC))


def previous_phase(phase: Phase) -> Phase:
    """One phase back, never before MOBILITY."""
    return Phase(max(phase - 1, Phase.MOBILITY))


def phase_allowed(phase: Phase, *, gate_open: bool) -> Phase:
    """The phase capped at BALANCE while the plyometric gate is closed."""
    if not gate_open and phase > Phase.BALANCE:
        return Phase.BALANCE
    return phase


def starting_phase(
    path: CarePath,
    *,
    started: Started,
    pain_now: int,
    weight_bearing: WeightBearing,
    swelling: Swelling,
) -> Phase:
    """The phase a new plan starts in, by the care path's start rule; never PLYOMETRIC.

    No path starts with hops: tendon rehab brings jumping in last, after strength, and an
    injury's first session is too early for impact whatever the gate says (issue 9). The
    reference gives no starting phase, so this picks the lower phase whenever in doubt: the
    progression moves a runner up after good days, while starting too high risks a flare.
    """
    _check_pain(pain_now)
    rule = plan_for(path).start
    too_sore = pain_now > ACCEPTABLE_PAIN_MAX
    if rule is StartRule.PROTECT:
        # Bone stress and a calf tear: protect first, gentle movement only.
        return Phase.MOBILITY
    if rule is StartRule.LOADING:
        # Tendons and the plantar heel: loading is the treatment, so strength from day one,
        # unless today's pain is above the acceptable zone.
        return Phase.MOBILITY if too_sore else Phase.STRENGTH
    settled = weight_bearing is WeightBearing.NORMAL and pain_now <= SAFE_PAIN_MAX
    if rule is StartRule.INSTABILITY:
        # An unstable ankle needs balance work most; it starts there once walking is easy.
        return Phase.BALANCE if settled else Phase.STRENGTH
    # An acute sprain: the first 72 h (PEACE), more pain than the acceptable zone or a markedly
    # swollen ankle get movement only (as would an ankle that cannot bear weight, were it ever
    # to reach here); walking that still hurts or pain 4-5 gets controlled strength work;
    # balance at most.
    if (
        started in WITHIN_72_HOURS
        or too_sore
        or swelling is Swelling.MARKED
        or weight_bearing is WeightBearing.UNABLE
    ):
        return Phase.MOBILITY
    return Phase.BALANCE if settled else Phase.STRENGTH


# --- the daily session ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionItem:
    """One exercise in today's session, with a note for a variant (empty when none)."""

    exercise: Exercise
    note: str = ""


@dataclass(frozen=True, slots=True)
class Session:
    """Today's exercises in the order to do them (which is also their order of priority).

    `phase` is the plan's phase as passed in; `plyometrics_withheld` is true when that phase
    is PLYOMETRIC but today's gate, pain or care path left the hops out, so the message can
    say why.
    """

    path: CarePath
    phase: Phase
    location: Location
    items: tuple[SessionItem, ...]
    plyometrics_withheld: bool = False

    @property
    def exercise_ids(self) -> tuple[str, ...]:
        return tuple(item.exercise.id for item in self.items)


# The smallest hops open every plyometric block (section 4: "low-level, progressive hopping").
_FIRST_PLYOMETRIC = "side_hops"
# Which second plyometric drill follows the small side hops: sideways control for the side
# of the ankle, lunge jumps for the rest.
_SECOND_PLYOMETRIC: dict[Location, str] = {
    Location.OUTSIDE: "plate_hops",
    Location.INSIDE: "plate_hops",
    Location.BACK: "switch_lunge",
    Location.FRONT: "switch_lunge",
    Location.HEEL: "switch_lunge",
    Location.ALL_OVER: "switch_lunge",
}
# The balance exercise every plan includes from phase 3 (see build_session).
_SINGLE_LEG_BALANCE = "sl_stance"
# Exercises the builder picks by id; `check_library` proves the data file still has them.
NAMED_EXERCISE_IDS = (
    frozenset({_FIRST_PLYOMETRIC, _SINGLE_LEG_BALANCE, *_SECOND_PLYOMETRIC.values()})
    | named_exercise_ids()
)


def build_session(
    *,
    path: CarePath,
    location: Location,
    phase: Phase,
    pain_now: int,
    gate_open: bool,
    outside_sprain_healing: bool,
) -> Session:
    """Today's session for a plan of this care path in `phase`, re-checking the plyometric
    gate and today's pain.

    Order: plyometric drills first when allowed (they need fresh legs and come before strength
    work, Whitt) and the path ever offers them, then the path's lead exercises, then the
    location's, then single-leg balance from phase 3, then a mix of the other phases'
    exercises (mobility among them, as warm-up) to fill the session. The path's exclusions
    hold throughout, and exercises kept for particular paths appear only where named. Pain
    4-5/10 gives fewer items and no impact; pain above 5/10 gives gentle work only.
    """
    _check_pain(pain_now)
    plan = plan_for(path)
    if pain_now > ACCEPTABLE_PAIN_MAX:
        # Above 5/10 is "too much" (Silbernagel 2007): no loading today, but keep the ankle
        # moving gently within comfort (reference section 3).
        top_phase, max_items, hops_allowed = Phase.MOBILITY, TOO_MUCH_MAX_ITEMS, False
    elif pain_now > SAFE_PAIN_MAX:
        # 4-5/10 is acceptable but leaves no margin: no hopping (its impact is the biggest
        # load) and fewer items; the filler starts from the gentlest phase.
        top_phase, max_items, hops_allowed = Phase.BALANCE, ACCEPTABLE_ZONE_MAX_ITEMS, False
    else:
        top_phase, max_items, hops_allowed = Phase.PLYOMETRIC, SESSION_MAX_ITEMS, True
    # The gate is re-checked here whatever the plan says: a closed gate removes all hopping,
    # as does a path whose plan never reaches the hopping phase (bone stress: no impact).
    hops_allowed = (
        hops_allowed
        and gate_open
        and phase is Phase.PLYOMETRIC
        and plan.top_phase is Phase.PLYOMETRIC
    )
    top_phase = min(phase, top_phase, Phase.BALANCE)

    candidates = _candidates(plan, location, phase, top_phase, outside_sprain_healing)
    by_id = {e.id: e for e in candidates}
    chosen: list[Exercise] = []
    if hops_allowed:
        chosen += _plyometrics(location)
    chosen += [by_id[i] for i in plan.leads if i in by_id]
    chosen += [e for e in candidates if location in e.leads_for and e not in chosen]
    # Balance work belongs in every plan from phase 3: an 8-week home balance programme after
    # a sprain cut recurrences (Hupperets et al., BMJ 2009).
    if top_phase >= Phase.BALANCE and _SINGLE_LEG_BALANCE in by_id:
        balance = by_id[_SINGLE_LEG_BALANCE]
        chosen += [balance] if balance not in chosen else []
    filler_phases = range(top_phase, Phase.MOBILITY - 1, -1)
    if pain_now > SAFE_PAIN_MAX:
        filler_phases = range(Phase.MOBILITY, top_phase + 1)
    filler = [e for e in candidates if e not in chosen and not e.named_only]
    chosen += _round_robin(filler, filler_phases, max_items - len(chosen))

    items = tuple(SessionItem(e, e.note_for(location)) for e in chosen[:max_items])
    return Session(
        path=path,
        phase=phase,
        location=location,
        items=items,
        plyometrics_withheld=phase is Phase.PLYOMETRIC and not hops_allowed,
    )


def _candidates(
    plan: PathPlan,
    location: Location,
    phase: Phase,
    top_phase: Phase,
    outside_sprain_healing: bool,
) -> list[Exercise]:
    """Non-plyometric exercises this path allows at this location up to `top_phase`, in
    library order; an exercise kept for particular paths only when this path names it."""
    eligible = [
        e
        for e in exercises()
        if not e.plyometric
        and e.phase <= top_phase
        and e.suits(location)
        and plan.allows(e.id, phase)
        and (not e.named_only or e.id in plan.leads)
        and not (outside_sprain_healing and e.skip_while_outside_sprain_healing)
    ]
    superseded = {e.replaces for e in eligible if e.replaces}
    return [e for e in eligible if e.id not in superseded]


def _plyometrics(location: Location) -> list[Exercise]:
    first = _named(_FIRST_PLYOMETRIC)
    second = _named(_SECOND_PLYOMETRIC[location])
    return [first, second][:PLYOMETRIC_MAX_ITEMS]


def _named(exercise_id: str) -> Exercise:
    exercise = exercise_by_id(exercise_id)
    if exercise is None:  # check_library at start-up makes this unreachable
        raise ContentError(f"the session builder needs exercise {exercise_id!r}")
    return exercise


def check_library() -> None:
    """ContentError when the library lacks an exercise the builder or a care path names.

    The bot calls this at start-up, after loading the library, so that removing or renaming
    such an exercise in content/exercises.toml stops it there instead of failing a session.
    """
    missing = [i for i in sorted(NAMED_EXERCISE_IDS) if exercise_by_id(i) is None]
    if missing:
        raise ContentError(
            f"content/exercises.toml: the session builder needs exercise {missing[0]!r}"
        )


def _round_robin(pool: list[Exercise], phases: Iterable[int], slots: int) -> list[Exercise]:
    """Take one exercise per phase in turn, in the given phase order, until `slots` are used.

    Taking one from each phase before a second from any keeps the mix balanced (the
    "all over" plan is only this) and brings a mobility warm-up into every session.
    """
    phase_order = list(phases)
    queues = {p: [e for e in pool if e.phase == p] for p in phase_order}
    picked: list[Exercise] = []
    while len(picked) < slots and any(queues.values()):
        for p in phase_order:
            if queues[p] and len(picked) < slots:
                picked.append(queues[p].pop(0))
    return picked


def _check_pain(pain: int) -> None:
    if not PAIN_MIN <= pain <= PAIN_MAX:
        raise ValueError(f"pain must be {PAIN_MIN}-{PAIN_MAX}, got {pain}")
