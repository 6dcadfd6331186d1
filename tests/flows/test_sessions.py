"""Tests for flows/sessions.py: the plyometric gate, the phases and the daily session builder."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows import sessions
from flows.exercise_library import ContentError
from flows.sessions import (
    NAMED_EXERCISE_IDS,
    build_session,
    check_library,
    initial_phase,
    next_phase,
    phase_allowed,
    plyometric_gate_blockers,
    previous_phase,
)
from flows.types import Location, Onset, Phase, Started, Swelling, WeightBearing


def _session(**overrides: Any):
    arguments: dict[str, Any] = {
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
    "onset": Onset.GRADUAL,
    "started": Started.DAYS_11_42,
    "pain_now": 2,
    "weight_bearing": WeightBearing.NORMAL,
    "swelling": Swelling.NONE,
    "gate_open": True,
}

INITIAL_PHASE_CASES = [
    pytest.param(
        {"onset": Onset.SUDDEN, "started": Started.TODAY, "gate_open": False},
        Phase.MOBILITY,
        id="sudden_injury_today_starts_with_mobility",
    ),
    pytest.param(
        {"onset": Onset.SUDDEN, "started": Started.DAYS_1_2, "gate_open": False},
        Phase.MOBILITY,
        id="sudden_injury_1_2_days_starts_with_mobility",
    ),
    pytest.param(
        {"pain_now": 6, "gate_open": False}, Phase.MOBILITY, id="pain_6_starts_with_mobility"
    ),
    pytest.param(
        {"swelling": Swelling.MARKED, "gate_open": False},
        Phase.MOBILITY,
        id="marked_swelling_starts_with_mobility",
    ),
    pytest.param(
        {"weight_bearing": WeightBearing.UNABLE, "gate_open": False},
        Phase.MOBILITY,
        id="cannot_walk_starts_with_mobility",
    ),
    pytest.param(
        {"weight_bearing": WeightBearing.PAINFUL, "gate_open": False},
        Phase.STRENGTH,
        id="painful_walking_starts_with_strength",
    ),
    pytest.param({"pain_now": 4}, Phase.STRENGTH, id="pain_4_starts_with_strength"),
    pytest.param(
        {"pain_now": 5, "gate_open": False}, Phase.STRENGTH, id="pain_5_starts_with_strength"
    ),
    pytest.param(
        {"gate_open": False},
        Phase.BALANCE,
        id="low_pain_normal_walking_gate_closed_starts_with_balance",
    ),
    pytest.param(
        {"started": Started.DAYS_3_4},
        Phase.BALANCE,
        id="gradual_problem_under_5_days_starts_with_balance",
    ),
    pytest.param(
        {"started": Started.DAYS_5_10},
        Phase.PLYOMETRIC,
        id="gradual_problem_5_days_or_more_with_gate_open_starts_with_hops",
    ),
    pytest.param(
        {"started": Started.OVER_6_WEEKS},
        Phase.PLYOMETRIC,
        id="long_standing_problem_with_gate_open_starts_with_hops",
    ),
    pytest.param(
        {"onset": Onset.SUDDEN, "started": Started.DAYS_3_4},
        Phase.BALANCE,
        id="sudden_injury_3_4_days_low_pain_starts_with_balance",
    ),
    pytest.param(
        {"onset": Onset.SUDDEN, "started": Started.DAYS_5_10},
        Phase.BALANCE,
        id="sudden_injury_5_10_days_waits_for_hops",
    ),
    pytest.param(
        {"onset": Onset.SUDDEN, "started": Started.DAYS_11_42},
        Phase.PLYOMETRIC,
        id="sudden_injury_past_10_days_with_gate_open_starts_with_hops",
    ),
]


class TestInitialPhase:
    @pytest.mark.parametrize(("overrides", "expected"), INITIAL_PHASE_CASES)
    def test_start_phase(self, overrides: dict[str, Any], expected: Phase) -> None:
        assert initial_phase(**{**BASELINE_START, **overrides}) is expected

    @given(
        onset=st.sampled_from(Onset),
        started=st.sampled_from(Started),
        pain_now=st.integers(0, 10),
        weight_bearing=st.sampled_from(WeightBearing),
        swelling=st.sampled_from(Swelling),
    )
    def test_a_closed_gate_never_starts_in_the_plyometric_phase(
        self,
        onset: Onset,
        started: Started,
        pain_now: int,
        weight_bearing: WeightBearing,
        swelling: Swelling,
    ) -> None:
        phase = initial_phase(
            onset=onset,
            started=started,
            pain_now=pain_now,
            weight_bearing=weight_bearing,
            swelling=swelling,
            gate_open=False,
        )
        assert phase is not Phase.PLYOMETRIC


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
    (Location.BACK, Phase.STRENGTH, ("heel_drops", "wall_bridge")),
    (Location.BACK, Phase.BALANCE, ("heel_drops", "lunge_raise")),
    (Location.BACK, Phase.PLYOMETRIC, ("heel_drops", "lunge_raise")),
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
        [(Location.OUTSIDE, "eversion"), (Location.INSIDE, "inversion")],
        ids=["outside_leads_with_eversion", "inside_leads_with_inversion"],
    )
    def test_band_note_names_the_direction_that_leads(
        self, location: Location, expected_word: str
    ) -> None:
        session = _session(location=location, phase=Phase.STRENGTH)
        band = next(item for item in session.items if item.exercise.id == "band")
        assert expected_word in band.note

    def test_heel_drops_come_with_the_floor_level_note(self) -> None:
        session = _session(location=Location.BACK, phase=Phase.STRENGTH)
        drops = next(item for item in session.items if item.exercise.id == "heel_drops")
        assert "floor level" in drops.note

    @pytest.mark.parametrize(
        "location", [loc for loc in Location if loc is not Location.BACK], ids=str
    )
    def test_heel_drops_are_only_for_achilles_pain(self, location: Location) -> None:
        for phase in Phase:
            session = _session(location=location, phase=phase, pain_now=0, gate_open=True)
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
        location=st.sampled_from(Location),
        phase=st.sampled_from(Phase),
        pain_now=st.integers(0, 10),
        outside_sprain_healing=st.booleans(),
    )
    def test_a_closed_gate_never_yields_a_plyometric_item(
        self, location: Location, phase: Phase, pain_now: int, outside_sprain_healing: bool
    ) -> None:
        session = build_session(
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
        location=st.sampled_from(Location),
        phase=st.sampled_from(Phase),
        pain_now=st.integers(0, 10),
        gate_open=st.booleans(),
        outside_sprain_healing=st.booleans(),
    )
    def test_a_session_never_goes_past_its_phase_repeats_or_exceeds_six_items(
        self,
        location: Location,
        phase: Phase,
        pain_now: int,
        gate_open: bool,
        outside_sprain_healing: bool,
    ) -> None:
        session = build_session(
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
        assert session.phase is phase and session.location is location

    @pytest.mark.parametrize("pain", [-1, 11])
    def test_pain_outside_0_to_10_is_rejected(self, pain: int) -> None:
        with pytest.raises(ValueError):
            _session(pain_now=pain)


class TestLibraryCheck:
    def test_the_shipped_library_has_every_exercise_the_builder_names(self) -> None:
        check_library()
        assert {"side_hops", "plate_hops", "switch_lunge", "sl_stance"} == NAMED_EXERCISE_IDS

    def test_a_library_without_one_of_them_is_refused_at_start_up(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        real = sessions.exercise_by_id
        monkeypatch.setattr(
            sessions, "exercise_by_id", lambda i: None if i == "plate_hops" else real(i)
        )
        with pytest.raises(ContentError, match="needs exercise 'plate_hops'"):
            check_library()
