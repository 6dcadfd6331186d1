"""Tests for flows/progression.py: the pain-monitoring model and the walk-run progression."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.checks import BONE_RUN_PAIN_MAX, RUN_PAIN_MAX, TENDON_RUN_PAIN_MAX
from flows.progression import (
    WALK_RUN_STEPS,
    DayResponse,
    Move,
    Reason,
    RunDay,
    WalkRunStep,
    Zone,
    decide_progression,
    decide_run_step,
    is_resolved,
    weekly_increase,
    zone_for,
)
from flows.types import Phase

FIRST_DAY = date(2026, 3, 2)


def day(
    n: int,
    pain_during: int | None,
    *,
    morning_worse: bool | None = False,
    morning_pain: int | None = None,
    done: bool = True,
) -> DayResponse:
    """The response for day `n` of the plan (day 0 is FIRST_DAY)."""
    return DayResponse(
        day=FIRST_DAY + timedelta(days=n),
        pain_during=pain_during,
        morning_pain=morning_pain,
        morning_worse=morning_worse,
        done=done,
    )


class TestZones:
    @pytest.mark.parametrize(
        ("pain", "zone"),
        [
            (0, Zone.SAFE),
            (3, Zone.SAFE),
            (4, Zone.ACCEPTABLE),
            (5, Zone.ACCEPTABLE),
            (6, Zone.TOO_MUCH),
            (10, Zone.TOO_MUCH),
        ],
        ids=["0_safe", "3_safe", "4_acceptable", "5_acceptable", "6_too_much", "10_too_much"],
    )
    def test_zone_edges(self, pain: int, zone: Zone) -> None:
        assert zone_for(pain) is zone

    @pytest.mark.parametrize("pain", [-1, 11])
    def test_pain_outside_0_to_10_is_rejected(self, pain: int) -> None:
        with pytest.raises(ValueError):
            zone_for(pain)


PROGRESSION_CASES = [
    # Step back
    pytest.param(
        Phase.BALANCE,
        [day(0, 6)],
        True,
        Move.BACK,
        Reason.PAIN_ABOVE_5,
        Phase.STRENGTH,
        id="pain_6_during_steps_back",
    ),
    pytest.param(
        Phase.BALANCE,
        [day(0, 1), day(1, 1), day(2, 7)],
        True,
        Move.BACK,
        Reason.PAIN_ABOVE_5,
        Phase.STRENGTH,
        id="pain_above_5_after_safe_days_still_steps_back",
    ),
    pytest.param(
        Phase.STRENGTH,
        [day(0, 2, morning_worse=True)],
        True,
        Move.BACK,
        Reason.MORNING_WORSE,
        Phase.MOBILITY,
        id="worse_next_morning_steps_back",
    ),
    pytest.param(
        Phase.STRENGTH,
        [day(0, 2, morning_worse=None, morning_pain=6)],
        True,
        Move.BACK,
        Reason.MORNING_PAIN_ABOVE_5,
        Phase.MOBILITY,
        id="next_morning_above_5_steps_back",
    ),
    pytest.param(
        Phase.STRENGTH,
        [
            day(0, 2, morning_worse=None, morning_pain=1),
            day(1, 2, morning_worse=None, morning_pain=3),
        ],
        True,
        Move.BACK,
        Reason.MORNING_WORSE,
        Phase.MOBILITY,
        id="morning_pain_higher_than_the_morning_before_counts_as_worse",
    ),
    pytest.param(
        Phase.MOBILITY,
        [day(0, 8)],
        False,
        Move.BACK,
        Reason.PAIN_ABOVE_5,
        Phase.MOBILITY,
        id="step_back_never_goes_below_mobility",
    ),
    pytest.param(
        Phase.PLYOMETRIC,
        [day(0, 1), day(1, 1)],
        False,
        Move.BACK,
        Reason.GATE_CLOSED,
        Phase.BALANCE,
        id="closed_gate_drops_a_plyometric_plan_to_balance",
    ),
    # Precedence
    pytest.param(
        Phase.BALANCE,
        [day(0, 7, morning_worse=True)],
        True,
        Move.BACK,
        Reason.PAIN_ABOVE_5,
        Phase.STRENGTH,
        id="pain_above_5_is_named_before_a_worse_morning",
    ),
    pytest.param(
        Phase.BALANCE,
        [day(0, 4, morning_worse=True)],
        True,
        Move.BACK,
        Reason.MORNING_WORSE,
        Phase.STRENGTH,
        id="back_wins_over_hold_acceptable_pain_with_a_worse_morning",
    ),
    pytest.param(
        Phase.BALANCE,
        [day(0, 1), day(1, 1), day(2, 4)],
        True,
        Move.HOLD,
        Reason.ACCEPTABLE_ZONE,
        Phase.BALANCE,
        id="hold_wins_over_forward_acceptable_day_after_safe_days",
    ),
    # Hold
    pytest.param(
        Phase.STRENGTH,
        [day(0, 4)],
        True,
        Move.HOLD,
        Reason.ACCEPTABLE_ZONE,
        Phase.STRENGTH,
        id="pain_4_settled_by_morning_holds",
    ),
    pytest.param(
        Phase.STRENGTH,
        [day(0, 5)],
        True,
        Move.HOLD,
        Reason.ACCEPTABLE_ZONE,
        Phase.STRENGTH,
        id="pain_5_settled_by_morning_holds",
    ),
    pytest.param(
        Phase.STRENGTH,
        [],
        True,
        Move.HOLD,
        Reason.NOT_ENOUGH_DATA,
        Phase.STRENGTH,
        id="no_responses_hold",
    ),
    pytest.param(
        Phase.STRENGTH,
        [day(0, 1)],
        True,
        Move.HOLD,
        Reason.NOT_ENOUGH_DATA,
        Phase.STRENGTH,
        id="one_safe_day_is_not_enough",
    ),
    pytest.param(
        Phase.STRENGTH,
        [day(0, 1), day(1, 1, morning_worse=None)],
        True,
        Move.HOLD,
        Reason.NOT_ENOUGH_DATA,
        Phase.STRENGTH,
        id="safe_days_with_an_unknown_morning_hold",
    ),
    pytest.param(
        Phase.STRENGTH,
        [day(0, 1), day(1, None, morning_worse=None, done=False)],
        True,
        Move.HOLD,
        Reason.NOT_DONE,
        Phase.STRENGTH,
        id="a_skipped_session_holds",
    ),
    pytest.param(
        Phase.STRENGTH,
        [day(0, 1), day(1, 1), day(1, 6)],
        True,
        Move.BACK,
        Reason.PAIN_ABOVE_5,
        Phase.MOBILITY,
        id="duplicate_day_last_report_wins",
    ),
    pytest.param(
        Phase.BALANCE,
        [day(0, 1), day(1, 2)],
        False,
        Move.HOLD,
        Reason.GATE_CLOSED,
        Phase.BALANCE,
        id="two_safe_days_hold_at_balance_while_the_gate_is_closed",
    ),
    pytest.param(
        Phase.PLYOMETRIC,
        [day(0, 1), day(1, 2)],
        True,
        Move.HOLD,
        Reason.TOP_PHASE,
        Phase.PLYOMETRIC,
        id="two_safe_days_in_the_top_phase_hold",
    ),
    # Forward
    pytest.param(
        Phase.MOBILITY,
        [day(0, 3), day(1, 0)],
        False,
        Move.FORWARD,
        Reason.TWO_SAFE_DAYS,
        Phase.STRENGTH,
        id="two_safe_days_step_forward",
    ),
    pytest.param(
        Phase.BALANCE,
        [day(0, 1), day(1, 2)],
        True,
        Move.FORWARD,
        Reason.TWO_SAFE_DAYS,
        Phase.PLYOMETRIC,
        id="two_safe_days_reach_plyometric_with_the_gate_open",
    ),
    pytest.param(
        Phase.STRENGTH,
        [day(0, 7), day(1, 4), day(2, 2), day(3, 1)],
        True,
        Move.FORWARD,
        Reason.TWO_SAFE_DAYS,
        Phase.BALANCE,
        id="only_the_most_recent_days_count",
    ),
    pytest.param(
        Phase.STRENGTH,
        [day(3, 1), day(2, 2)],
        True,
        Move.FORWARD,
        Reason.TWO_SAFE_DAYS,
        Phase.BALANCE,
        id="responses_are_read_in_day_order",
    ),
]


class TestDecideProgression:
    @pytest.mark.parametrize(
        ("phase", "responses", "gate_open", "step", "reason", "to_phase"), PROGRESSION_CASES
    )
    def test_decision(
        self,
        phase: Phase,
        responses: list[DayResponse],
        gate_open: bool,
        step: Move,
        reason: Reason,
        to_phase: Phase,
    ) -> None:
        decision = decide_progression(phase=phase, responses=responses, gate_open=gate_open)
        assert (decision.step, decision.reason, decision.from_phase, decision.to_phase) == (
            step,
            reason,
            phase,
            to_phase,
        )

    def test_reason_codes_are_plain_strings(self) -> None:
        decision = decide_progression(phase=Phase.STRENGTH, responses=[day(0, 6)], gate_open=True)
        assert decision.reason == "pain_above_5"

    @given(
        phase=st.sampled_from(Phase),
        responses=st.lists(
            st.builds(
                DayResponse,
                day=st.dates(min_value=FIRST_DAY, max_value=FIRST_DAY + timedelta(days=30)),
                pain_during=st.none() | st.integers(0, 10),
                morning_pain=st.none() | st.integers(0, 10),
                morning_worse=st.none() | st.booleans(),
                done=st.booleans(),
            ),
            max_size=6,
        ),
    )
    def test_a_closed_gate_never_leads_to_the_plyometric_phase(
        self, phase: Phase, responses: list[DayResponse]
    ) -> None:
        decision = decide_progression(phase=phase, responses=responses, gate_open=False)
        assert decision.to_phase is not Phase.PLYOMETRIC
        assert Phase.MOBILITY <= decision.to_phase <= Phase.BALANCE
        if decision.step is Move.FORWARD:
            assert decision.to_phase == decision.from_phase + 1
        if decision.step is Move.HOLD:
            assert decision.to_phase is decision.from_phase


class TestResolved:
    @pytest.mark.parametrize(
        ("soreness", "resolved"),
        [
            ([1, 0, 1], True),
            ([5, 3, 1, 1, 0], True),
            ([0, 1], False),
            ([], False),
            ([1, 2, 1], False),
            ([0, 0, 0, 2], False),
            ([1, 1, 2, 1, 1], False),
        ],
        ids=[
            "three_reports_of_0_1_resolve",
            "the_last_three_count",
            "two_reports_are_not_enough",
            "no_reports",
            "a_2_in_the_middle_breaks_the_run",
            "a_later_2_undoes_it",
            "the_run_must_be_the_latest_three",
        ],
    )
    def test_resolved_after_three_reports_of_0_or_1_in_a_row(
        self, soreness: list[int], resolved: bool
    ) -> None:
        assert is_resolved(soreness) is resolved


def run(step_index: int, pain: int, *, worse: bool = False, swollen: bool = False) -> RunDay:
    return RunDay(
        step_index=step_index,
        pain_during=pain,
        morning_worse=worse,
        more_swelling_or_stiffness=swollen,
    )


RUN_CASES = [
    pytest.param([], 0, Move.HOLD, Reason.FIRST_RUN, id="no_runs_start_at_the_first_step"),
    pytest.param(
        [run(0, 1)], 0, Move.HOLD, Reason.REPEAT_STEP, id="one_clean_run_repeats_the_step"
    ),
    pytest.param(
        [run(0, 1), run(0, 2)], 1, Move.FORWARD, Reason.STEP_DONE, id="two_clean_runs_move_on"
    ),
    pytest.param(
        [run(1, 0), run(1, 0)],
        2,
        Move.FORWARD,
        Reason.STEP_DONE,
        id="two_clean_runs_move_on_from_a_later_step",
    ),
    pytest.param(
        [run(0, 1), run(0, 1), run(1, 1)],
        1,
        Move.HOLD,
        Reason.REPEAT_STEP,
        id="a_new_step_needs_its_own_two_runs",
    ),
    pytest.param(
        [run(0, 4), run(0, 1)],
        0,
        Move.HOLD,
        Reason.REPEAT_STEP,
        id="a_run_at_3_5_does_not_count_towards_the_two",
    ),
    pytest.param([run(0, 1), run(0, 3)], 0, Move.HOLD, Reason.PAIN_3_TO_5, id="pain_3_holds"),
    pytest.param([run(1, 5)], 1, Move.HOLD, Reason.PAIN_3_TO_5, id="pain_5_holds"),
    pytest.param(
        [run(0, 1), run(0, 1, swollen=True)],
        0,
        Move.HOLD,
        Reason.MORE_SWELLING_OR_STIFFNESS,
        id="more_swelling_or_stiffness_holds",
    ),
    pytest.param(
        [run(2, 1), run(2, 6)], 1, Move.BACK, Reason.PAIN_ABOVE_5, id="pain_above_5_steps_back"
    ),
    pytest.param(
        [run(2, 1), run(2, 1, worse=True)],
        1,
        Move.BACK,
        Reason.MORNING_WORSE,
        id="worse_morning_steps_back",
    ),
    pytest.param(
        [run(2, 6, worse=True, swollen=True)],
        1,
        Move.BACK,
        Reason.PAIN_ABOVE_5,
        id="back_wins_over_hold",
    ),
    pytest.param(
        [run(0, 7)], 0, Move.BACK, Reason.PAIN_ABOVE_5, id="back_never_goes_below_the_first_step"
    ),
    pytest.param(
        [run(4, 1), run(4, 0)],
        4,
        Move.FORWARD,
        Reason.WALK_RUN_COMPLETE,
        id="two_clean_continuous_runs_complete_it",
    ),
]


class TestWalkRun:
    def test_the_five_reference_steps(self) -> None:
        reference_steps = (
            WalkRunStep(repeats=5, walk_minutes=4, jog_minutes=2),
            WalkRunStep(repeats=5, walk_minutes=3, jog_minutes=3),
            WalkRunStep(repeats=5, walk_minutes=2, jog_minutes=4),
            WalkRunStep(repeats=5, walk_minutes=1, jog_minutes=5),
            WalkRunStep(repeats=1, walk_minutes=0, jog_minutes=30),
        )
        assert reference_steps == WALK_RUN_STEPS
        assert WALK_RUN_STEPS[-1].continuous and WALK_RUN_STEPS[-1].total_minutes == 30
        assert not any(step.continuous for step in WALK_RUN_STEPS[:-1])

    @pytest.mark.parametrize(("history", "step_index", "step", "reason"), RUN_CASES)
    def test_next_run_step(
        self, history: list[RunDay], step_index: int, step: Move, reason: Reason
    ) -> None:
        decision = decide_run_step(history, pain_max=RUN_PAIN_MAX)
        assert (decision.step_index, decision.step, decision.reason) == (step_index, step, reason)

    @pytest.mark.parametrize("bad_index", [-1, len(WALK_RUN_STEPS)])
    def test_unknown_step_is_rejected(self, bad_index: int) -> None:
        with pytest.raises(ValueError):
            decide_run_step([run(bad_index, 1)], pain_max=RUN_PAIN_MAX)

    @pytest.mark.parametrize(
        ("previous", "expected"),
        [(30, 33), (33, 36), (46, 50), (100, 110), (5, 6)],
        ids=["30_to_33", "33_to_36", "rounds_down_46_to_50", "100_to_110", "small_totals_add_1"],
    )
    def test_weekly_increase_is_about_10_percent(self, previous: int, expected: int) -> None:
        assert weekly_increase(previous) == expected

    def test_weekly_increase_needs_a_positive_total(self) -> None:
        with pytest.raises(ValueError):
            weekly_increase(0)


class TestRunCeilingByPath:
    """R8: the walk-run ceiling is 2/10 generally, 0/10 at a stressed bone, 5/10 for a tendon."""

    def test_any_pain_at_a_stressed_bone_steps_back(self) -> None:
        decision = decide_run_step([run(0, 0), run(0, 0), run(1, 1)], pain_max=BONE_RUN_PAIN_MAX)
        assert (decision.step, decision.reason, decision.step_index) == (
            Move.BACK,
            Reason.BONE_PAIN,
            0,
        )

    def test_a_bone_moves_on_only_after_two_pain_free_runs(self) -> None:
        assert decide_run_step([run(0, 0), run(0, 0)], pain_max=BONE_RUN_PAIN_MAX).step_index == 1

    def test_a_tendon_runs_on_at_4_of_10_and_steps_back_above_5(self) -> None:
        forward = decide_run_step([run(0, 4), run(0, 4)], pain_max=TENDON_RUN_PAIN_MAX)
        assert (forward.step, forward.step_index) == (Move.FORWARD, 1)
        back = decide_run_step([run(0, 4), run(1, 6)], pain_max=TENDON_RUN_PAIN_MAX)
        assert (back.step, back.reason) == (Move.BACK, Reason.PAIN_ABOVE_5)

    def test_a_sprain_holds_at_4_of_10(self) -> None:
        hold = decide_run_step([run(0, 1), run(0, 4)], pain_max=RUN_PAIN_MAX)
        assert (hold.step, hold.reason) == (Move.HOLD, Reason.PAIN_3_TO_5)
