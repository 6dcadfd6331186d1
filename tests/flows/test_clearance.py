"""A clinician cleared the runner: the episode becomes home care on its care path (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from flows.dialog import advance
from flows.effects import CancelMessages, ChangeEpisode, RecordPlanEvent, ScheduleMessage
from flows.events import AnswerSeenCheck, Command, event_for_button
from flows.exercise_library import exercise_by_id
from flows.profile import EpisodeView, PlanEventView, Profile
from flows.types import CarePath, Disposition, EpisodeStatus, Phase, PlanEventKind, Reply

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
# A gradual shin-bone spot (S2): a suspected bone stress injury, sent to a clinician.
BONE_ANSWERS = {
    "loc": "front",
    "onset": "gradual",
    "start": "d11_42",
    "trend": "better",
    "swell": "none",
    "walk": "normal",
    "pain": "3",
    "s2": "yes",
    "s2site": "tibia",
}


def profile(disposition: Disposition = Disposition.SEE_CLINICIAN) -> Profile:
    view = EpisodeView(
        assessed_at=NOW - timedelta(days=2),
        disposition=disposition,
        location="front",
        care_path=CarePath.BONE_STRESS,
        pain_at_assessment=3,
        phase=int(Phase.MOBILITY),
        status=EpisodeStatus.ACTIVE,
        reasons=("S2",),
        answers=BONE_ANSWERS,
    )
    return Profile(runner_id=3, zone="Europe/London", episode=view, sent_seen_checks=frozenset({9}))


def test_seen_yes_then_the_cleared_button_starts_the_bone_path_plan() -> None:
    seen = advance(None, AnswerSeenCheck(9, True), now=NOW, profile=profile())
    ((button,),) = seen.replies[0].buttons
    outcome = advance(None, event_for_button(button, 0), now=NOW, profile=profile())
    (change,) = [e for e in outcome.effects if isinstance(e, ChangeEpisode)]
    assert change.changes == {"disposition": "HOME_CARE", "phase": int(Phase.MOBILITY)}
    (event,) = [e for e in outcome.effects if isinstance(e, RecordPlanEvent)]
    assert (event.kind, dict(event.data)) == (PlanEventKind.CLEARED, {"from": "SEE_CLINICIAN"})
    cancelled = [e.kinds for e in outcome.effects if isinstance(e, CancelMessages)]
    assert ("seen_check",) in cancelled
    (check_in,) = [e for e in outcome.effects if isinstance(e, ScheduleMessage)]
    assert check_in.kind == "checkin" and NOW < check_in.due_at <= NOW + timedelta(days=1, hours=12)
    templates = [r.template for r in outcome.replies]
    assert templates == [
        "plan/cleared.j2",
        "triage/first_days_care.j2",
        "triage/pain_relief.j2",
        "triage/exercise_session.j2",
    ]
    assert outcome.replies[1].context["first_days"] == "bone"
    session = outcome.replies[3].context["session"]
    # The bone path: nothing that jumps, and its session starts gentle.
    assert session.phase is Phase.MOBILITY
    assert not any(exercise_by_id(i).plyometric for i in session.exercise_ids)


def test_cleared_on_a_home_care_bone_path_opens_running_to_the_self_tests_once() -> None:
    home = profile(Disposition.HOME_CARE)
    outcome = advance(None, Command("cleared"), now=NOW, profile=home)
    (event,) = outcome.effects
    assert isinstance(event, RecordPlanEvent) and event.data == {"from": "HOME_CARE"}
    assert outcome.replies[0].template == "plan/cleared_running.j2"
    again = replace(home, plan_events=(PlanEventView(NOW, "cleared", {"from": "HOME_CARE"}),))
    assert advance(None, Command("cleared"), now=NOW, profile=again).replies[0].template == (
        "plan/nothing_to_clear.j2"
    )


def test_cleared_is_refused_for_home_care_and_without_an_episode() -> None:
    sprain = profile(Disposition.HOME_CARE)
    sprain = replace(sprain, episode=replace(sprain.episode, care_path=CarePath.SPRAIN))
    home = advance(None, Command("cleared"), now=NOW, profile=sprain)
    assert not home.effects
    assert home.replies[0].context["has_episode"] is True
    nobody = advance(None, Command("cleared"), now=NOW, profile=Profile(runner_id=3))
    assert not nobody.effects
    assert nobody.replies[0].context["has_episode"] is False


def test_an_emergency_episode_can_be_cleared_after_the_visit_too() -> None:
    outcome = advance(None, Command("cleared"), now=NOW, profile=profile(Disposition.EMERGENCY))
    (event,) = [e for e in outcome.effects if isinstance(e, RecordPlanEvent)]
    assert event.data == {"from": "EMERGENCY"}


def clearance_replies() -> list[Reply]:
    """Every reply of a clearance (the render tests use them), from the flows."""
    replies: list[Reply] = []
    sprain = profile(Disposition.HOME_CARE)
    sprain = replace(sprain, episode=replace(sprain.episode, care_path=CarePath.SPRAIN))
    for p in (profile(), profile(Disposition.HOME_CARE), sprain, Profile(runner_id=3)):
        replies += advance(None, Command("cleared"), now=NOW, profile=p).replies
    return replies
