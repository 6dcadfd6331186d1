"""The home-care exercise library as data, the plyometric gate and the daily session builder.

Every exercise, dose and threshold comes from the ankle-care reference (sections 3, 4 and 5);
the runner-facing wording is our own. The functions here are pure: the caller passes in the
runner's latest answers (pain now, onset, walking, swelling, triggers) and gets back a phase or
a session, so the bot can re-check the gate before every session without any I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flows.types import (
    FIVE_DAYS_OR_MORE,
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

# Section 5 zones, as the session builder needs them (flows.progression owns the Zone enum).
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

_SOURCE_PHYSIO = "Runner-focused physiotherapy articles (M. Whitt, T. Petrie)"
_SECTION_5_STOP = "Stop for today if the pain goes above 5/10 during it."


@dataclass(frozen=True, slots=True)
class Exercise:
    """One exercise of the library, with everything a message about it needs.

    `id` is a short ascii slug carried in Telegram callback data, so it must never change.
    `leads_for` lists the locations whose plan puts this exercise first; `only_for`, when not
    empty, restricts the exercise to those locations; `replaces` names an exercise this one
    supersedes once its phase is reached; `variant_note` is always shown with the exercise and
    `location_notes` only for the matching location.
    """

    id: str
    name: str
    purpose: str
    phase: Phase
    dose: str
    how_to: tuple[str, ...]
    feel: str
    stop_if: str
    plyometric: bool = False
    leads_for: frozenset[Location] = frozenset()
    balance: bool = False
    only_for: frozenset[Location] = frozenset()
    replaces: str = ""
    variant_note: str = ""
    location_notes: tuple[tuple[Location, str], ...] = ()
    skip_while_outside_sprain_healing: bool = False
    source: str = _SOURCE_PHYSIO

    def note_for(self, location: Location) -> str:
        """The variant note and any note for this location, joined, or "" when none applies."""
        notes = [self.variant_note] if self.variant_note else []
        notes += [text for where, text in self.location_notes if where is location]
        return " ".join(notes)

    def suits(self, location: Location) -> bool:
        return not self.only_for or location in self.only_for


# Library order matters: within the lead exercises of a location and within one phase of the
# filler, earlier entries win. That is why the tibialis anterior stretch precedes the calf
# stretch (front: "tibialis anterior stretch and calf mobility").
EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        id="alphabet",
        name="Ankle alphabet",
        purpose="Moves the ankle gently through its whole range so it does not stiffen "
        "while it settles.",
        phase=Phase.MOBILITY,
        dose="1-2 alphabets, 2-3 times a day",
        how_to=(
            "Sit with the leg out and the heel resting on the floor or a cushion.",
            "Write the capital letters A to Z in the air with your big toe.",
            "Move only the foot and ankle, slowly, as far as comfort allows.",
        ),
        feel="Easy movement, at most mild discomfort at the ends of the range.",
        stop_if="Stop if a movement brings sharp pain or the pain goes above 5/10.",
    ),
    Exercise(
        id="tib_stretch",
        name="Shin stretch (tibialis anterior)",
        purpose="Eases the muscle and tendon at the front of the ankle, a common sore spot "
        "in runners.",
        phase=Phase.MOBILITY,
        dose="hold 30 s, 3-5 times",
        how_to=(
            "Kneel on a soft surface with the tops of your feet flat on the floor.",
            "Sit back slowly towards your heels until the front of the shin and ankle stretch.",
            "Hold, come back up, rest a moment and repeat.",
        ),
        feel="A gentle pull along the front of the shin and ankle.",
        stop_if="Stop if it pinches or hurts at the outside of the ankle, or the pain goes "
        "above 5/10.",
        leads_for=frozenset({Location.FRONT}),
        # Full pointing of the foot stretches the outer ankle ligament, so this stretch waits
        # until an outside sprain lets the runner walk without pain (reference section 4).
        skip_while_outside_sprain_healing=True,
    ),
    Exercise(
        id="calf_stretch",
        name="Wall calf stretch, knee straight and knee bent",
        purpose="Loosens both calf muscles (gastrocnemius with the knee straight, soleus with "
        "it bent), which pull on the Achilles and the heel.",
        phase=Phase.MOBILITY,
        dose="hold 30 s, 3-5 each way, each leg",
        how_to=(
            "Face a wall, hands on it, and step the leg to stretch back.",
            "Knee straight: keep the back heel down and lean in until the upper calf stretches.",
            "Knee bent: bring the back foot a little closer, bend both knees, heel still down, "
            "until the lower calf stretches.",
            "Hold each position, then change legs.",
        ),
        feel="A steady stretch in the calf, not pain in the Achilles or heel.",
        stop_if="Stop if it hurts in the Achilles or heel instead of stretching the calf, or "
        "the pain goes above 5/10.",
        leads_for=frozenset({Location.FRONT, Location.HEEL}),
    ),
    Exercise(
        id="band",
        name="Resistance band: out, in, up and down",
        purpose="Strengthens the muscles that steady the ankle from each side: the peroneals "
        "on the outside and tibialis posterior on the inside.",
        phase=Phase.STRENGTH,
        dose="3 x 15 each direction, each foot",
        how_to=(
            "Sit with the leg out straight and a band looped round the forefoot.",
            "Out (eversion): anchor the band to the inside and turn the sole outwards.",
            "In (inversion): anchor it to the outside and turn the sole inwards.",
            "Up: anchor it in front and pull the toes towards you. Down: hold the ends and "
            "point the foot away.",
            "Move from the ankle only, slowly both ways.",
        ),
        feel="The working muscles tire by the last repetitions; the ankle itself stays "
        "comfortable.",
        stop_if=_SECTION_5_STOP,
        leads_for=frozenset({Location.OUTSIDE, Location.INSIDE}),
        location_notes=(
            (Location.OUTSIDE, "Start with pushing out (eversion): it works the outside."),
            (Location.INSIDE, "Start with pushing in (inversion): it works the inside."),
        ),
    ),
    Exercise(
        id="calf_raise",
        name="Calf raises, both legs then one",
        purpose="Builds the calf and Achilles strength that absorbs the load of every stride.",
        phase=Phase.STRENGTH,
        dose="3 x 15",
        how_to=(
            "Stand on a flat floor, holding a wall or chair for balance.",
            "Rise onto your toes, driving through the big toe, then lower slowly.",
            "Once 3 x 15 on both legs is easy, do them on the sore leg alone.",
        ),
        feel="Effort and fatigue in the calf.",
        stop_if=_SECTION_5_STOP,
        leads_for=frozenset({Location.INSIDE, Location.HEEL}),
    ),
    Exercise(
        id="heel_drops",
        name="Eccentric heel drops off a step",
        purpose="Loads the Achilles tendon slowly as it lengthens, the best-studied home "
        "treatment for Achilles pain.",
        phase=Phase.STRENGTH,
        dose="3 x 15 each version, twice a day, every day for 12 weeks",
        how_to=(
            "Stand with the balls of both feet on the edge of a step, holding on for balance.",
            "Rise on both legs, shift onto the sore leg and lower the heel slowly.",
            "Come back up on both legs.",
            "Do 3 x 15 with the knee straight, then 3 x 15 with the knee slightly bent.",
        ),
        feel="Some tendon discomfort during the drops is expected and allowed up to 5/10.",
        stop_if="Ease off if the pain during them goes above 5/10 or the tendon is sorer or "
        "stiffer the next morning.",
        leads_for=frozenset({Location.BACK}),
        # The protocol is for Achilles tendon pain; elsewhere the calf raises cover the calf.
        only_for=frozenset({Location.BACK}),
        # Drops below the step helped 32 % of insertional cases against 89 % of mid-portion
        # ones (Fahlstrom 2003); floor-level drops suit insertional pain (Jonsson 2008). The bot
        # does not know which it is, so the note always goes with the exercise.
        variant_note="If the pain is where the tendon meets the heel bone, lower only to floor "
        "level, not below the step.",
        source="Alfredson et al. 1998; Jonsson et al. 2008; Fahlstrom et al. 2003",
    ),
    Exercise(
        id="wall_bridge",
        name="Single-leg wall bridge with soleus calf raise",
        purpose="Strengthens the soleus, the deep calf muscle that takes much of the load in "
        "running, without standing on the ankle.",
        phase=Phase.STRENGTH,
        dose="2-3 sets, to effort",
        how_to=(
            "Socks off. Lie on your back with the sore foot flat on a wall, hip and knee bent.",
            "Lift your hips into a bridge.",
            "Press through the ball of the foot and the big toe to lift the heel off the wall, "
            "then lower it slowly.",
            "Repeat until the calf is tired.",
        ),
        feel="Hard work in the lower calf and the back of the thigh.",
        stop_if=_SECTION_5_STOP,
        leads_for=frozenset({Location.BACK}),
    ),
    Exercise(
        id="bigtoe_raise",
        name="Big-toe resisted calf raise",
        purpose="Teaches the calf to keep the weight over the big toe, where it belongs at "
        "push-off.",
        phase=Phase.STRENGTH,
        dose="12 reps, 2 s up / 3 s down, 2-3 sets",
        how_to=(
            "Stand with a band under the big toe and hold its ends up so it is on stretch.",
            "Rise onto your toes over 2 seconds, pressing the big toe down.",
            "Lower over 3 seconds, keeping the weight over the big toe.",
        ),
        feel="Effort in the calf and the arch.",
        stop_if=_SECTION_5_STOP,
    ),
    Exercise(
        id="lunge_raise",
        name="Runner's lunge soleus calf raise",
        purpose="Builds soleus strength and ankle control in a running position.",
        phase=Phase.BALANCE,
        dose="12 each side, 2-3 sets",
        how_to=(
            "Stand in a lunge as if mid-stride, front knee bent, most weight on the front foot.",
            "Keeping the knee bent, rise onto the ball of the front foot, then lower slowly.",
            "Touch a wall lightly if you need to; change sides after 12.",
        ),
        feel="Hard work in the lower calf; some shaking is normal.",
        stop_if=_SECTION_5_STOP,
        leads_for=frozenset({Location.BACK}),
        balance=True,
        # It is the progression of the wall bridge raise, so it takes that slot from phase 3.
        replaces="wall_bridge",
    ),
    Exercise(
        id="sl_stance",
        name="Single-leg balance",
        purpose="Retrains the ankle's sense of position, which lowers the chance of another "
        "sprain.",
        phase=Phase.BALANCE,
        dose="hold as long as possible, 5-10 reps each foot; progress to eyes closed, then a "
        "cushion or foam pad",
        how_to=(
            "Stand near a wall or worktop you can grab.",
            "Find the middle of the arch: weight spread over heel, big toe and little toe.",
            "Lift the other foot and hold as long as you stay steady; rest and repeat.",
            "When it is easy, close your eyes; later, stand on a cushion or foam pad.",
        ),
        feel="Small wobbles at the ankle that you keep correcting.",
        stop_if="Stop if the ankle gives way or the pain goes above 5/10.",
        leads_for=frozenset({Location.OUTSIDE}),
        balance=True,
    ),
    Exercise(
        id="side_hops",
        name="Small side-to-side hops on one leg",
        purpose="Gets the ankle used to landing again, starting with the smallest hops.",
        phase=Phase.PLYOMETRIC,
        # The reference gives no trial dose for these; 2 x 10 is its cautious product choice.
        dose="2 sets of 10 to start",
        how_to=(
            "Stand on the sore leg beside a line on the floor.",
            "Hop a short way sideways over the line and back.",
            "Land softly on the ball of the foot; keep every landing controlled and quiet.",
        ),
        feel="Light, springy effort with the ankle steady on each landing.",
        stop_if="Stop if landing hurts above 5/10 or the ankle feels unsteady.",
        plyometric=True,
    ),
    Exercise(
        id="switch_lunge",
        name="Switch lunge jumps",
        purpose="Builds springy, controlled landings for running.",
        phase=Phase.PLYOMETRIC,
        dose="6-8 each side, 2-4 sets",
        how_to=(
            "Start in a lunge.",
            "Jump up, swap legs in the air and land softly in a lunge with the other leg in front.",
            "Pause to steady yourself before the next jump if you need to.",
        ),
        feel="Hard, springy effort in the legs; steady, quiet landings.",
        stop_if="Stop if landing hurts above 5/10 or the ankle feels unsteady.",
        plyometric=True,
    ),
    Exercise(
        id="plate_hops",
        name="Runner's lunge lateral plate hops",
        purpose="Trains the ankle to control sideways landings on one leg.",
        phase=Phase.PLYOMETRIC,
        dose="6 moving left, 6 moving right, 2-4 sets",
        how_to=(
            "Stand on the sore leg in a runner's lunge: standing knee soft, other knee forward.",
            "Hop sideways over a small flat marker such as a weight plate, then keep going.",
            "Do 6 hops moving left, then 6 moving right, landing softly each time.",
        ),
        feel="Quick, light effort with the ankle steady on each landing.",
        stop_if="Stop if landing hurts above 5/10 or the ankle feels unsteady.",
        plyometric=True,
    ),
)

_BY_ID: dict[str, Exercise] = {exercise.id: exercise for exercise in EXERCISES}


def exercise_by_id(exercise_id: str) -> Exercise | None:
    """The exercise with this id, or None for an unknown (e.g. stale callback) id."""
    return _BY_ID.get(exercise_id)


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


def is_plyometric_gate_open(
    *,
    pain_now: int,
    onset: Onset,
    started: Started,
    weight_bearing: WeightBearing,
    swelling: Swelling,
    has_trigger: bool,
) -> bool:
    """True when nothing closes the plyometric gate (see `plyometric_gate_blockers`)."""
    return not plyometric_gate_blockers(
        pain_now=pain_now,
        onset=onset,
        started=started,
        weight_bearing=weight_bearing,
        swelling=swelling,
        has_trigger=has_trigger,
    )


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
        chosen += [e for e in candidates if e.id == "sl_stance" and e not in chosen]
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
        for e in EXERCISES
        if not e.plyometric
        and e.phase <= top_phase
        and e.suits(location)
        and not (outside_sprain_healing and e.skip_while_outside_sprain_healing)
    ]
    superseded = {e.replaces for e in eligible if e.replaces}
    return [e for e in eligible if e.id not in superseded]


def _plyometrics(location: Location) -> list[Exercise]:
    first = _BY_ID["side_hops"]
    second = _BY_ID[_SECOND_PLYOMETRIC[location]]
    return [first, second][:PLYOMETRIC_MAX_ITEMS]


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
    if not 0 <= pain <= 10:
        raise ValueError(f"pain must be 0-10, got {pain}")
