"""The triage rules: every trigger, the precedence, and the plyometric gate (reference 1, 2, 4)."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows import triage
from flows.rules import RULES_VERSION, Answers, decide, plyometric_gate_blockers
from flows.types import (
    BoneSite,
    Disposition,
    Location,
    Onset,
    Started,
    Swelling,
    Trend,
    WeightBearing,
    YesNo,
)

Y, N, U = YesNo.YES, YesNo.NO, YesNo.UNSURE
H, S, E = Disposition.HOME_CARE, Disposition.SEE_CLINICIAN, Disposition.EMERGENCY

FLAG_FIELDS = [f.name for f in fields(Answers) if f.type in ("YesNo | None",)]


def calm(**changes: object) -> Answers:
    """A sudden outside sprain 1-2 days ago, walking with pain, every red flag answered no."""
    base = Answers(
        location=Location.OUTSIDE,
        onset=Onset.SUDDEN,
        started=Started.DAYS_1_2,
        swelling=Swelling.MILD,
        weight_bearing=WeightBearing.PAINFUL,
        pain=4,
        **{name: N for name in FLAG_FIELDS},
    )
    return replace(base, **changes)


# (id, answers, expected disposition, expected reasons)
RULE_TABLE = [
    ("no trigger: home care", calm(), H, ()),
    ("E1 deformity", calm(deformity=Y), E, ("E1",)),
    ("E1 not sure counts as yes", calm(deformity=U), E, ("E1",)),
    ("E2 numb or cold foot", calm(circulation=Y), E, ("E2",)),
    ("E3 pop and cannot tiptoe", calm(pop=Y, tiptoe=Y), E, ("E3",)),
    ("E3 pop and unsure tiptoe", calm(pop=Y, tiptoe=U), E, ("E3",)),
    ("S7, not E3: pop but can tiptoe", calm(pop=Y, tiptoe=N), S, ("S7",)),
    ("S7 on a gradual onset too", calm(onset=Onset.GRADUAL, pop=U, tiptoe=N), S, ("S7",)),
    ("E3 whatever the pain: pain 0", calm(pop=Y, tiptoe=Y, pain=0), E, ("E3",)),
    ("E4 cannot take 4 steps", calm(weight_bearing=WeightBearing.UNABLE), E, ("E4",)),
    (
        "E4 on the gradual path too",
        calm(
            onset=Onset.GRADUAL,
            started=Started.OVER_6_WEEKS,
            trend=Trend.BETTER,
            weight_bearing=WeightBearing.UNABLE,
        ),
        E,
        ("E4",),
    ),
    (
        "E4 weeks after the injury",
        calm(started=Started.DAYS_11_42, trend=Trend.BETTER, weight_bearing=WeightBearing.UNABLE),
        E,
        ("E4",),
    ),
    ("E5 fever with a hot ankle", calm(fever=Y), E, ("E5",)),
    ("E5 hot swollen joint without injury", calm(onset=Onset.GRADUAL, hot_joint=Y), E, ("E5",)),
    ("E6 one swollen calf", calm(calf=Y), E, ("E6",)),
    ("E6C chest symptoms are their own rule", calm(chest=U), E, ("E6C",)),
    ("E6C with a swollen calf too", calm(chest=Y, calf=Y), E, ("E6C", "E6")),
    ("E7 severe rising pain on its own", calm(severe_pain=Y), E, ("E7",)),
    ("E7 not sure counts as yes", calm(severe_pain=U), E, ("E7",)),
    ("E8 bleeding disorder with an injury", calm(bleeding=Y), E, ("E8",)),
    ("E8 even before swelling shows", calm(bleeding=Y, swelling=Swelling.NONE), E, ("E8",)),
    ("E8A blood thinner and a swollen injury", calm(blood_thinner=Y), E, ("E8A",)),
    (
        "E8A blood thinner, no swelling, spreading bruise",
        calm(blood_thinner=Y, swelling=Swelling.NONE, bruising=U),
        E,
        ("E8A",),
    ),
    (
        "E8A needs swelling or bruising",
        calm(blood_thinner=Y, swelling=Swelling.NONE, bruising=N),
        H,
        (),
    ),
    ("E9 crack heard at the injury", calm(crunch=Y), E, ("E9",)),
    (
        "E9 whatever the pain and walking",
        calm(crunch=Y, pain=1, weight_bearing=WeightBearing.NORMAL),
        E,
        ("E9",),
    ),
    ("S1 Ottawa point tender within 10 days", calm(ottawa=Y), S, ("S1",)),
    (
        "S1 still counts after 10 days",
        calm(ottawa=Y, started=Started.DAYS_11_42, trend=Trend.BETTER),
        S,
        ("S1",),
    ),
    (
        "S2 one bony spot hurts (gradual)",
        calm(
            onset=Onset.GRADUAL,
            started=Started.DAYS_11_42,
            trend=Trend.BETTER,
            bone_spot=Y,
            bone_site=BoneSite.SHIN,
        ),
        S,
        ("S2",),
    ),
    (
        "S2 whatever the pain score",
        calm(onset=Onset.GRADUAL, bone_spot=U, bone_site=BoneSite.HEEL_BONE, pain=1),
        S,
        ("S2",),
    ),
    (
        "S2H at a high-risk site",
        calm(onset=Onset.GRADUAL, bone_spot=Y, bone_site=BoneSite.INNER_MIDFOOT),
        S,
        ("S2", "S2H"),
    ),
    (
        "S2H when the site is not known",
        calm(onset=Onset.GRADUAL, bone_spot=Y, bone_site=BoneSite.UNSURE),
        S,
        ("S2", "S2H"),
    ),
    (
        "S2 alone at a low-risk site",
        calm(onset=Onset.GRADUAL, bone_spot=Y, bone_site=BoneSite.SHIN),
        S,
        ("S2",),
    ),
    (
        "S8 bony pain and missed periods",
        calm(onset=Onset.GRADUAL, bone_spot=Y, bone_site=BoneSite.SHIN, periods=Y),
        S,
        ("S2", "S8"),
    ),
    (
        "S8 bony pain and an earlier bone stress injury (not sure)",
        calm(onset=Onset.GRADUAL, bone_spot=Y, bone_site=BoneSite.SHIN, earlier_bone_stress=U),
        S,
        ("S2", "S8"),
    ),
    (
        "S8 needs the bony pain",
        calm(onset=Onset.GRADUAL, restricted_eating=Y, weight_loss=Y),
        H,
        (),
    ),
    ("S3 night or rest pain", calm(night_pain=Y), S, ("S3",)),
    ("S4 giving way", calm(giving_way=Y), S, ("S4",)),
    ("S5 5-10 days and the same", calm(started=Started.DAYS_5_10, trend=Trend.SAME), S, ("S5",)),
    (
        "S5 over 6 weeks and worse",
        calm(started=Started.OVER_6_WEEKS, trend=Trend.WORSE),
        S,
        ("S5",),
    ),
    ("S5 not when getting better", calm(started=Started.DAYS_5_10, trend=Trend.BETTER), H, ()),
    ("S5 not asked before 5 days", calm(started=Started.DAYS_3_4), H, ()),
    ("marked swelling alone is not a red flag", calm(swelling=Swelling.MARKED), H, ()),
    ("high pain alone is not a red flag", calm(pain=8), H, ()),
    (
        "emergency beats see-clinician, all reasons listed",
        calm(ottawa=Y, crunch=Y, giving_way=Y),
        E,
        ("E9", "S1", "S4"),
    ),
    (
        "several emergencies all listed",
        calm(deformity=Y, weight_bearing=WeightBearing.UNABLE),
        E,
        ("E1", "E4"),
    ),
    (
        "several referrals all listed",
        calm(night_pain=Y, started=Started.DAYS_5_10, trend=Trend.WORSE),
        S,
        ("S3", "S5"),
    ),
    (
        "normal walking and low pain never cancel a trigger",
        calm(ottawa=Y, pain=0, weight_bearing=WeightBearing.NORMAL),
        S,
        ("S1",),
    ),
]


@pytest.mark.parametrize(
    ("answers", "disposition", "reasons"),
    [pytest.param(a, d, r, id=i) for i, a, d, r in RULE_TABLE],
)
def test_rule_table(answers: Answers, disposition: Disposition, reasons: tuple[str, ...]) -> None:
    decision = decide(answers)
    assert decision.disposition is disposition
    assert decision.reasons == reasons
    assert decision.rules_version == RULES_VERSION


def test_check_in_reasons_raise_home_care_to_see_clinician() -> None:
    """S5/S6 found at a check-in are passed in and can only raise the disposition."""
    decision = decide(calm(), extra_reasons=("S6",))
    assert (decision.disposition, decision.reasons) == (S, ("S6",))
    assert decide(calm(crunch=Y), extra_reasons=("S6",)).disposition is E


# --- property: any emergency answer gives EMERGENCY, whatever else is answered -----------------

answer_values = {
    "location": st.sampled_from(Location),
    "onset": st.sampled_from(Onset),
    "started": st.sampled_from(Started),
    "trend": st.none() | st.sampled_from(Trend),
    "swelling": st.sampled_from(Swelling),
    "weight_bearing": st.sampled_from(WeightBearing),
    "pain": st.integers(0, 10),
} | {name: st.none() | st.sampled_from(YesNo) for name in FLAG_FIELDS}

any_answers = st.fixed_dictionaries(answer_values).map(lambda d: Answers(**d))

# Each emergency trigger as the answers that make it, "not sure" standing in for yes too.
yes_or_unsure = st.sampled_from([Y, U])
emergency_flags = st.one_of(
    st.builds(lambda v: {"deformity": v}, yes_or_unsure),
    st.builds(lambda v: {"circulation": v}, yes_or_unsure),
    st.builds(lambda v, w: {"pop": v, "tiptoe": w}, yes_or_unsure, yes_or_unsure),
    st.just({"weight_bearing": WeightBearing.UNABLE}),
    st.builds(lambda v: {"fever": v}, yes_or_unsure),
    st.builds(lambda v: {"hot_joint": v}, yes_or_unsure),
    st.builds(lambda v: {"calf": v}, yes_or_unsure),
    st.builds(lambda v: {"chest": v}, yes_or_unsure),
    st.builds(lambda v: {"severe_pain": v}, yes_or_unsure),
    st.builds(lambda v: {"blood_thinner": v, "swelling": Swelling.MILD}, yes_or_unsure),
    st.builds(lambda v: {"bleeding": v}, yes_or_unsure),
    st.builds(lambda v: {"crunch": v}, yes_or_unsure),
)


@given(answers=any_answers, flag=emergency_flags)
def test_any_emergency_answer_gives_emergency_whatever_else_is_answered(
    answers: Answers, flag: dict
) -> None:
    decision = decide(replace(answers, **flag))
    assert decision.disposition is E
    assert any(code.startswith("E") for code in decision.reasons)
    assert not decision.plyometric_gate_open


@given(answers=any_answers)
def test_disposition_is_home_care_only_without_any_trigger(answers: Answers) -> None:
    decision = decide(answers)
    assert (decision.disposition is H) == (decision.reasons == ())


# --- the plyometric gate (reference section 4) --------------------------------------------------

GATE_OPEN = calm(
    started=Started.DAYS_3_4, weight_bearing=WeightBearing.NORMAL, pain=2, swelling=Swelling.MILD
)


@pytest.mark.parametrize(
    ("answers", "has_trigger", "blockers"),
    [
        pytest.param(GATE_OPEN, False, (), id="all clear: open"),
        pytest.param(replace(GATE_OPEN, pain=5), False, ("pain",), id="pain 5 closes"),
        pytest.param(replace(GATE_OPEN, pain=4), False, (), id="pain 4 keeps open"),
        pytest.param(
            replace(GATE_OPEN, started=Started.TODAY),
            False,
            ("recent_injury",),
            id="injury today closes",
        ),
        pytest.param(
            replace(GATE_OPEN, started=Started.DAYS_1_2),
            False,
            ("recent_injury",),
            id="injury 1-2 days ago closes",
        ),
        pytest.param(
            replace(GATE_OPEN, onset=Onset.GRADUAL, started=Started.TODAY),
            False,
            (),
            id="gradual onset today does not close",
        ),
        pytest.param(
            replace(GATE_OPEN, weight_bearing=WeightBearing.PAINFUL),
            False,
            ("walking",),
            id="painful walking closes",
        ),
        pytest.param(
            replace(GATE_OPEN, swelling=Swelling.MARKED),
            False,
            ("swelling",),
            id="marked swelling closes",
        ),
        pytest.param(GATE_OPEN, True, ("trigger",), id="any trigger closes"),
    ],
)
def test_plyometric_gate(answers: Answers, has_trigger: bool, blockers: tuple[str, ...]) -> None:
    assert plyometric_gate_blockers(answers, has_trigger=has_trigger) == blockers


def test_answers_are_read_from_the_stored_step_mapping() -> None:
    stored = {"loc": "outside", "s1": "unsure", "trend": "same", "pain": "4", "walk": "unable"}
    assert triage.answers_of(stored) == Answers(
        location=Location.OUTSIDE,
        ottawa=U,
        trend=Trend.SAME,
        pain=4,
        weight_bearing=WeightBearing.UNABLE,
    )
