"""The triage rules: one pure, versioned function from a runner's answers to a disposition.

Each red flag of reference section 1 is a small named predicate over `Answers`; `decide` runs
every one, lists every trigger that fired as a reason, and lets the most urgent disposition win
(EMERGENCY over SEE_CLINICIAN over HOME_CARE). Nothing lowers a disposition: low pain, walking
normally or improvement never cancel a trigger. "Not sure" counts as yes. Bump `RULES_VERSION`
whenever a rule changes meaning, so every stored assessment says which rules produced it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from flows import sessions as programme
from flows.questions import Step
from flows.types import (
    FIVE_DAYS_OR_MORE,
    WITHIN_10_DAYS,
    Disposition,
    Location,
    Onset,
    Started,
    Swelling,
    Trend,
    WeightBearing,
    YesNo,
)

RULES_VERSION = "2026.11.1"


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
    tight_calf: YesNo | None = None
    bleeding: YesNo | None = None
    ottawa: YesNo | None = None
    bone_spot: YesNo | None = None
    night_pain: YesNo | None = None
    giving_way: YesNo | None = None
    # Check-ins, soreness reports and the reminder set-up share the conversation; their answers
    # live here too (the rules above never read them).
    soreness: int | None = None
    change: Trend | None = None
    new_flags: YesNo | None = None
    plan: YesNo | None = None
    check_in_message: int | None = None
    exercises: str | None = None
    exercise_pain: int | None = None
    morning: str | None = None
    soreness_report: int | None = None
    zone_choice: str | None = None
    city: str | None = None
    reminder_time: str | None = None

    @classmethod
    def from_mapping(cls, stored: Mapping[str, str]) -> Answers:
        """Build typed answers from the step-id -> value mapping kept in the conversation."""
        values: dict[str, object] = {}
        for step_id, raw in stored.items():
            name = FIELD_OF_STEP.get(step_id)
            if name is not None:
                values[name] = _CONVERTERS[name](raw)
        return cls(**values)  # type: ignore[arg-type]


STEP_FIELDS: dict[Step, str] = {
    Step.LOCATION: "location",
    Step.ONSET: "onset",
    Step.STARTED: "started",
    Step.TREND: "trend",
    Step.SWELLING: "swelling",
    Step.WEIGHT_BEARING: "weight_bearing",
    Step.PAIN: "pain",
    Step.DEFORMITY: "deformity",
    Step.CIRCULATION: "circulation",
    Step.CRUNCH: "crunch",
    Step.POP: "pop",
    Step.TIPTOE: "tiptoe",
    Step.FEVER: "fever",
    Step.HOT_JOINT: "hot_joint",
    Step.CALF: "calf",
    Step.CHEST: "chest",
    Step.SEVERE_PAIN: "severe_pain",
    Step.TIGHT_CALF: "tight_calf",
    Step.BLEEDING: "bleeding",
    Step.OTTAWA: "ottawa",
    Step.BONE_SPOT: "bone_spot",
    Step.NIGHT_PAIN: "night_pain",
    Step.GIVING_WAY: "giving_way",
    Step.CHECKIN_TREND: "change",
    Step.CHECKIN_FLAGS: "new_flags",
    Step.CHECKIN_WALK: "weight_bearing",
    Step.CHECKIN_CIRCULATION: "circulation",
    Step.CHECKIN_FEVER: "fever",
    Step.CHECKIN_CALF: "calf",
    Step.CHECKIN_CHEST: "chest",
    Step.CHECKIN_SEVERE_PAIN: "severe_pain",
    Step.CHECKIN_TIGHT_CALF: "tight_calf",
    Step.CHECKIN_EXERCISES: "exercises",
    Step.CHECKIN_EXERCISE_PAIN: "exercise_pain",
    Step.CHECKIN_MORNING: "morning",
    Step.SORENESS: "soreness_report",
    Step.ZONE: "zone_choice",
    Step.CITY: "city",
    Step.REMINDER_TIME: "reminder_time",
}
# Answers kept in the conversation that no question asks directly (set when a check-in starts).
HIDDEN_FIELDS = {"c_sore": "soreness", "plan": "plan", "ci": "check_in_message"}
FIELD_OF_STEP: dict[str, str] = {
    **{step.value: name for step, name in STEP_FIELDS.items()},
    **HIDDEN_FIELDS,
}

_CONVERTERS: dict[str, Callable[[str], object]] = {f.name: YesNo for f in fields(Answers)} | {
    "location": Location,
    "onset": Onset,
    "started": Started,
    "trend": Trend,
    "swelling": Swelling,
    "weight_bearing": WeightBearing,
    "pain": int,
    "soreness": int,
    "change": Trend,
    "check_in_message": int,
    "exercises": str,
    "exercise_pain": int,
    "morning": str,
    "soreness_report": int,
    "zone_choice": str,
    "city": str,
    "reminder_time": str,
}


def flagged(answer: YesNo | None) -> bool:
    """A red-flag answer counts when it is yes or not sure; an unasked question does not."""
    return answer in (YesNo.YES, YesNo.UNSURE)


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


def has_clot_signs(a: Answers) -> bool:
    """E6: one swollen, warm, red or aching calf or leg; or breathlessness, chest pain, blood."""
    return flagged(a.calf) or flagged(a.chest)


def has_compartment_syndrome_signs(a: Answers) -> bool:
    """E7: severe pain worsening even at rest AND a tight, hard calf or shin or toe-stretch pain."""
    return flagged(a.severe_pain) and flagged(a.tight_calf)


def has_bleeding_disorder_with_injury(a: Answers) -> bool:
    """E8: a known bleeding disorder and a new injury.

    The reference adds "with swelling"; we do not wait for it, because a bleed into the joint
    can take hours to swell and the product rule is to escalate when unsure. The question is
    only asked after a sudden injury.
    """
    return flagged(a.bleeding)


def heard_crack_at_injury(a: Answers) -> bool:
    """E9: a crack, crunch or popping noise at the moment of injury (NHS: go to A&E)."""
    return flagged(a.crunch)


# --- SEE_CLINICIAN triggers -------------------------------------------------------------------


def has_ottawa_bone_tenderness(a: Answers) -> bool:
    """S1: pressing the bone hurts at an Ottawa point after an injury (at any time since)."""
    return flagged(a.ottawa)


def is_ottawa_positive(a: Answers) -> bool:
    """S1 within 10 days of the injury, where the Ottawa rules are validated (Stiell 1992)."""
    return has_ottawa_bone_tenderness(a) and a.started in WITHIN_10_DAYS


def has_stress_fracture_signs(a: Answers) -> bool:
    """S2: one spot of bone hurts to press or with each step, on the gradual path."""
    return flagged(a.bone_spot)


def has_night_or_rest_pain(a: Answers) -> bool:
    """S3: pain that wakes the runner or does not ease with rest or position."""
    return flagged(a.night_pain)


def keeps_giving_way(a: Answers) -> bool:
    """S4: gave way 2+ times in 6 months, or keeps feeling unstable."""
    return flagged(a.giving_way)


def is_not_improving(a: Answers) -> bool:
    """S5 at the first assessment: started 5 or more days ago and the same or worse."""
    return a.started in FIVE_DAYS_OR_MORE and a.trend in (Trend.SAME, Trend.WORSE)


# The order is the order reasons are shown in: most urgent first.
EMERGENCY_RULES: tuple[tuple[str, Callable[[Answers], bool]], ...] = (
    ("E1", has_deformity),
    ("E2", has_circulation_or_nerve_signs),
    ("E3", is_suspected_achilles_rupture),
    ("E4", cannot_take_four_steps),
    ("E5", has_infection_signs),
    ("E6", has_clot_signs),
    ("E7", has_compartment_syndrome_signs),
    ("E8", has_bleeding_disorder_with_injury),
    ("E9", heard_crack_at_injury),
)
SEE_CLINICIAN_RULES: tuple[tuple[str, Callable[[Answers], bool]], ...] = (
    ("S1", has_ottawa_bone_tenderness),
    ("S2", has_stress_fracture_signs),
    ("S3", has_night_or_rest_pain),
    ("S4", keeps_giving_way),
    ("S5", is_not_improving),
)


def has_emergency(a: Answers) -> bool:
    return any(rule(a) for _, rule in EMERGENCY_RULES)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rules concluded: the disposition, every trigger that fired, and the gate."""

    disposition: Disposition
    reasons: tuple[str, ...]
    plyometric_gate_blockers: tuple[str, ...]
    rules_version: str = RULES_VERSION

    @property
    def plyometric_gate_open(self) -> bool:
        return not self.plyometric_gate_blockers


def plyometric_gate_blockers(a: Answers, *, has_trigger: bool) -> tuple[str, ...]:
    """Every reason hopping is not yet safe (reference section 4); empty means the gate is open.

    An unanswered item counts as its worst value: the gate only opens on evidence.
    """
    return programme.plyometric_gate_blockers(
        pain_now=10 if a.pain is None else a.pain,
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
    emergencies = [code for code, rule in EMERGENCY_RULES if rule(a)]
    referrals = [code for code, rule in SEE_CLINICIAN_RULES if rule(a)]
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
    )
