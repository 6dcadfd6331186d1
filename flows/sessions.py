"""The daily exercise session: the plyometric gate, the plan's phases and the session builder.

Every threshold comes from the ankle-care reference (sections 3, 4 and 5); the exercises
themselves are data (`flows.exercise_library`, read from content/exercises.toml). The functions
here are pure: the caller passes in the runner's latest answers (pain now, onset, walking,
swelling, triggers) and gets back a phase or a session, so the bot can re-check the gate before
every session without any I/O beyond the library's one read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flows.exercise_library import ContentError, Exercise, exercise_by_id, exercises
from flows.types import (
    FIVE_DAYS_OR_MORE,
    PAIN_MAX,
    PAIN_MIN,
    WITHIN_72_HOURS,
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


# A problem that started this long ago or more counts as "not new" for a plyometric start.
_ELEVEN_DAYS_OR_MORE = frozenset({Started.DAYS_11_42, Started.OVER_6_WEEKS})


def initial_phase(
    *,
    onset: Onset,
    started: Started,
    pain_now: int,
    weight_bearing: WeightBearing,
    swelling: Swelling,
    gate_open: bool,
) -> Phase:
    """The phase a new home-care plan starts in.

    The reference does not say where to start, so this picks the lower phase whenever in
    doubt: the progression model moves a runner up after two good days, whereas starting too
    high risks a flare that costs more than two days.
    """
    _check_pain(pain_now)
    # The first 48-72 h after an injury are for protection and gentle movement (PRICE, no
    # HARM), as is any ankle that hurts more than the acceptable zone allows or is markedly
    # swollen. Not bearing weight would be an emergency, but if it ever reaches here the
    # ankle gets movement only.
    if (
        (onset is Onset.SUDDEN and started in WITHIN_72_HOURS)
        or pain_now > ACCEPTABLE_PAIN_MAX
        or swelling is Swelling.MARKED
        or weight_bearing is WeightBearing.UNABLE
    ):
        return Phase.MOBILITY
    # Walking still hurts, or pain is in the acceptable zone: controlled strength work, no
    # single-leg balance or impact yet.
    if weight_bearing is not WeightBearing.NORMAL or pain_now > SAFE_PAIN_MAX:
        return Phase.STRENGTH
    # Hopping from the first session only when the gate is open and the problem is not new:
    # an overuse problem of 5 days or more, or an injury past its first 10 days (the window in
    # which a missed fracture is still likeliest, Ottawa). Everyone else starts with balance.
    settled_long_enough = (
        started in _ELEVEN_DAYS_OR_MORE if onset is Onset.SUDDEN else started in FIVE_DAYS_OR_MORE
    )
    if gate_open and settled_long_enough:
        return Phase.PLYOMETRIC
    return Phase.BALANCE


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
    is PLYOMETRIC but today's gate or pain left the hops out, so the message can say why.
    """

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
NAMED_EXERCISE_IDS = frozenset(
    {_FIRST_PLYOMETRIC, _SINGLE_LEG_BALANCE, *_SECOND_PLYOMETRIC.values()}
)


def build_session(
    *,
    location: Location,
    phase: Phase,
    pain_now: int,
    gate_open: bool,
    outside_sprain_healing: bool,
) -> Session:
    """Today's session for a plan in `phase`, re-checking the plyometric gate and today's pain.

    Order: plyometric drills first when allowed (they need fresh legs and come before strength
    work, Whitt), then the location's lead exercises, then single-leg balance from phase 3,
    then a mix of the other phases' exercises (mobility among them, as warm-up) to fill the
    session. Pain 4-5/10 gives fewer items and no impact; pain above 5/10 gives gentle
    range-of-motion work only.
    """
    _check_pain(pain_now)
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
    # The gate is re-checked here whatever the plan says: a closed gate removes all hopping.
    hops_allowed = hops_allowed and gate_open and phase is Phase.PLYOMETRIC
    top_phase = min(phase, top_phase, Phase.BALANCE)

    candidates = _candidates(location, top_phase, outside_sprain_healing)
    chosen: list[Exercise] = []
    if hops_allowed:
        chosen += _plyometrics(location)
    # Leads: the location's own exercises, in library order.
    chosen += [exercise for exercise in candidates if location in exercise.leads_for]
    # Balance work belongs in every plan from phase 3: an 8-week home balance programme after
    # a sprain cut recurrences (Hupperets et al., BMJ 2009).
    if top_phase >= Phase.BALANCE:
        chosen += [e for e in candidates if e.id == _SINGLE_LEG_BALANCE and e not in chosen]
    filler_phases = range(top_phase, Phase.MOBILITY - 1, -1)
    if pain_now > SAFE_PAIN_MAX:
        filler_phases = range(Phase.MOBILITY, top_phase + 1)
    chosen += _round_robin(
        [e for e in candidates if e not in chosen], filler_phases, max_items - len(chosen)
    )

    items = tuple(SessionItem(e, e.note_for(location)) for e in chosen[:max_items])
    return Session(
        phase=phase,
        location=location,
        items=items,
        plyometrics_withheld=phase is Phase.PLYOMETRIC and not hops_allowed,
    )


def _candidates(
    location: Location, top_phase: Phase, outside_sprain_healing: bool
) -> list[Exercise]:
    """Non-plyometric exercises fit for this location up to `top_phase`, in library order."""
    eligible = [
        e
        for e in exercises()
        if not e.plyometric
        and e.phase <= top_phase
        and e.suits(location)
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
    """ContentError when the library lacks an exercise the builder picks by id.

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
