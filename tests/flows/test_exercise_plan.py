"""The plan after home care: the gate re-checked on what is known today, progression announced
at check-ins, the readiness checks and the walk-run days (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from flows import exercise_plan
from flows.dialog import Command, ShowExercise, TypedText, advance
from flows.effects import ChangeEpisode, RecordPlanEvent
from flows.profile import CheckInView, PlanEventView
from flows.types import Started, WeightBearing
from tests.flows.test_follow_ups import EPISODE, NOW, PROFILE


def day(n: float):
    return NOW + timedelta(days=n)


def profile_at(*, walking: str | None = None, soreness: int = 2, phase: int = 1, check_ins=()):
    views = tuple(check_ins) or (
        (CheckInView(day(2), soreness, "better", walking=walking),) if walking else ()
    )
    return replace(
        PROFILE,
        soreness=((day(3), soreness),),
        episode=replace(EPISODE, phase=phase, check_ins=views),
    )


def test_the_gate_stays_closed_while_walking_hurts_and_the_injury_is_fresh() -> None:
    assert set(exercise_plan.gate_blockers(profile_at(), now=day(1))) >= {
        "walking",
        "recent_injury",
    }


def test_the_gate_opens_once_walking_is_normal_72_hours_later_and_pain_is_low() -> None:
    profile = profile_at(walking=WeightBearing.NORMAL)
    assert exercise_plan.gate_blockers(profile, now=day(2)) == ("recent_injury",)
    assert exercise_plan.gate_blockers(profile, now=day(3)) == ()
    answers = exercise_plan.current_answers(profile, now=day(3))
    assert answers.started is Started.DAYS_3_4 and answers.pain == 2


def test_pain_5_closes_the_gate_again() -> None:
    assert exercise_plan.gate_blockers(profile_at(walking="normal", soreness=5), now=day(4)) == (
        "pain",
    )


def today(pain: int, *, at=None, morning_worse: bool = False) -> CheckInView:
    """Today's check-in: exercises done with `pain`, the morning after as given."""
    return CheckInView(
        at or day(2),
        2,
        "better",
        exercises_done=True,
        exercise_pain=pain,
        morning_worse=morning_worse,
    )


def test_two_safe_days_step_the_plan_forward_with_the_reason() -> None:
    yesterday = CheckInView(
        day(1), 3, "better", exercises_done=True, exercise_pain=2, morning_worse=False
    )
    counted = exercise_plan.with_check_in(profile_at(check_ins=(yesterday,)), today(2))
    replies, effects = exercise_plan.progress_after_check_in(counted, now=day(2))
    assert replies[0].template == "plan/phase_changed.j2"
    assert replies[0].context == {"from": 1, "to": 2, "reason": "two_safe_days"}
    assert ChangeEpisode({"phase": 2}) in effects
    assert any(isinstance(e, RecordPlanEvent) and e.kind == "phase" for e in effects)


def test_pain_above_5_during_exercise_steps_the_plan_back() -> None:
    counted = exercise_plan.with_check_in(profile_at(phase=3), today(7, at=day(4)))
    replies, effects = exercise_plan.progress_after_check_in(counted, now=day(4))
    assert replies[0].context == {"from": 3, "to": 2, "reason": "pain_above_5"}
    assert ChangeEpisode({"phase": 2}) in effects


def test_the_acceptable_zone_holds_the_plan_without_a_message() -> None:
    counted = exercise_plan.with_check_in(profile_at(phase=2), today(4, at=day(4)))
    assert exercise_plan.progress_after_check_in(counted, now=day(4)) == ((), ())


def test_good_days_of_an_earlier_phase_do_not_carry_the_plan_on() -> None:
    """After stepping forward, two more good days are needed in the new phase."""
    yesterday = CheckInView(
        day(1), 3, "better", exercises_done=True, exercise_pain=2, morning_worse=False
    )
    stepped = replace(
        profile_at(phase=2, check_ins=(yesterday,)),
        plan_events=(PlanEventView(day(1.5), "phase", {"from": 1, "to": 2}),),
    )
    counted = exercise_plan.with_check_in(stepped, today(2))
    assert exercise_plan.progress_after_check_in(counted, now=day(2)) == ((), ())


def test_the_gate_is_judged_on_the_walking_reported_at_this_check_in() -> None:
    walked = CheckInView(
        day(3),
        2,
        "better",
        exercises_done=True,
        exercise_pain=2,
        morning_worse=False,
        walking="normal",
    )
    limping = replace(today(2, at=day(4)), walking="painful")
    counted = exercise_plan.with_check_in(profile_at(phase=3, check_ins=(walked,)), limping)
    assert "walking" in exercise_plan.gate_blockers(counted, now=day(4))
    (held,), effects = exercise_plan.progress_after_check_in(counted, now=day(4))
    assert effects == ()
    assert held.template == "plan/phase_held.j2" and held.context["to"] == 4
    (gate,) = [h for h in held.context["holds"] if h.code == "gate"]
    assert gate.context["blockers"] == ("walking",)


def test_run_waits_for_the_self_tests_and_says_what_is_missing() -> None:
    early = advance(None, Command("run"), now=day(5), profile=profile_at(phase=2))
    reply = early.replies[0]
    assert reply.template == "plan/when_run.j2" and reply.context["open"] is False
    codes = [h.code for h in reply.context["holds"]]
    assert codes[:2] == ["gate", "phase"] and "heel_untried" in codes


def run_profile(*runs: tuple[int, int]) -> object:
    # The five checks passed at once before 2026.12 still count.
    events = [PlanEventView(day(8), "readiness", {"ready": True})]
    events += [
        PlanEventView(
            day(9 + i),
            "run",
            {"step": step, "pain": pain, "morning_worse": False, "swelling": False},
        )
        for i, (step, pain) in enumerate(runs)
    ]
    return replace(profile_at(walking="normal", soreness=1, phase=4), plan_events=tuple(events))


def log_run(profile, pain: str, morning: str = "settled", swelling: str = "no"):
    outcome = advance(None, Command("run"), now=day(20), profile=profile)
    state = outcome.state
    for answer in (pain, morning, swelling):
        outcome = advance(state, TypedText(answer), now=day(20), profile=profile)
        state = outcome.state
    return outcome


def test_each_walk_run_step_is_done_twice_before_the_next() -> None:
    first = log_run(run_profile(), "1")
    assert first.replies[0].context["number"] == 1  # one clean run is not yet two
    second = log_run(run_profile((0, 1)), "1")
    assert second.replies[0].context["number"] == 2
    assert second.effects[0].data["next"] == 1


def test_pain_above_5_on_a_run_steps_back_and_3_to_5_holds() -> None:
    back = log_run(run_profile((0, 1), (0, 1), (1, 1)), "7")
    assert (back.replies[0].context["decision"], back.replies[0].context["number"]) == ("back", 1)
    hold = log_run(run_profile((0, 1), (0, 1), (1, 1)), "4")
    assert (hold.replies[0].context["decision"], hold.replies[0].context["number"]) == ("hold", 2)


def test_plan_lists_todays_exercises_with_how_to_buttons() -> None:
    outcome = advance(None, Command("plan"), now=day(1), profile=PROFILE)
    buttons = [b for row in outcome.replies[0].buttons for b in row]
    session = outcome.replies[0].context["session"]
    # One numbered how-to button per exercise, in the order the session lists them.
    assert [b.text(lambda s: s) for b in buttons] == [
        f"How to do {n}" for n in range(1, len(session.items) + 1)
    ]
    assert [b.value for b in buttons] == [item.exercise.id for item in session.items]
    howto = advance(
        None, ShowExercise(outcome.replies[0].buttons[0][0].value), now=day(1), profile=PROFILE
    )
    assert howto.replies[0].template == "plan/exercise.j2"
