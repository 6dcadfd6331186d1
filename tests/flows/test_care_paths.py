"""Each care path from the runner's answers to their first days: the advice they read, the
phase their plan starts in and the exercises of their first session (issue 9, part 2).

The table plays real assessments through the dialog (typed answers, "no" to every other
question unless a case says otherwise) and renders the replies as the runner reads them. A
hypothesis property then checks, over any answers, that no first session offers hops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render import render
from fakebotapi.telegram_html import parse_html
from flows import triage
from flows.care_paths import choose_path, plan_start
from flows.dialog import advance
from flows.effects import OpenEpisode, RecordAssessment
from flows.events import Command, TypedText
from flows.outcome_details import detail_replies
from flows.path_plans import PATH_PLANS
from flows.profile import EpisodeView, Profile
from flows.rules import Answers, decide
from flows.sessions import Session
from flows.triage import QUESTIONS, TriageStep
from flows.types import (
    DONE,
    FIVE_DAYS_OR_MORE,
    TENDON_PATHS,
    AchillesSite,
    BoneSite,
    CarePath,
    Disposition,
    EpisodeStatus,
    Location,
    Onset,
    OutcomeDetail,
    Phase,
    Sign,
    Started,
    Swelling,
    Trend,
    WeightBearing,
    YesNo,
)
from tests.flows.details import tap_details

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
MEDICINE = (
    "paracetamol or an anti-inflammatory gel first",
    "No ibuprofen or other anti-inflammatory tablets in the first 48 hours",
    "Ask a pharmacist",
    "blood thinner",
    "unless a doctor says so",
)
# Wording that belongs to a fresh sprain only (the old one-routine-for-all advice).
FIRST_DAYS_ROUTINE = ("first 2-3 days", "every 2-3 hours", "For 3 days avoid")


@dataclass(frozen=True)
class Case:
    typed: tuple[str, ...]
    path: CarePath
    disposition: Disposition
    phase: Phase
    says: tuple[str, ...] = ()
    never_says: tuple[str, ...] = ()
    leads: tuple[str, ...] = ()
    never_exercises: frozenset[str] = frozenset()
    answers: dict[str, str] = field(default_factory=dict)  # step -> typed answer, else "no"
    fallback: bool = False


CASES = {
    "sprain_day_1": Case(
        ("outside", "sudden", "1-2 days ago", "mild", "limp", "4"),
        CarePath.SPRAIN,
        Disposition.HOME_CARE,
        Phase.MOBILITY,
        says=("The first 2-3 days", "Ice is optional", "it does not speed healing", "8 weeks"),
        never_says=("every 2-3 hours",),
    ),
    "sprain_day_21": Case(
        ("outside", "sudden", "3 weeks", "better", "mild", "normal", "2"),
        CarePath.SPRAIN,
        Disposition.HOME_CARE,
        Phase.BALANCE,
        says=("keep loading it", "8 weeks"),
        never_says=FIRST_DAYS_ROUTINE,
        leads=("band", "sl_stance"),
    ),
    "achilles_mid_3_weeks": Case(
        ("back", "gradual", "cord", "3 weeks", "better", "none", "normal", "3"),
        CarePath.ACHILLES_MID,
        Disposition.HOME_CARE,
        Phase.STRENGTH,
        says=("5/10 or less", "next morning", "12 weeks", "up to a year"),
        never_says=(*FIRST_DAYS_ROUTINE, "Ice is optional"),
        leads=("heel_drops",),
    ),
    "achilles_insertional": Case(
        ("back", "gradual", "heel", "3 weeks", "better", "none", "normal", "3"),
        CarePath.ACHILLES_INSERTION,
        Disposition.HOME_CARE,
        Phase.STRENGTH,
        says=("no heel drops below step level", "hills and stairs", "12 weeks"),
        never_says=FIRST_DAYS_ROUTINE,
        leads=("heel_drops_floor",),
        never_exercises=frozenset({"calf_stretch", "heel_drops"}),
    ),
    "achilles_site_unsure_falls_back_to_insertional": Case(
        ("back", "gradual", "not sure", "3 weeks", "better", "none", "normal", "3"),
        CarePath.ACHILLES_INSERTION,
        Disposition.HOME_CARE,
        Phase.STRENGTH,
        says=("I can't tell", "safe for both"),
        leads=("heel_drops_floor",),
        never_exercises=frozenset({"calf_stretch", "heel_drops"}),
        fallback=True,
    ),
    "peroneal": Case(
        ("outside", "gradual", "3 weeks", "better", "none", "normal", "2"),
        CarePath.PERONEAL,
        Disposition.HOME_CARE,
        Phase.STRENGTH,
        says=("Running can go on",),
        never_says=FIRST_DAYS_ROUTINE,
        leads=("band",),
    ),
    "tibialis_posterior": Case(
        ("inside", "gradual", "3 weeks", "better", "none", "normal", "2"),
        CarePath.TIBIALIS_POSTERIOR,
        Disposition.HOME_CARE,
        Phase.STRENGTH,
        leads=("band_inversion",),
    ),
    "plantar_heel_of_months": Case(
        ("heel", "gradual", "3 weeks", "better", "none", "normal", "3"),
        CarePath.HEEL,
        Disposition.HOME_CARE,
        Phase.STRENGTH,
        says=("towel under your toes", "every 2nd day for 3 months", "first steps", "flip-flops"),
        never_says=FIRST_DAYS_ROUTINE,
        leads=("plantar_raise", "fascia_stretch"),
    ),
    "gradual_all_over_falls_back_to_bone": Case(
        ("all", "gradual", "3 weeks", "better", "none", "normal", "2"),
        CarePath.BONE_STRESS,
        Disposition.HOME_CARE,
        Phase.MOBILITY,
        says=("Stop running", "0/10", "Eat enough", "most careful plan"),
        never_says=(*FIRST_DAYS_ROUTINE, "loading is what heals", "Running can go on"),
        never_exercises=frozenset({"calf_raise", "sl_stance"}),
        fallback=True,
    ),
    "bone_spot_sees_a_clinician_with_bone_care_meanwhile": Case(
        ("outside", "gradual", "3 weeks", "better", "none", "normal", "3"),
        CarePath.BONE_STRESS,
        Disposition.SEE_CLINICIAN,
        Phase.MOBILITY,
        says=("Until you are seen: no running", "Stop running and jumping", "Eat enough"),
        never_says=(*FIRST_DAYS_ROUTINE, "loading is what heals", "Running can go on"),
        answers={"s2": "yes", "s2site": "shin"},
    ),
    "calf_strain": Case(
        ("back", "sudden", "today", "mild", "limp", "3"),
        CarePath.CALF_TEAR,
        Disposition.HOME_CARE,
        Phase.MOBILITY,
        says=("No calf stretching", "a common guide", "No running until a clinician"),
        never_says=("every 2-3 hours",),
        never_exercises=frozenset({"calf_stretch"}),
    ),
    "felt_pop_with_tiptoe_sees_a_clinician_today": Case(
        ("back", "sudden", "today", "mild", "limp", "3"),
        CarePath.CALF_TEAR,
        Disposition.SEE_CLINICIAN,
        Phase.MOBILITY,
        says=("Until you are seen: no running", "No calf stretching"),
        answers={"signs": "pop", "e3toe": "yes i can"},
    ),
    "old_sprain_is_instability": Case(
        ("outside", "sudden", "more than 6 weeks ago", "better", "none", "normal", "2"),
        CarePath.INSTABILITY,
        Disposition.HOME_CARE,
        Phase.BALANCE,
        says=("semi-rigid brace", "regular training"),
        never_says=FIRST_DAYS_ROUTINE,
        leads=("sl_stance", "bf_stance"),
    ),
}


def by_step(typed: tuple[str, ...]) -> dict[str, str]:
    """The case's typed story (where, how, [which part of the Achilles], when, [better or
    worse], swelling, walking, pain) by the step each answers, whatever order they are asked."""
    rest = list(typed)
    found = {TriageStep.LOCATION: rest.pop(0), TriageStep.ONSET: rest.pop(0)}
    if (found[TriageStep.LOCATION], found[TriageStep.ONSET]) == ("back", "gradual"):
        found[TriageStep.ACHILLES_SITE] = rest.pop(0)
    found[TriageStep.STARTED] = rest.pop(0)
    if QUESTIONS[TriageStep.STARTED].parse(found[TriageStep.STARTED]) in FIVE_DAYS_OR_MORE:
        found[TriageStep.TREND] = rest.pop(0)
    swelling, walking, pain = rest
    return found | {
        TriageStep.SWELLING: swelling,
        TriageStep.WEIGHT_BEARING: walking,
        TriageStep.PAIN: pain,
    }


def play(case: Case):
    """Answer each question from the case's story or overrides, else "none" on the checklist
    and "no" elsewhere, until the assessment ends."""
    outcome = advance(None, Command("new"), now=NOW)
    state = outcome.state
    answers = by_step(case.typed) | dict(case.answers)
    for _ in range(60):
        if state.step == DONE:
            return outcome
        default = "none" if QUESTIONS[state.step].calm_value == Sign.NONE else "no"
        outcome = advance(state, TypedText(answers.get(state.step, default)), now=NOW)
        assert outcome.state is not None, (state.step, answers.get(state.step, default))
        state = outcome.state
    raise AssertionError(f"the assessment did not end (at {state.step})")


def text(reply) -> str:
    plain, _ = parse_html(render(reply.template, **reply.context))
    return plain


@pytest.mark.parametrize("name", CASES)
def test_each_path_gets_its_own_advice_phase_and_first_session(name: str) -> None:
    case = CASES[name]
    outcome = play(case)
    assessment = next(e for e in outcome.effects if isinstance(e, RecordAssessment))
    opened = next(e for e in outcome.effects if isinstance(e, OpenEpisode))
    assert assessment.decision.disposition is case.disposition
    assert assessment.path.path is case.path and opened.care_path is case.path
    assert assessment.path.fallback is case.fallback
    assert opened.phase is case.phase

    # The outcome is one message; its buttons open the care and today's exercises.
    (_only,) = outcome.replies
    tapped = tap_details(outcome, now=NOW)
    advice = "\n".join(text(r) for r in tapped[OutcomeDetail.TODO])
    # Why a fallback path was chosen is a reason, under Why.
    why = "\n".join(text(r) for r in tapped[OutcomeDetail.WHY])
    for words in MEDICINE:
        assert words in advice, words
    for words in case.says:
        assert words in advice + why, words
    for words in case.never_says:
        assert words not in advice, words
    assert ("I can't tell" in why or "does not fit" in why) is case.fallback

    if case.disposition is not Disposition.HOME_CARE:
        assert OutcomeDetail.EXERCISES not in tapped
        return
    (today,) = tapped[OutcomeDetail.EXERCISES]
    assert today.template == "triage/exercise_session.j2"
    session: Session = today.context["session"]
    # The first session and the stored phase agree.
    assert session.phase is opened.phase is case.phase
    assert session.path is case.path
    assert session.exercise_ids[: len(case.leads)] == case.leads
    assert not any(item.exercise.plyometric for item in session.items)
    assert not case.never_exercises & set(session.exercise_ids)


def test_a_day_21_sprain_is_worded_by_how_long_ago_it_started() -> None:
    day_1 = text(tap_details(play(CASES["sprain_day_1"]), now=NOW)[OutcomeDetail.TODO][0])
    day_21 = text(tap_details(play(CASES["sprain_day_21"]), now=NOW)[OutcomeDetail.TODO][0])
    assert "The first 2-3 days" in day_1 and "The first 2-3 days" not in day_21


def test_the_home_care_outcome_names_the_path_and_no_longer_protects_every_ankle() -> None:
    outcome = play(CASES["achilles_mid_3_weeks"])
    home = text(outcome.replies[0])
    assert "keep running if the pain stays within the limits" in home
    assert "Protect it for 2-3 days" not in home
    (why,) = tap_details(outcome, now=NOW)[OutcomeDetail.WHY]
    assert "overloaded Achilles tendon" in text(why)


@pytest.mark.parametrize("path", list(CarePath), ids=str)
@pytest.mark.parametrize("waiting", [False, True], ids=["home", "waiting"])
def test_every_paths_advice_has_the_medicine_wording_and_no_tablets_in_48_hours(
    path: CarePath, waiting: bool
) -> None:
    context = {
        "first_days": PATH_PLANS[path].first_days.value,
        "path": path.value,
        "fallback": False,
        "started": "today",
        "waiting_to_be_seen": waiting,
    }
    care, _ = parse_html(render("triage/first_days_care.j2", **context))
    relief, _ = parse_html(render("triage/pain_relief.j2"))
    advice = care + "\n" + relief
    for words in MEDICINE:
        assert words in advice
    assert "take ibuprofen" not in advice.lower()
    assert "ibuprofen tablets" not in advice.lower()
    assert ("no running" in advice.lower()) or not waiting


YES_NO = st.sampled_from(YesNo)
ANSWERS = st.builds(
    Answers,
    location=st.sampled_from(Location),
    onset=st.sampled_from(Onset),
    started=st.sampled_from(Started),
    trend=st.sampled_from(Trend),
    swelling=st.sampled_from(Swelling),
    weight_bearing=st.sampled_from(WeightBearing),
    pain=st.integers(0, 10),
    **{
        name: st.one_of(st.none(), YES_NO)
        for name in (
            "deformity",
            "circulation",
            "crunch",
            "pop",
            "tiptoe",
            "fever",
            "hot_joint",
            "calf",
            "chest",
            "severe_pain",
            "bleeding",
            "blood_thinner",
            "bruising",
            "ottawa",
            "bone_spot",
            "night_pain",
            "giving_way",
        )
    },
    bone_site=st.one_of(st.none(), st.sampled_from(BoneSite)),
    achilles_site=st.one_of(st.none(), st.sampled_from(AchillesSite)),
)


@settings(max_examples=300)
@given(answers=ANSWERS)
def test_no_first_session_offers_hops_on_any_path(answers: Answers) -> None:
    path = choose_path(answers).path
    assert plan_start(answers, path) <= Phase.BALANCE
    decision = decide(answers)
    stored = {
        step: str(getattr(answers, field))
        for step, field in triage.FLOW.answer_keys.items()
        # The checklist's own answer is not a rule's field (its signs are).
        if getattr(answers, field, None) is not None
    }
    episode = EpisodeView(
        assessed_at=NOW,
        disposition=Disposition.HOME_CARE,  # the plan a home-care outcome would start
        location=answers.location,
        care_path=path,
        pain_at_assessment=answers.pain,
        phase=plan_start(answers, path),
        status=EpisodeStatus.ACTIVE,
        reasons=decision.reasons,
        answers=stored,
    )
    profile = Profile(episode=episode, soreness=((NOW, answers.pain),))
    replies = detail_replies(OutcomeDetail.EXERCISES, episode, profile, now=NOW)
    assert replies
    for reply in replies:
        if reply.template == "triage/exercise_session.j2":
            session = reply.context["session"]
            assert session.path is path
            assert not any(item.exercise.plyometric for item in session.items)
            if path in TENDON_PATHS or path is CarePath.BONE_STRESS:
                assert session.phase <= Phase.STRENGTH
