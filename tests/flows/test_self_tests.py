"""Progression on self-tests and the 24-hour rule, played day by day on fake days (flows only).

A runner answers a check-in each morning at 09:00 (exercises done at 2/10, settled by the next
morning, walking normally) and takes `/test` an hour later whenever one is offered, passing it.
The plan may only reach hopping once the heel-raise and stance tests have counted (and, for a
tendon, the walk and the jog too), with one check or step-up a day, each judged on its next
morning.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise

from flows import checks, exercise_plan
from flows.dialog import Command, TypedText, advance
from flows.effects import ChangeEpisode, RecordPlanEvent
from flows.profile import CheckInView, PlanEventView, Profile
from flows.readiness import ReadinessStep
from flows.types import CarePath, Check, Phase
from tests.flows.test_follow_ups import EPISODE, NOW, PROFILE

DAY = timedelta(days=1)
GRADUAL_ACHILLES = {
    "loc": "back",
    "onset": "gradual",
    "start": "w6plus",
    "swell": "none",
    "walk": "normal",
    "pain": "3",
}


def apply(profile: Profile, effects) -> Profile:
    """The profile once the adapter has applied `effects` (plan events and the phase)."""
    episode = profile.episode
    events = profile.plan_events
    for effect in effects:
        if isinstance(effect, RecordPlanEvent):
            events += (PlanEventView(effect.at, effect.kind, dict(effect.data)),)
        elif isinstance(effect, ChangeEpisode) and "phase" in effect.changes:
            episode = replace(episode, phase=effect.changes["phase"])
    return replace(profile, episode=episode, plan_events=events)


def check_in(profile: Profile, at: datetime, *, walking: str = "normal") -> tuple[Profile, list]:
    view = CheckInView(
        at, 2, "better", exercises_done=True, exercise_pain=2, morning_worse=False, walking=walking
    )
    counted = exercise_plan.with_check_in(profile, view)
    replies, effects = exercise_plan.progress_after_check_in(counted, now=at)
    return apply(counted, effects), list(replies)


# What a runner who passes every test types at each question of `/test`.
PASSING = {
    ReadinessStep.MORNING: "settled",
    ReadinessStep.HEEL_SORE: "20",
    ReadinessStep.HEEL_OTHER: "21",
    ReadinessStep.HOPS: "1",
}


def take_test(profile: Profile, at: datetime, answers=PASSING) -> tuple[Profile, list]:
    """/test, answered as far as it leads; returns the profile and the replies."""
    outcome = advance(None, Command("test"), now=at, profile=profile)
    replies = list(outcome.replies)
    state = outcome.state
    effects = list(outcome.effects)
    while state is not None and state.active:
        outcome = advance(state, TypedText(answers.get(state.step, "yes")), now=at, profile=profile)
        state = outcome.state
        replies += outcome.replies
        effects += outcome.effects
    return apply(profile, effects), replies


def play(profile: Profile, days: int, *, tests: bool = True, walking_from: int = 1):
    """Each day: the check-in at 09:00, then /test at 10:00. Returns the phase day by day, the
    profile at the end and every reply by day."""
    phases: dict[int, int] = {}
    said: dict[int, list] = {}
    for n in range(1, days + 1):
        at = NOW + n * DAY
        walking = "normal" if n >= walking_from else "painful"
        profile, replies = check_in(profile, at, walking=walking)
        if tests:
            profile, more = take_test(profile, at + timedelta(hours=1))
            replies += more
        phases[n] = profile.episode.phase
        said[n] = replies
    return phases, profile, said


def counted(check: Check, at: datetime) -> tuple[PlanEventView, PlanEventView]:
    """A check passed at `at`, and its next morning settled."""
    return (
        PlanEventView(at, "readiness", {"check": str(check), "passed": True}),
        PlanEventView(
            at + timedelta(hours=20), "readiness", {"check": str(check), "morning_worse": False}
        ),
    )


def first_day_at(phases: dict[int, int], phase: Phase) -> int | None:
    return next((n for n, p in sorted(phases.items()) if p >= phase), None)


def test_a_sprain_reaches_hopping_only_after_its_tests_and_one_step_a_day() -> None:
    """Walking normally from day 2 (the injury is 1-2 days old at the assessment). Day 2:
    two good days step up to strength. Day 3 (24 h later) the heel-raise test, confirmed by
    day 4's check-in; the step to balance waits 24 h after the test: day 5. Day 6 the stance
    test, confirmed on day 7, when the hop test is taken, confirmed on day 8; hopping at day 9's
    check-in, not day 6 as on pain alone."""
    phases, profile, said = play(PROFILE, 12, walking_from=2)
    assert first_day_at(phases, Phase.STRENGTH) == 2
    assert first_day_at(phases, Phase.BALANCE) == 5
    assert first_day_at(phases, Phase.PLYOMETRIC) == 9
    # Each step is announced with its reason; each day a step was due but held says why.
    for n in (2, 5, 9):
        (step,) = [r for r in said[n] if r.template == "plan/phase_changed.j2"]
        assert step.context["reason"] == "two_safe_days"
    held = [r for r in said[7] if r.template == "plan/phase_held.j2"]
    assert [h.code for h in held[0].context["holds"]] == [
        checks.HoldCode.TOO_SOON,
        checks.HoldCode.CHECK,
    ]
    held = [r for r in said[8] if r.template == "plan/phase_held.j2"]
    assert [h.code for h in held[0].context["holds"]] == [checks.HoldCode.TOO_SOON]
    done = checks.passed_checks(profile)
    assert {Check.HEEL_RAISES, Check.STANCE, Check.HOPS} <= done
    # No check or step-up within 24 h of another.
    times = sorted(
        [a.at for a in checks.attempts(profile)]
        + [e.at for e in profile.plan_events if e.kind == "phase"]
    )
    assert all(b - a >= checks.CHECK_SPACING for a, b in pairwise(times))


def test_on_pain_alone_the_same_sprain_never_reaches_balance_without_the_heel_test() -> None:
    """Without any test taken, two good days no longer carry the plan past strength, and the
    hold says why and offers the test."""
    phases, _, said = play(PROFILE, 10, tests=False, walking_from=2)
    assert max(phases.values()) == Phase.STRENGTH
    held = [r for r in said[10] if r.template == "plan/phase_held.j2"]
    assert held and held[0].context["to"] == Phase.BALANCE
    assert [h.code for h in held[0].context["holds"]] == [checks.HoldCode.HEEL_UNTRIED]
    assert held[0].buttons[0][0].value == "test"


def test_tapping_every_check_at_once_counts_only_one_a_day() -> None:
    profile = replace(PROFILE, episode=replace(EPISODE, phase=Phase.BALANCE))
    at = NOW + 5 * DAY
    for minutes in range(5):
        profile, replies = take_test(profile, at + timedelta(minutes=minutes))
    assert len(checks.attempts(profile)) == 1
    assert replies[-1].template == "plan/check_wait.j2"
    codes = [h.code for h in replies[-1].context["holds"]]
    assert codes == [checks.HoldCode.MORNING, checks.HoldCode.TOO_SOON]
    # Later the same day: still one; the next day it first asks about this morning.
    profile, replies = take_test(profile, at + timedelta(hours=12))
    assert len(checks.attempts(profile)) == 1
    outcome = advance(None, Command("test"), now=at + DAY, profile=profile)
    assert outcome.state.step == ReadinessStep.MORNING


def test_a_worse_morning_cancels_the_test_and_steps_the_plan_back() -> None:
    """R9: a test that brings a morning flare counts as a step back."""
    profile = replace(PROFILE, episode=replace(EPISODE, phase=Phase.STRENGTH))
    profile, _ = take_test(profile, NOW + 3 * DAY)
    (attempt,) = checks.attempts(profile)
    assert attempt.check is Check.HEEL_RAISES and attempt.passed
    profile, replies = take_test(profile, NOW + 4 * DAY, {ReadinessStep.MORNING: "worse"})
    (attempt,) = checks.attempts(profile)
    assert attempt.morning_worse is True and not attempt.counts
    (result,) = [r for r in replies if r.template == "plan/check_result.j2"]
    assert result.context["morning"] == {"check": "heel", "worse": True}
    assert Check.HEEL_RAISES not in checks.passed_checks(profile)
    assert replies[-1].template == "plan/phase_changed.j2"
    assert (replies[-1].context["to"], replies[-1].context["reason"]) == (1, "morning_worse")
    assert profile.episode.phase == Phase.MOBILITY


def test_heel_raises_below_90_percent_hold_hopping_with_the_numbers() -> None:
    profile = replace(PROFILE, episode=replace(EPISODE, phase=Phase.BALANCE))
    weak = {**PASSING, ReadinessStep.HEEL_SORE: "17", ReadinessStep.HEEL_OTHER: "20"}
    profile, replies = take_test(profile, NOW + 5 * DAY, weak)
    assert replies[-1].context["percent"] == 85 and not replies[-1].context["passed"]
    outcome = advance(None, Command("hop"), now=NOW + 7 * DAY, profile=profile)
    reply = outcome.replies[0]
    assert reply.template == "plan/can_hop.j2" and reply.context["open"] is False
    below = [h for h in reply.context["holds"] if h.code is checks.HoldCode.HEEL_BELOW]
    assert below[0].context == {"sore": 17, "other": 20, "percent": 85, "lsi": 90}


def test_a_tendon_runner_hops_only_after_6_weeks_and_strength_walk_and_jog() -> None:
    tendon = replace(
        PROFILE,
        episode=replace(EPISODE, care_path=CarePath.ACHILLES_MID, answers=GRADUAL_ACHILLES),
        soreness=((NOW, 3),),
    )
    phases, profile, _ = play(tendon, 50)
    reached = first_day_at(phases, Phase.PLYOMETRIC)
    # Hops come late for a tendon: not before 6 weeks of loading (and never before the tests).
    assert reached is not None and reached >= checks.LOADING_BEFORE_HOPS.days
    assert phases[reached - 1] == Phase.BALANCE
    hop_ready = set(checks.hop_checks(CarePath.ACHILLES_MID))
    assert hop_ready == {Check.HEEL_RAISES, Check.STANCE, Check.HOPS, Check.WALK, Check.JOG}
    # Every one of those checks had counted before the step into hopping.
    (step,) = [e for e in profile.plan_events if e.kind == "phase" and e.data["to"] == 4]
    confirmed = [a for a in checks.attempts(profile) if a.check in hop_ready and a.counts]
    assert {a.check for a in confirmed if a.at < step.at} == hop_ready
    assert first_day_at(phases, Phase.BALANCE) < reached


def test_a_tendon_runner_may_keep_running_within_the_pain_model() -> None:
    tendon = replace(
        PROFILE,
        episode=replace(EPISODE, care_path=CarePath.ACHILLES_MID, answers=GRADUAL_ACHILLES),
    )
    answer = advance(None, Command("whenrun"), now=NOW + DAY, profile=tendon).replies[0]
    assert answer.context["tendon"] is True and answer.context["limit"] == 5
    run = advance(None, Command("run"), now=NOW + DAY, profile=tendon)
    assert run.replies[0].template == "plan/run_intro.j2" and run.replies[0].context["limit"] == 5


def test_a_bone_runner_runs_only_at_0_of_10_once_every_check_counts() -> None:
    bone = replace(
        PROFILE,
        episode=replace(
            EPISODE,
            care_path=CarePath.BONE_STRESS,
            phase=Phase.PLYOMETRIC,
            answers={**GRADUAL_ACHILLES, "loc": "outside"},
        ),
        soreness=((NOW, 0),),
    )
    held = advance(None, Command("run"), now=NOW + 3 * DAY, profile=bone).replies[0]
    assert held.template == "plan/when_run.j2" and held.context["limit"] == 0
    assert held.context["open"] is False
    passed = tuple(
        event
        for i, c in enumerate(checks.run_checks(CarePath.BONE_STRESS))
        for event in counted(c, NOW + i * DAY)
    )
    # Every check passed, but running on a possible bone stress injury waits for a clinician.
    unchecked = replace(bone, plan_events=passed)
    held = advance(None, Command("run"), now=NOW + 20 * DAY, profile=unchecked).replies[0]
    assert [h.code for h in held.context["holds"]] == [checks.HoldCode.CLINICIAN]
    cleared = PlanEventView(NOW + 19 * DAY, "cleared", {"from": "HOME_CARE"})
    ready = replace(bone, plan_events=(*passed, cleared))
    at = NOW + 20 * DAY
    run = advance(None, Command("run"), now=at, profile=ready)
    assert run.replies[0].template == "plan/run_intro.j2"
    state = run.state
    for typed in ("1", "settled", "no"):
        run = advance(state, TypedText(typed), now=at, profile=ready)
        state = run.state
    assert (run.replies[0].context["decision"], run.replies[0].context["reason"]) == (
        "back",
        "bone_pain",
    )


def test_the_hop_test_counts_at_2_of_10_but_not_3() -> None:
    plyo = replace(
        PROFILE,
        episode=replace(EPISODE, phase=Phase.PLYOMETRIC, answers=GRADUAL_ACHILLES),
        soreness=((NOW, 2),),
    )
    earlier = (Check.HEEL_RAISES, Check.WALK, Check.STANCE, Check.JOG, Check.SQUATS)
    done = tuple(event for i, c in enumerate(earlier) for event in counted(c, NOW + i * DAY))
    profile = replace(plyo, plan_events=done)
    assert checks.next_check(profile) is Check.HOPS
    # Not while the gate is closed: no hop test on an ankle that still limps.
    assert checks.next_check(profile, impact_ok=False) is Check.STANCE_EYES_CLOSED
    limping = replace(profile, episode=replace(profile.episode, answers=EPISODE.answers))
    assert not exercise_plan.gate_open(limping, now=NOW + 9 * DAY)
    offered = advance(None, Command("test"), now=NOW + 9 * DAY, profile=limping)
    assert offered.state.step is not ReadinessStep.HOPS
    for pain, passed in (("2", True), ("3", False)):
        after, _ = take_test(profile, NOW + 9 * DAY, {ReadinessStep.HOPS: pain})
        (attempt,) = [a for a in checks.attempts(after) if a.check is Check.HOPS]
        assert attempt.passed is passed and attempt.pain == int(pain)


def test_plan_offers_the_hop_and_run_questions_as_buttons() -> None:
    outcome = advance(None, Command("plan"), now=NOW + DAY, profile=PROFILE)
    questions = outcome.replies[-1]
    assert questions.template == "plan/questions.j2"
    first_row = questions.buttons[0]
    assert [(b.label, b.value) for b in first_row] == [
        ("Can I hop?", "hop"),
        ("When can I run?", "whenrun"),
    ]
    from flows.events import event_for_button

    for button in first_row:
        event = event_for_button(button, 0)
        reply = advance(None, event, now=NOW + DAY, profile=PROFILE).replies[0]
        assert reply.template in ("plan/can_hop.j2", "plan/when_run.j2")
        assert reply.context["open"] is False and reply.context["holds"]


def test_todays_session_says_why_hops_wait_when_the_gate_is_open() -> None:
    """Issue 9: whenever hopping is held back the runner is told why and what will open it;
    with the gate open, at phase 3 the heel-raise test is what is missing."""
    balance = replace(
        PROFILE,
        episode=replace(EPISODE, phase=Phase.BALANCE, answers=GRADUAL_ACHILLES),
        soreness=((NOW, 1),),
    )
    assert exercise_plan.gate_open(balance, now=NOW + 5 * DAY)
    reply = exercise_plan.todays_session(balance, now=NOW + 5 * DAY)
    (hold,) = reply.context["hop_holds"]
    assert hold.code is checks.HoldCode.HEEL_UNTRIED


def test_a_bone_plan_stops_at_strength_and_its_tests_wait_for_a_clinician() -> None:
    bone = replace(
        PROFILE,
        episode=replace(
            EPISODE, care_path=CarePath.BONE_STRESS, answers={**GRADUAL_ACHILLES, "loc": "front"}
        ),
        soreness=((NOW, 1),),
    )
    phases, profile, _ = play(bone, 12)
    assert max(phases.values()) == checks.top_phase(CarePath.BONE_STRESS) == Phase.STRENGTH
    assert checks.attempts(profile) == []  # no one-leg test before a clinician's check
    hop = advance(None, Command("hop"), now=NOW + 13 * DAY, profile=profile).replies[0]
    assert [h.code for h in hop.context["holds"]] == [checks.HoldCode.BONE]
    cleared = replace(
        profile,
        plan_events=(*profile.plan_events, PlanEventView(NOW, "cleared", {"from": "HOME_CARE"})),
    )
    assert checks.next_check(cleared) is Check.HEEL_RAISES
