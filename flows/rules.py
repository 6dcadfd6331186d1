"""The triage rules: one pure, versioned function from a runner's answers to a disposition.

Each red flag of reference section 1 is a small named predicate over `Answers`; `decide` runs
every one, lists every trigger that fired as a reason, and lets the most urgent disposition win
(EMERGENCY over SEE_CLINICIAN over HOME_CARE). Nothing lowers a disposition: low pain, walking
normally or improvement never cancel a trigger. "Not sure" counts as yes. Bump `RULES_VERSION`
whenever a rule changes meaning, so every stored assessment says which rules produced it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flows import sessions
from flows.types import (
    FIVE_DAYS_OR_MORE,
    HIGH_RISK_BONE_SITES,
    PAIN_MAX,
    AchillesSite,
    BoneSite,
    Disposition,
    Location,
    Onset,
    SeeWithin,
    Started,
    Swelling,
    Trend,
    WeightBearing,
    YesNo,
)
from flows.words import N_

# 2026.12.1: E7 on severe rising pain alone (R1); E6C split from E6 (R2); E8A blood thinners
# (R3); S7 felt pop with tiptoe possible (R4); S8 energy deficiency (R5); S2H high-risk bone
# sites (R6). docs/clinical-basis.md lists every rule with its source.
RULES_VERSION = "2026.12.1"


@dataclass(frozen=True, slots=True)
class Answers:
    """Everything the runner has answered so far; None where a question was not (yet) asked."""

    location: Location | None = None
    onset: Onset | None = None
    started: Started | None = None
    trend: Trend | None = None
    swelling: Swelling | None = None
    weight_bearing: WeightBearing | None = None
    pain: int | None = None
    deformity: YesNo | None = None
    circulation: YesNo | None = None
    crunch: YesNo | None = None
    pop: YesNo | None = None
    tiptoe: YesNo | None = None  # yes = cannot rise onto tiptoe on the injured leg / push off
    fever: YesNo | None = None
    hot_joint: YesNo | None = None
    calf: YesNo | None = None
    chest: YesNo | None = None
    severe_pain: YesNo | None = None
    bleeding: YesNo | None = None
    blood_thinner: YesNo | None = None
    bruising: YesNo | None = None
    ottawa: YesNo | None = None
    bone_spot: YesNo | None = None
    bone_site: BoneSite | None = None
    periods: YesNo | None = None
    weight_loss: YesNo | None = None
    restricted_eating: YesNo | None = None
    earlier_bone_stress: YesNo | None = None
    night_pain: YesNo | None = None
    giving_way: YesNo | None = None
    achilles_site: AchillesSite | None = None


# A set, not a tuple: one hash look-up instead of two comparisons, and `flagged` runs some
# seventy times an update (every route of the triage first asks `has_emergency`).
FLAGGED = frozenset({YesNo.YES, YesNo.UNSURE})


def flagged(answer: YesNo | None) -> bool:
    """A red-flag answer counts when it is yes or not sure; an unasked question does not."""
    return answer in FLAGGED


# --- EMERGENCY triggers (reference section 1) -------------------------------------------------


def has_deformity(a: Answers) -> bool:
    """E1: looks bent, misshapen or out of place, or broken skin / bone showing."""
    return flagged(a.deformity)


def has_circulation_or_nerve_signs(a: Answers) -> bool:
    """E2: numb, lasting pins and needles, or cold, pale, blue or grey foot or toes."""
    return flagged(a.circulation)


def is_suspected_achilles_rupture(a: Answers) -> bool:
    """E3: a pop, snap or "kicked" feeling AND now unable to rise on tiptoe or push off.

    Whatever the pain score: walking and little pain do not rule a rupture out.
    """
    return flagged(a.pop) and flagged(a.tiptoe)


def cannot_take_four_steps(a: Answers) -> bool:
    """E4: cannot take 4 steps now, whatever the onset and however long ago (Ottawa)."""
    return a.weight_bearing is WeightBearing.UNABLE


def has_infection_signs(a: Answers) -> bool:
    """E5: fever with a hot, red or swollen ankle, or (no injury) a hot swollen stiff joint."""
    return flagged(a.fever) or flagged(a.hot_joint)


def has_clot_signs_in_leg(a: Answers) -> bool:
    """E6: one swollen, warm, red or darkened calf or leg, or a new ache in it that hurts to press.

    Same-day care (a scan within hours); the chest signs are E6C.
    """
    return flagged(a.calf)


def has_clot_signs_in_chest(a: Answers) -> bool:
    """E6C (R2): new breathlessness, chest pain, coughing blood or fainting, with or without a
    swollen calf: a clot may have reached the lungs, so the first line is to call the number."""
    return flagged(a.chest)


def has_compartment_syndrome_signs(a: Answers) -> bool:
    """E7 (R1): severe pain that keeps rising over hours, not eased by rest or painkillers.

    On its own: NHS does not wait for a tight calf, and pulses, colour and feeling are late signs
    (BOAST 10), so the tight-calf question is no longer asked.
    """
    return flagged(a.severe_pain)


def has_bleeding_disorder_with_injury(a: Answers) -> bool:
    """E8: a known bleeding disorder and a new injury.

    The reference adds "with swelling"; we do not wait for it, because a bleed into the joint
    can take hours to swell and the product rule is to escalate when unsure. The question is
    only asked after a sudden injury.
    """
    return flagged(a.bleeding)


def has_blood_thinner_with_bleeding_signs(a: Answers) -> bool:
    """E8A (R3): a blood thinner and a new injury with swelling or spreading bruising.

    Anticoagulated runners can bleed into the joint or develop compartment syndrome after a
    minor injury (NHS: seek help at once). Unanswered swelling counts as swollen.
    """
    swollen = a.swelling is not Swelling.NONE
    return flagged(a.blood_thinner) and (swollen or flagged(a.bruising))


def heard_crack_at_injury(a: Answers) -> bool:
    """E9: a crack, crunch or popping noise at the moment of injury (NHS: go to A&E)."""
    return flagged(a.crunch)


# --- SEE_CLINICIAN triggers -------------------------------------------------------------------


def has_ottawa_bone_tenderness(a: Answers) -> bool:
    """S1: pressing the bone hurts at an Ottawa point after an injury (at any time since)."""
    return flagged(a.ottawa)


def has_stress_fracture_signs(a: Answers) -> bool:
    """S2: one spot of bone hurts to press or with each step, on the gradual path."""
    return flagged(a.bone_spot)


def is_high_risk_bone_site(a: Answers) -> bool:
    """S2H (R6): S2 at the navicular, the inner ankle bone, the base of the 5th metatarsal or the
    talus (or a site the runner cannot name): same or next day, walking only as needed."""
    return flagged(a.bone_spot) and (a.bone_site is None or a.bone_site in HIGH_RISK_BONE_SITES)


def felt_pop_but_can_rise_on_tiptoe(a: Answers) -> bool:
    """S7 (R4): a felt pop or kick at the back of the ankle or calf, tiptoe still possible.

    A partial tear can pass the tiptoe test, so a clinician sees it the same day; a failed tiptoe
    is E3 and a heard pop E9.
    """
    return flagged(a.pop) and not flagged(a.tiptoe)


ENERGY_DEFICIENCY_FIELDS = ("periods", "weight_loss", "restricted_eating", "earlier_bone_stress")


def has_energy_deficiency_sign(a: Answers) -> bool:
    """S8 (R5): bony pain on the gradual path and any sign of low energy availability (IOC REDs
    CAT2, Female Athlete Triad): the doctor should look at more than the bone."""
    return flagged(a.bone_spot) and any(
        flagged(getattr(a, name)) for name in ENERGY_DEFICIENCY_FIELDS
    )


def has_night_or_rest_pain(a: Answers) -> bool:
    """S3: pain that wakes the runner or does not ease with rest or position."""
    return flagged(a.night_pain)


def keeps_giving_way(a: Answers) -> bool:
    """S4: gave way 2+ times in 6 months, or keeps feeling unstable."""
    return flagged(a.giving_way)


def is_not_improving(a: Answers) -> bool:
    """S5 at the first assessment: started 5 or more days ago and the same or worse."""
    return a.started in FIVE_DAYS_OR_MORE and a.trend in (Trend.SAME, Trend.WORSE)


@dataclass(frozen=True, slots=True)
class Rule:
    """One trigger: its code, the predicate that fires it, and how the runner is told about it
    (`what`: the sign in their words; `why`: what it may mean and the rule behind it)."""

    code: str
    applies: Callable[[Answers], bool]
    what: str
    why: str


# The order is the order reasons are shown in: most urgent first.
EMERGENCY_RULES: tuple[Rule, ...] = (
    Rule(
        "E1",
        has_deformity,
        N_("your ankle or foot looks out of shape, or the skin over it is broken"),
        N_("possible fracture or dislocation"),
    ),
    Rule(
        "E2",
        has_circulation_or_nerve_signs,
        N_("your foot or toes are numb, tingling, cold or an unusual colour"),
        N_("a warning sign for blood supply or nerves"),
    ),
    Rule(
        "E3",
        is_suspected_achilles_rupture,
        N_(
            "you felt a pop or a kick in the back of the ankle and cannot rise onto tiptoe "
            "or push off"
        ),
        N_("possible Achilles tendon rupture, which needs same-day care"),
    ),
    Rule(
        "E4",
        cannot_take_four_steps,
        N_("you can't take 4 steps"),
        N_("Ottawa ankle rules: an X-ray is needed"),
    ),
    Rule(
        "E5",
        has_infection_signs,
        N_(
            "a fever with a hot, red or swollen ankle, or a hot, swollen, stiff joint "
            "without an injury"
        ),
        N_("possible joint infection"),
    ),
    Rule(
        "E6C",
        has_clot_signs_in_chest,
        N_("you are short of breath, have chest pain, are coughing blood or have fainted"),
        N_("a blood clot may have reached the lungs: this needs an ambulance"),
    ),
    Rule(
        "E6",
        has_clot_signs_in_leg,
        N_("one calf or leg is swollen, warm, red or aching"),
        N_("possible blood clot in the leg: a scan is needed within hours"),
    ),
    Rule(
        "E7",
        has_compartment_syndrome_signs,
        N_("severe pain that keeps rising and does not ease"),
        N_("pressure may be building up inside the leg (compartment syndrome)"),
    ),
    Rule(
        "E8",
        has_bleeding_disorder_with_injury,
        N_("a known bleeding disorder and a new injury"),
        N_("risk of bleeding into the joint"),
    ),
    Rule(
        "E8A",
        has_blood_thinner_with_bleeding_signs,
        N_("you take a blood thinner and the new injury is swollen or the bruise is spreading"),
        N_("risk of bleeding into the joint or the muscles"),
    ),
    Rule(
        "E9",
        heard_crack_at_injury,
        N_("you heard a crack, crunch or pop when it happened"),
        N_("NHS advice for sprains: a possible fracture needs an X-ray"),
    ),
)
SEE_CLINICIAN_RULES: tuple[Rule, ...] = (
    Rule(
        "S7",
        felt_pop_but_can_rise_on_tiptoe,
        N_("you felt a pop or a kick at the back of the ankle or calf"),
        N_("a partial tear of the Achilles tendon or calf can still let you rise on tiptoe"),
    ),
    Rule(
        "S1",
        has_ottawa_bone_tenderness,
        N_("pressing the bone hurts at one of the Ottawa points"),
        N_("Ottawa ankle rules: an X-ray is indicated"),
    ),
    Rule(
        "S2",
        has_stress_fracture_signs,
        N_("one spot of bone hurts when pressed or with every step"),
        N_("possible bone stress injury (stress fracture)"),
    ),
    Rule(
        "S2H",
        is_high_risk_bone_site,
        N_("the sore spot of bone is at a site that heals less easily"),
        N_("bone stress here needs checking soon, sometimes with a scan"),
    ),
    Rule(
        "S8",
        has_energy_deficiency_sign,
        N_("you have bone pain and a sign that your body may be short of energy"),
        N_("low energy availability weakens bones: a doctor should check it"),
    ),
    Rule(
        "S3",
        has_night_or_rest_pain,
        N_("the pain wakes you or does not ease at rest"),
        N_("night or rest pain needs a clinician's check"),
    ),
    Rule(
        "S4",
        keeps_giving_way,
        N_("the ankle keeps giving way or feeling unstable"),
        N_("the ankle may have stayed loose after sprains: chronic ankle instability"),
    ),
    Rule(
        "S5",
        is_not_improving,
        N_("it started 5 or more days ago and is not getting better"),
        N_("not improving after about 5 days"),
    ),
)
# S1 more than 10 days after the injury: the Ottawa rules are validated only up to 10 days.
S1_LATE_WHY = N_(
    "bone tenderness more than 10 days after an injury: the Ottawa rules cannot rule out a "
    "fracture this late"
)
# Triggers found outside the answers, at a check-in (flows.checkin_rules), with their wording.
CHECK_IN_REASONS: dict[str, tuple[str, str]] = {
    "S6": (
        N_("it was worse at two check-ins in a row"),
        N_("getting worse despite home care"),
    ),
}
WORDING: dict[str, tuple[str, str]] = {
    **{rule.code: (rule.what, rule.why) for rule in (*EMERGENCY_RULES, *SEE_CLINICIAN_RULES)},
    **CHECK_IN_REASONS,
}


# The predicates alone, gathered once: `has_emergency` is the condition of the triage's first
# route from every question, tried before each step it takes.
_EMERGENCY_PREDICATES = tuple(rule.applies for rule in EMERGENCY_RULES)


def has_emergency(a: Answers) -> bool:
    return any(applies(a) for applies in _EMERGENCY_PREDICATES)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rules concluded: the disposition, every trigger that fired, and the gate."""

    disposition: Disposition
    reasons: tuple[str, ...]
    plyometric_gate_blockers: tuple[str, ...]
    rules_version: str = RULES_VERSION
    see_within: SeeWithin | None = None  # for SEE_CLINICIAN: how soon

    @property
    def plyometric_gate_open(self) -> bool:
        return not self.plyometric_gate_blockers


def plyometric_gate_blockers(a: Answers, *, has_trigger: bool) -> tuple[str, ...]:
    """Every reason hopping is not yet safe (reference section 4); empty means the gate is open.

    An unanswered item counts as its worst value: the gate only opens on evidence.
    """
    return sessions.plyometric_gate_blockers(
        pain_now=PAIN_MAX if a.pain is None else a.pain,
        onset=a.onset or Onset.SUDDEN,
        started=a.started or Started.TODAY,
        weight_bearing=a.weight_bearing or WeightBearing.UNABLE,
        swelling=a.swelling or Swelling.MARKED,
        has_trigger=has_trigger,
    )


def decide(a: Answers, *, extra_reasons: tuple[str, ...] = ()) -> Decision:
    """Apply every rule; the most urgent disposition wins and every fired trigger is a reason.

    `extra_reasons` carries triggers found outside these answers (S5/S6 at a check-in).
    """
    emergencies = [rule.code for rule in EMERGENCY_RULES if rule.applies(a)]
    referrals = [rule.code for rule in SEE_CLINICIAN_RULES if rule.applies(a)]
    referrals += [code for code in extra_reasons if code not in referrals]
    if emergencies:
        disposition = Disposition.EMERGENCY
    elif referrals:
        disposition = Disposition.SEE_CLINICIAN
    else:
        disposition = Disposition.HOME_CARE
    reasons = (*emergencies, *referrals)
    return Decision(
        disposition=disposition,
        reasons=reasons,
        plyometric_gate_blockers=plyometric_gate_blockers(a, has_trigger=bool(reasons)),
        see_within=see_within(referrals) if disposition is Disposition.SEE_CLINICIAN else None,
    )


# Same day for a possible partial tear (R4); same or next day for an X-ray after an injury (S1)
# and for bone stress at a high-risk site (R6); otherwise within 1-3 days.
SEEN_TODAY = frozenset({"S7"})
SEEN_BY_TOMORROW = frozenset({"S1", "S2H"})


def see_within(codes: list[str] | tuple[str, ...]) -> SeeWithin:
    """How soon the runner should be seen, from the SEE_CLINICIAN rules that fired."""
    if SEEN_TODAY.intersection(codes):
        return SeeWithin.TODAY
    if SEEN_BY_TOMORROW.intersection(codes):
        return SeeWithin.TODAY_OR_TOMORROW
    return SeeWithin.FEW_DAYS
