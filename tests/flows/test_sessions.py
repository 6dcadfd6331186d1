"""Tests for flows/sessions.py: the plyometric gate, the phases and the daily session builder."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows import sessions
from flows.exercise_library import ContentError
from flows.path_plans import plan_for
from flows.sessions import (
    NAMED_EXERCISE_IDS,
    build_session,
    check_library,
    next_phase,
    phase_allowed,
    plyometric_gate_blockers,
    previous_phase,
    starting_phase,
)
from flows.types import CarePath, Location, Onset, Phase, Started, Swelling, WeightBearing


def _session(**overrides: Any):
    arguments: dict[str, Any] = {
        "path": CarePath.SPRAIN,
        "location": Location.OUTSIDE,
        "phase": Phase.STRENGTH,
        "pain_now": 2,
        "gate_open": False,
        "outside_sprain_healing": False,
    }
    arguments.update(overrides)
    return build_session(**arguments)


def _non_plyometric_ids(session) -> tuple[str, ...]:
    return tuple(item.exercise.id for item in session.items if not item.exercise.plyometric)


BASELINE_GATE = {
    "pain_now": 2,
    "onset": Onset.SUDDEN,
    "started": Started.DAYS_5_10,
    "weight_bearing": WeightBearing.NORMAL,
    "swelling": Swelling.NONE,
    "has_trigger": False,
}

GATE_CASES = [
    ("all_clear_is_open", {}, ()),
    ("pain_4_leaves_it_open", {"pain_now": 4}, ()),
    ("pain_5_closes_it", {"pain_now": 5}, ("pain",)),
    ("pain_10_closes_it", {"pain_now": 10}, ("pain",)),
    ("sudden_injury_today_closes_it", {"started": Started.TODAY}, ("recent_injury",)),
    ("sudden_injury_1_2_days_closes_it", {"started": Started.DAYS_1_2}, ("recent_injury",)),
    ("sudden_injury_3_4_days_leaves_it_open", {"started": Started.DAYS_3_4}, ()),
    (
        "gradual_onset_today_is_not_a_recent_injury",
        {"onset": Onset.GRADUAL, "started": Started.TODAY},
        (),
    ),
    ("painful_walking_closes_it", {"weight_bearing": WeightBearing.PAINFUL}, ("walking",)),
    ("cannot_walk_closes_it", {"weight_bearing": WeightBearing.UNABLE}, ("walking",)),
    ("marked_swelling_closes_it", {"swelling": Swelling.MARKED}, ("swelling",)),
    ("mild_swelling_leaves_it_open", {"swelling": Swelling.MILD}, ()),
    ("any_trigger_closes_it", {"has_trigger": True}, ("trigger",)),
    (
        "every_blocker_is_listed",
        {
            "pain_now": 7,
            "started": Started.TODAY,
            "weight_bearing": WeightBearing.PAINFUL,
            "swelling": Swelling.MARKED,
            "has_trigger": True,
        },
        ("pain", "recent_injury", "walking", "swelling", "trigger"),
    ),
]


class TestPlyometricGate:
    @pytest.mark.parametrize(
        ("overrides", "expected"),
        [case[1:] for case in GATE_CASES],
        ids=[case[0] for case in GATE_CASES],
    )
    def test_blockers(self, overrides: dict[str, Any], expected: tuple[str, ...]) -> None:
        answers = {**BASELINE_GATE, **overrides}
        assert plyometric_gate_blockers(**answers) == expected

    @pytest.mark.parametrize("pain", [-1, 11])
    def test_pain_outside_0_to_10_is_rejected(self, pain: int) -> None:
        with pytest.raises(ValueError):
            plyometric_gate_blockers(**{**BASELINE_GATE, "pain_now": pain})


BASELINE_START = {
    "started": Started.DAYS_11_42,
    "pain_now": 2,
    "weight_bearing": WeightBearing.NORMAL,
    "swelling": Swelling.NONE,
}
TENDON_AND_HEEL = [
    CarePath.ACHILLES_MID,
    CarePath.ACHILLES_INSERTION,
    CarePath.PERONEAL,
    CarePath.TIBIALIS_POSTERIOR,
    CarePath.TIBIALIS_ANTERIOR,
    CarePath.HEEL,
]

STARTING_PHASE_CASES = [
    pytest.param(
        CarePath.SPRAIN,
        {"started": Started.TODAY},
        Phase.MOBILITY,
        id="sprain_today_starts_with_mobility",
    ),
    pytest.param(
        CarePath.SPRAIN,
        {"started": Started.DAYS_1_2},
        Phase.MOBILITY,
        id="sprain_1_2_days_starts_with_mobility",
    ),
    pytest.param(CarePath.SPRAIN, {"pain_now": 6}, Phase.MOBILITY, id="sprain_pain_6_mobility"),
    pytest.param(
        CarePath.SPRAIN,
        {"swelling": Swelling.MARKED},
        Phase.MOBILITY,
        id="sprain_marked_swelling_mobility",
    ),
    pytest.param(
        CarePath.SPRAIN,
        {"weight_bearing": WeightBearing.UNABLE},
        Phase.MOBILITY,
        id="sprain_cannot_walk_mobility",
    ),
    pytest.param(
        CarePath.SPRAIN,
        {"weight_bearing": WeightBearing.PAINFUL},
        Phase.STRENGTH,
        id="sprain_painful_walking_strength",
    ),
    pytest.param(CarePath.SPRAIN, {"pain_now": 4}, Phase.STRENGTH, id="sprain_pain_4_strength"),
    pytest.param(
        CarePath.SPRAIN,
        {"started": Started.DAYS_3_4},
        Phase.BALANCE,
        id="sprain_3_4_days_settled_balance",
    ),
    pytest.param(CarePath.SPRAIN, {}, Phase.BALANCE, id="sprain_day_21_settled_balance_at_most"),
    *(
        pytest.param(path, {}, Phase.STRENGTH, id=f"{path.value}_starts_with_strength")
        for path in TENDON_AND_HEEL
    ),
    *(
        pytest.param(path, {"pain_now": 6}, Phase.MOBILITY, id=f"{path.value}_pain_6_mobility")
        for path in TENDON_AND_HEEL
    ),
    pytest.param(
        CarePath.ACHILLES_MID,
        {"started": Started.TODAY, "weight_bearing": WeightBearing.PAINFUL, "pain_now": 5},
        Phase.STRENGTH,
        id="a_new_sore_tendon_still_starts_loading",
    ),
    pytest.param(CarePath.BONE_STRESS, {}, Phase.MOBILITY, id="bone_stress_mobility"),
    pytest.param(CarePath.CALF_TEAR, {}, Phase.MOBILITY, id="calf_tear_mobility"),
    pytest.param(CarePath.INSTABILITY, {}, Phase.BALANCE, id="instability_settled_balance"),
    pytest.param(
        CarePath.INSTABILITY, {"pain_now": 4}, Phase.STRENGTH, id="instability_pain_4_strength"
    ),
    pytest.param(
        CarePath.INSTABILITY,
        {"weight_bearing": WeightBearing.PAINFUL},
        Phase.STRENGTH,
        id="instability_limping_strength",
    ),
]


class TestStartingPhase:
    @pytest.mark.parametrize(("path", "overrides", "expected"), STARTING_PHASE_CASES)
    def test_start_phase(self, path: CarePath, overrides: dict[str, Any], expected: Phase) -> None:
        assert starting_phase(path, **{**BASELINE_START, **overrides}) is expected

    @given(
        path=st.sampled_from(CarePath),
        started=st.sampled_from(Started),
        pain_now=st.integers(0, 10),
        weight_bearing=st.sampled_from(WeightBearing),
        swelling=st.sampled_from(Swelling),
    )
    def test_no_path_ever_starts_in_the_plyometric_phase(
        self,
        path: CarePath,
        started: Started,
        pain_now: int,
        weight_bearing: WeightBearing,
        swelling: Swelling,
    ) -> None:
        phase = starting_phase(
            path,
            started=started,
            pain_now=pain_now,
            weight_bearing=weight_bearing,
            swelling=swelling,
        )
        assert phase <= Phase.BALANCE

    @pytest.mark.parametrize("pain", [-1, 11])
    def test_pain_outside_0_to_10_is_rejected(self, pain: int) -> None:
        with pytest.raises(ValueError):
            starting_phase(CarePath.SPRAIN, **{**BASELINE_START, "pain_now": pain})


class TestPhaseSteps:
    @pytest.mark.parametrize(
        ("phase", "expected"),
        [
            (Phase.MOBILITY, Phase.STRENGTH),
            (Phase.STRENGTH, Phase.BALANCE),
            (Phase.BALANCE, Phase.PLYOMETRIC),
            (Phase.PLYOMETRIC, Phase.PLYOMETRIC),
        ],
        ids=["1_to_2", "2_to_3", "3_to_4", "4_stays_4"],
    )
    def test_next_phase_is_clamped_at_plyometric(self, phase: Phase, expected: Phase) -> None:
        assert next_phase(phase) is expected

    @pytest.mark.parametrize(
        ("phase", "expected"),
        [
            (Phase.PLYOMETRIC, Phase.BALANCE),
            (Phase.BALANCE, Phase.STRENGTH),
            (Phase.STRENGTH, Phase.MOBILITY),
            (Phase.MOBILITY, Phase.MOBILITY),
        ],
        ids=["4_to_3", "3_to_2", "2_to_1", "1_stays_1"],
    )
    def test_previous_phase_is_clamped_at_mobility(self, phase: Phase, expected: Phase) -> None:
        assert previous_phase(phase) is expected

    @pytest.mark.parametrize(
        ("phase", "gate_open", "expected"),
        [
            (Phase.PLYOMETRIC, False, Phase.BALANCE),
            (Phase.PLYOMETRIC, True, Phase.PLYOMETRIC),
            (Phase.BALANCE, False, Phase.BALANCE),
            (Phase.MOBILITY, False, Phase.MOBILITY),
        ],
        ids=[
            "closed_gate_caps_plyometric_at_balance",
            "open_gate_allows_plyometric",
            "closed_gate_leaves_balance",
            "closed_gate_leaves_mobility",
        ],
    )
    def test_phase_allowed(self, phase: Phase, gate_open: bool, expected: Phase) -> None:
        assert phase_allowed(phase, gate_open=gate_open) is expected


# The location's lead exercises that exist at each plan phase, in the order they must come.
LEAD_CASES = [
    (Location.OUTSIDE, Phase.MOBILITY, ()),
    (Location.OUTSIDE, Phase.STRENGTH, ("band",)),
    (Location.OUTSIDE, Phase.BALANCE, ("band", "sl_stance")),
    (Location.OUTSIDE, Phase.PLYOMETRIC, ("band", "sl_stance")),
    (Location.INSIDE, Phase.MOBILITY, ()),
    (Location.INSIDE, Phase.STRENGTH, ("band", "calf_raise")),
    (Location.INSIDE, Phase.BALANCE, ("band", "calf_raise")),
    (Location.INSIDE, Phase.PLYOMETRIC, ("band", "calf_raise")),
    (Location.BACK, Phase.MOBILITY, ()),
    (Location.BACK, Phase.STRENGTH, ("wall_bridge",)),
    (Location.BACK, Phase.BALANCE, ("lunge_raise",)),
    (Location.BACK, Phase.PLYOMETRIC, ("lunge_raise",)),
    (Location.FRONT, Phase.MOBILITY, ("tib_stretch", "calf_stretch")),
    (Location.FRONT, Phase.STRENGTH, ("tib_stretch", "calf_stretch")),
    (Location.FRONT, Phase.BALANCE, ("tib_stretch", "calf_stretch")),
    (Location.FRONT, Phase.PLYOMETRIC, ("tib_stretch", "calf_stretch")),
    (Location.HEEL, Phase.MOBILITY, ("calf_stretch",)),
    (Location.HEEL, Phase.STRENGTH, ("calf_stretch", "calf_raise")),
    (Location.HEEL, Phase.BALANCE, ("calf_stretch", "calf_raise")),
    (Location.HEEL, Phase.PLYOMETRIC, ("calf_stretch", "calf_raise")),
]
LEAD_IDS = [f"{location.value}_phase_{phase.value}" for location, phase, _ in LEAD_CASES]

LOCATIONS_WITH_LEADS = [loc for loc in Location if loc is not Location.ALL_OVER]


class TestSessionLeads:
    @pytest.mark.parametrize("gate_open", [False, True], ids=["gate_closed", "gate_open"])
    @pytest.mark.parametrize(("location", "phase", "leads"), LEAD_CASES, ids=LEAD_IDS)
    def test_lead_exercises_come_first_after_any_plyometrics(
        self, location: Location, phase: Phase, leads: tuple[str, ...], gate_open: bool
    ) -> None:
        session = _session(location=location, phase=phase, pain_now=1, gate_open=gate_open)
        assert _non_plyometric_ids(session)[: len(leads)] == leads

    @pytest.mark.parametrize("phase", list(Phase), ids=lambda p: f"phase_{p.value}")
    def test_all_over_gets_a_mix_from_every_phase_up_to_the_plan(self, phase: Phase) -> None:
        session = _session(location=Location.ALL_OVER, phase=phase, pain_now=0)
        phases_present = {item.exercise.phase for item in session.items}
        assert phases_present >= set(Phase(p) for p in range(1, min(phase, Phase.BALANCE) + 1))

    @pytest.mark.parametrize(
        ("location", "expected_word"),
        [(Location.OUTSIDE, "pushing the foot out"), (Location.INSIDE, "pushing the foot in")],
        ids=["outside_leads_with_pushing_out", "inside_leads_with_pushing_in"],
    )
    def test_band_note_names_the_direction_that_leads(
        self, location: Location, expected_word: str
    ) -> None:
        session = _session(location=location, phase=Phase.STRENGTH)
        band = next(item for item in session.items if item.exercise.id == "band")
        assert expected_word in band.note

    @pytest.mark.parametrize("path", [p for p in CarePath if p is not CarePath.ACHILLES_MID])
    def test_heel_drops_off_a_step_are_only_for_mid_portion_achilles(self, path: CarePath) -> None:
        for location in Location:
            for phase in Phase:
                session = _session(
                    path=path, location=location, phase=phase, pain_now=0, gate_open=True
                )
                assert "heel_drops" not in session.exercise_ids

    @pytest.mark.parametrize("location", list(Location), ids=str)
    def test_lunge_raise_takes_the_wall_bridge_slot_from_phase_3(self, location: Location) -> None:
        session = _session(location=location, phase=Phase.BALANCE, pain_now=0)
        assert "wall_bridge" not in session.exercise_ids


class TestSessionPlyometrics:
    @pytest.mark.parametrize("pain_now", [0, 3], ids=["pain_0", "pain_3"])
    @pytest.mark.parametrize("location", list(Location), ids=str)
    def test_open_gate_in_phase_4_puts_plyometrics_first(
        self, location: Location, pain_now: int
    ) -> None:
        session = _session(
            location=location, phase=Phase.PLYOMETRIC, pain_now=pain_now, gate_open=True
        )
        flags = [item.exercise.plyometric for item in session.items]
        assert flags[0] is True
        assert flags == sorted(flags, reverse=True)  # no plyometric after a non-plyometric
        assert session.items[0].exercise.id == "side_hops"
        assert 1 <= sum(flags) <= 2
        assert session.plyometrics_withheld is False

    @pytest.mark.parametrize("location", list(Location), ids=str)
    def test_closed_gate_removes_plyometrics_even_in_phase_4(self, location: Location) -> None:
        session = _session(location=location, phase=Phase.PLYOMETRIC, pain_now=0, gate_open=False)
        assert not any(item.exercise.plyometric for item in session.items)
        assert session.plyometrics_withheld is True

    @pytest.mark.parametrize("phase", [Phase.MOBILITY, Phase.STRENGTH, Phase.BALANCE], ids=str)
    def test_no_plyometrics_before_phase_4_even_with_the_gate_open(self, phase: Phase) -> None:
        session = _session(phase=phase, pain_now=0, gate_open=True)
        assert not any(item.exercise.plyometric for item in session.items)
        assert session.plyometrics_withheld is False

    def test_pain_4_leaves_out_hops_even_with_the_gate_open(self) -> None:
        session = _session(phase=Phase.PLYOMETRIC, pain_now=4, gate_open=True)
        assert not any(item.exercise.plyometric for item in session.items)
        assert session.plyometrics_withheld is True

    @given(
        path=st.sampled_from(CarePath),
        location=st.sampled_from(Location),
        phase=st.sampled_from(Phase),
        pain_now=st.integers(0, 10),
        outside_sprain_healing=st.booleans(),
    )
    def test_a_closed_gate_never_yields_a_plyometric_item(
        self,
        path: CarePath,
        location: Location,
        phase: Phase,
        pain_now: int,
        outside_sprain_healing: bool,
    ) -> None:
        session = build_session(
            path=path,
            location=location,
            phase=phase,
            pain_now=pain_now,
            gate_open=False,
            outside_sprain_healing=outside_sprain_healing,
        )
        assert not any(item.exercise.plyometric for item in session.items)


class TestSessionShape:
    @pytest.mark.parametrize("phase", list(Phase), ids=lambda p: f"phase_{p.value}")
    @pytest.mark.parametrize("location", list(Location), ids=str)
    def test_tibialis_anterior_stretch_is_skipped_while_an_outside_sprain_heals(
        self, location: Location, phase: Phase
    ) -> None:
        session = _session(
            location=location, phase=phase, pain_now=0, gate_open=True, outside_sprain_healing=True
        )
        assert "tib_stretch" not in session.exercise_ids

    def test_tibialis_anterior_stretch_is_in_a_front_plan_when_no_sprain_heals(self) -> None:
        session = _session(location=Location.FRONT, phase=Phase.MOBILITY)
        assert session.exercise_ids[0] == "tib_stretch"

    @pytest.mark.parametrize("pain_now", [0, 3, 4, 5], ids=lambda p: f"pain_{p}")
    @pytest.mark.parametrize("phase", [Phase.BALANCE, Phase.PLYOMETRIC], ids=str)
    @pytest.mark.parametrize("location", list(Location), ids=str)
    def test_every_plan_from_phase_3_includes_single_leg_balance(
        self, location: Location, phase: Phase, pain_now: int
    ) -> None:
        for gate_open in (False, True):
            session = _session(
                location=location, phase=phase, pain_now=pain_now, gate_open=gate_open
            )
            assert "sl_stance" in session.exercise_ids

    @pytest.mark.parametrize("phase", [Phase.STRENGTH, Phase.BALANCE, Phase.PLYOMETRIC], ids=str)
    @pytest.mark.parametrize("location", list(Location), ids=str)
    def test_a_low_pain_session_holds_4_to_6_exercises(
        self, location: Location, phase: Phase
    ) -> None:
        session = _session(location=location, phase=phase, pain_now=2, gate_open=True)
        assert 4 <= len(session.items) <= 6

    @pytest.mark.parametrize("phase", [Phase.STRENGTH, Phase.BALANCE, Phase.PLYOMETRIC], ids=str)
    @pytest.mark.parametrize("location", list(Location), ids=str)
    def test_pain_4_to_5_gives_at_most_4_items_and_never_more_than_low_pain(
        self, location: Location, phase: Phase
    ) -> None:
        low = _session(location=location, phase=phase, pain_now=2, gate_open=True)
        for pain_now in (4, 5):
            acceptable = _session(location=location, phase=phase, pain_now=pain_now, gate_open=True)
            assert len(acceptable.items) <= 4
            assert len(acceptable.items) <= len(low.items)

    @pytest.mark.parametrize("phase", list(Phase), ids=str)
    @pytest.mark.parametrize("location", list(Location), ids=str)
    def test_pain_above_5_gives_gentle_mobility_only(
        self, location: Location, phase: Phase
    ) -> None:
        session = _session(location=location, phase=phase, pain_now=6, gate_open=True)
        assert session.items
        assert len(session.items) <= 3
        assert all(item.exercise.phase is Phase.MOBILITY for item in session.items)

    @given(
        path=st.sampled_from(CarePath),
        location=st.sampled_from(Location),
        phase=st.sampled_from(Phase),
        pain_now=st.integers(0, 10),
        gate_open=st.booleans(),
        outside_sprain_healing=st.booleans(),
    )
    def test_a_session_never_goes_past_its_phase_repeats_or_exceeds_six_items(
        self,
        path: CarePath,
        location: Location,
        phase: Phase,
        pain_now: int,
        gate_open: bool,
        outside_sprain_healing: bool,
    ) -> None:
        session = build_session(
            path=path,
            location=location,
            phase=phase,
            pain_now=pain_now,
            gate_open=gate_open,
            outside_sprain_healing=outside_sprain_healing,
        )
        ids = session.exercise_ids
        assert 1 <= len(ids) <= 6
        assert len(ids) == len(set(ids))
        assert all(item.exercise.phase <= phase for item in session.items)
        assert session.phase is phase and session.location is location and session.path is path

    @pytest.mark.parametrize("pain", [-1, 11])
    def test_pain_outside_0_to_10_is_rejected(self, pain: int) -> None:
        with pytest.raises(ValueError):
            _session(pain_now=pain)


class TestLibraryCheck:
    def test_the_shipped_library_has_every_exercise_the_builder_names(self) -> None:
        check_library()
        assert {"side_hops", "plate_hops", "switch_lunge", "sl_stance"} <= NAMED_EXERCISE_IDS
        assert {"heel_drops_floor", "plantar_raise", "band_inversion"} <= NAMED_EXERCISE_IDS

    def test_a_library_without_an_exercise_a_path_names_is_refused_at_start_up(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        real = sessions.exercise_by_id
        monkeypatch.setattr(
            sessions, "exercise_by_id", lambda i: None if i == "plantar_raise" else real(i)
        )
        with pytest.raises(ContentError, match="needs exercise 'plantar_raise'"):
            check_library()

    def test_a_library_without_one_of_them_is_refused_at_start_up(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        real = sessions.exercise_by_id
        monkeypatch.setattr(
            sessions, "exercise_by_id", lambda i: None if i == "plate_hops" else real(i)
        )
        with pytest.raises(ContentError, match="needs exercise 'plate_hops'"):
            check_library()


# The path's own loading exercise that leads its strength session (issue 9, reference 1b/1e).
PATH_LEADS = [
    (CarePath.ACHILLES_MID, Location.BACK, ("heel_drops",)),
    (CarePath.ACHILLES_INSERTION, Location.BACK, ("heel_drops_floor",)),
    (CarePath.PERONEAL, Location.OUTSIDE, ("band",)),
    (CarePath.TIBIALIS_POSTERIOR, Location.INSIDE, ("band_inversion", "band")),
    (CarePath.TIBIALIS_ANTERIOR, Location.FRONT, ("tib_stretch", "band")),
    (CarePath.HEEL, Location.HEEL, ("plantar_raise", "fascia_stretch")),
]


class TestPathSessions:
    @pytest.mark.parametrize(
        ("path", "location", "leads"), PATH_LEADS, ids=[p.value for p, _, _ in PATH_LEADS]
    )
    def test_a_strength_session_leads_with_the_paths_loading_exercise(
        self, path: CarePath, location: Location, leads: tuple[str, ...]
    ) -> None:
        session = _session(path=path, location=location, phase=Phase.STRENGTH, pain_now=3)
        assert session.exercise_ids[: len(leads)] == leads

    @given(
        location=st.sampled_from(Location),
        phase=st.sampled_from(Phase),
        pain_now=st.integers(0, 10),
        gate_open=st.booleans(),
    )
    def test_insertional_achilles_never_gets_end_range_stretch_or_below_step_drops(
        self, location: Location, phase: Phase, pain_now: int, gate_open: bool
    ) -> None:
        session = _session(
            path=CarePath.ACHILLES_INSERTION,
            location=location,
            phase=phase,
            pain_now=pain_now,
            gate_open=gate_open,
        )
        assert not {"calf_stretch", "heel_drops", "bf_toe_raise"} & set(session.exercise_ids)

    @pytest.mark.parametrize("phase", [Phase.MOBILITY, Phase.STRENGTH], ids=str)
    @pytest.mark.parametrize("pain_now", [0, 4, 7], ids=lambda p: f"pain_{p}")
    def test_a_calf_tear_gets_no_calf_stretch_in_phases_1_and_2(
        self, phase: Phase, pain_now: int
    ) -> None:
        session = _session(
            path=CarePath.CALF_TEAR, location=Location.BACK, phase=phase, pain_now=pain_now
        )
        assert "calf_stretch" not in session.exercise_ids

    def test_a_calf_tear_may_stretch_the_calf_again_from_phase_3(self) -> None:
        session = _session(
            path=CarePath.CALF_TEAR, location=Location.BACK, phase=Phase.BALANCE, pain_now=7
        )
        assert "calf_stretch" in session.exercise_ids

    @given(
        location=st.sampled_from(Location),
        phase=st.sampled_from(Phase),
        pain_now=st.integers(0, 10),
    )
    def test_bone_stress_never_gets_impact_or_standing_load(
        self, location: Location, phase: Phase, pain_now: int
    ) -> None:
        session = _session(
            path=CarePath.BONE_STRESS,
            location=location,
            phase=phase,
            pain_now=pain_now,
            gate_open=True,
        )
        assert not any(item.exercise.plyometric for item in session.items)
        assert not {"calf_raise", "sl_stance", "heel_drops", "lunge_raise"} & set(
            session.exercise_ids
        )
        assert session.plyometrics_withheld is (phase is Phase.PLYOMETRIC)

    def test_bone_stress_strength_work_is_non_impact(self) -> None:
        session = _session(
            path=CarePath.BONE_STRESS, location=Location.ALL_OVER, phase=Phase.STRENGTH
        )
        assert session.exercise_ids[:3] == ("alphabet", "band", "wall_bridge")

    @pytest.mark.parametrize("path", [CarePath.SPRAIN, CarePath.INSTABILITY], ids=str)
    @pytest.mark.parametrize("phase", [Phase.BALANCE, Phase.PLYOMETRIC], ids=str)
    def test_sprain_and_instability_keep_balance_work_from_phase_3(
        self, path: CarePath, phase: Phase
    ) -> None:
        session = _session(path=path, phase=phase, pain_now=2, gate_open=True)
        assert "sl_stance" in session.exercise_ids

    def test_an_unstable_ankle_trains_the_prevention_exercises_from_phase_3(self) -> None:
        session = _session(path=CarePath.INSTABILITY, phase=Phase.BALANCE, pain_now=2)
        assert {"bf_stance", "bf_knee_bend", "bf_toe_raise"} <= set(session.exercise_ids)

    @pytest.mark.parametrize("path", [p for p in CarePath if p is not CarePath.INSTABILITY])
    def test_prevention_and_path_only_exercises_appear_only_where_a_path_names_them(
        self, path: CarePath
    ) -> None:
        named = set(plan_for(path).leads)
        for location in Location:
            for phase in Phase:
                session = _session(path=path, location=location, phase=phase, pain_now=0)
                kept = {i.exercise.id for i in session.items if i.exercise.named_only}
                assert kept <= named
