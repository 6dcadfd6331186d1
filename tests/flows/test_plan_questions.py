"""The runner's questions from /plan (flows.plan_questions): reachable with a button under
today's session, answered for the runner's path and day (cross-training gates, painkiller
wording with a blood thinner or in the first 48 h, brace or tape, the staged return to racing
with the 8-week floor after a sprain)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.render import render
from flows import plan_questions
from flows.dialog import advance
from flows.events import AskPlanQuestion, Command, event_for_button
from flows.plan_questions import CrossTrainingGroup
from flows.profile import CheckInView, Profile
from flows.triage import TriageStep
from flows.types import BUTTON_LABEL_LIMIT, ButtonAction, CarePath, Disposition, PlanQuestion, Reply
from tests.flows.test_follow_ups import EPISODE, NOW, PROFILE

# The sprain assessed "1-2 days" after the injury, at NOW.


def ask(question: PlanQuestion, profile: Profile = PROFILE, *, days_later: float = 0) -> Reply:
    now = NOW + timedelta(days=days_later)
    (reply,) = advance(None, AskPlanQuestion(question), now=now, profile=profile).replies
    return reply


def text(reply: Reply) -> str:
    return render(reply.template, **reply.context)


def path(care_path: CarePath, **answers: str) -> Profile:
    episode = replace(EPISODE, care_path=care_path, answers={**EPISODE.answers, **answers})
    return replace(PROFILE, episode=episode)


def test_plan_has_a_button_for_each_question_within_24_characters():
    replies = advance(None, Command("plan"), now=NOW, profile=PROFILE).replies
    buttons = [b for r in replies for row in r.buttons for b in row]
    asked = {event_for_button(b, 0).question for b in buttons if b.action == ButtonAction.QUESTION}
    assert asked == set(PlanQuestion)
    assert all(len(label) <= BUTTON_LABEL_LIMIT for label in plan_questions.LABELS.values())


def test_answers_are_only_given_when_asked():
    """Not pushed into every message: only the plan and an answer carry the buttons."""
    resolved_or_checkin = advance(None, Command("status"), now=NOW, profile=PROFILE).replies
    assert not any(
        b.action == ButtonAction.QUESTION
        for r in resolved_or_checkin
        for row in r.buttons
        for b in row
    )


@pytest.mark.parametrize(
    ("care_path", "group"),
    [
        (CarePath.SPRAIN, CrossTrainingGroup.SPRAIN),
        (CarePath.ACHILLES_MID, CrossTrainingGroup.TENDON),
        (CarePath.PERONEAL, CrossTrainingGroup.TENDON),
        (CarePath.HEEL, CrossTrainingGroup.HEEL),
        (CarePath.CALF_TEAR, CrossTrainingGroup.CALF_TEAR),
        (CarePath.INSTABILITY, CrossTrainingGroup.TENDON),
    ],
)
def test_cross_training_follows_the_path(care_path, group):
    assert ask(PlanQuestion.CROSS_TRAINING, path(care_path)).context["group"] == group


def test_bone_stress_prefers_the_pool_and_a_high_risk_site_defers_to_the_clinician():
    low = ask(
        PlanQuestion.CROSS_TRAINING,
        path(CarePath.BONE_STRESS, **{TriageStep.BONE_SITE: "metatarsal"}),
    )
    assert low.context["group"] == CrossTrainingGroup.BONE
    assert "clinician has agreed" in text(low)
    high = ask(
        PlanQuestion.CROSS_TRAINING,
        path(CarePath.BONE_STRESS, **{TriageStep.BONE_SITE: "navicular"}),
    )
    assert high.context["group"] == CrossTrainingGroup.BONE_HIGH_RISK
    assert "no, until you are cleared" in text(high)


def test_after_a_sprain_cycling_opens_on_day_3_and_the_elliptical_with_pain_free_walking():
    early = ask(PlanQuestion.CROSS_TRAINING)  # day 1 at the earliest
    assert early.context["cycling_open"] is False
    assert "not yet: from day 3" in text(early)
    assert "not yet: once walking is pain-free" in text(early)
    later = ask(PlanQuestion.CROSS_TRAINING, days_later=2)
    assert later.context["cycling_open"] is True
    walking = replace(
        PROFILE,
        episode=replace(EPISODE, check_ins=(CheckInView(NOW, 2, "better", walking="normal"),)),
    )
    assert ask(PlanQuestion.CROSS_TRAINING, walking, days_later=2).context["walking_pain_free"]
    assert "a common guide" in text(later)


def test_painkillers_never_give_doses_and_hold_tablets_in_the_first_48_hours():
    early = text(ask(PlanQuestion.PAINKILLERS))
    assert "paracetamol" in early and "No anti-inflammatory tablets yet" in early
    assert "pharmacist" in early and "mg" not in early
    later = ask(PlanQuestion.PAINKILLERS, days_later=3)
    assert later.context["within_48_hours"] is False


def test_painkillers_with_a_blood_thinner_say_ask_a_doctor_first():
    thinner = path(CarePath.SPRAIN, **{TriageStep.BLOOD_THINNER: "yes"})
    reply = ask(PlanQuestion.PAINKILLERS, thinner)
    assert reply.context["blood_thinner"] is True
    assert "unless a doctor says so" in text(reply)
    assert ask(PlanQuestion.PAINKILLERS).context["blood_thinner"] is False


def test_brace_or_tape():
    sprain = text(ask(PlanQuestion.BRACE))
    assert "brace" in sprain and "12 months" in sprain and "common guide" in sprain
    tendon = ask(PlanQuestion.BRACE, path(CarePath.ACHILLES_MID))
    assert tendon.context["sprained"] is False


def test_racing_after_a_sprain_waits_8_weeks_from_the_injury():
    reply = ask(PlanQuestion.RACING)
    # At least a day had passed at the assessment ("1-2 days"): 55 days on from it.
    assert reply.context["earliest_race"] == NOW + timedelta(days=55)
    words = text(reply)
    assert "Walk-run" in words and "Race:" in words and "common guide" in words
    bone = ask(PlanQuestion.RACING, path(CarePath.BONE_STRESS))
    unasked = ask(PlanQuestion.CROSS_TRAINING, path(CarePath.BONE_STRESS))
    assert unasked.context["group"] == CrossTrainingGroup.BONE_HIGH_RISK
    assert bone.context["earliest_race"] is None and "0/10" in text(bone)
    assert "Uphill comes last" in text(ask(PlanQuestion.RACING, path(CarePath.ACHILLES_INSERTION)))


def test_without_an_assessment_the_cross_training_answer_asks_for_one():
    reply = ask(PlanQuestion.CROSS_TRAINING, replace(PROFILE, episode=None))
    assert "/new" in text(reply)


def question_replies() -> list[Reply]:
    """Every question's answer on every path, for the template tests."""
    replies = []
    for care_path in CarePath:
        for question in PlanQuestion:
            for days in (0, 3):
                replies.append(
                    ask(
                        question,
                        path(care_path, **{TriageStep.BLOOD_THINNER: "yes"}),
                        days_later=days,
                    )
                )
    emergency = replace(PROFILE, episode=replace(EPISODE, disposition=Disposition.EMERGENCY))
    replies += [ask(q, replace(PROFILE, episode=None)) for q in PlanQuestion]
    replies += [ask(q, emergency) for q in PlanQuestion]
    return replies
