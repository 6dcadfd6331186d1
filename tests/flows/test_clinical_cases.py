"""Held-out clinical cases, played button by button through the real triage.

Each case is one runner's story: the buttons they press (by label, looked up among the buttons
the question offers, so the test proves the buttons lead there) and what must come out: the
disposition, the exact reasons, how soon to be seen, the care path and whether it is a
fallback. A red-flag question the case does not name is answered with its calm button ("No",
"None of these"), so a case lists only what sets it apart; a sign the checklist covers is named
by its old question's field (deformity=YES) and tapped there. Every answer a case names must
have been asked, unless an emergency ended the questions first. The table covers every E and S
rule, every care path and every fallback, and the runners of issue 9's "Why" list. An emergency
must stop the questions at the answer that showed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from flows import triage
from flows.advice import OUTCOME_TEMPLATES
from flows.care_paths import PathChoice
from flows.checkin import CheckInStep
from flows.dialog import advance
from flows.effects import ChangeEpisode, Outcome, RecordAssessment
from flows.events import Command, StartCheckIn, event_for_button
from flows.exercise_library import exercises
from flows.flow import FLOWS
from flows.profile import EpisodeView, Profile
from flows.rules import EMERGENCY_RULES, SEE_CLINICIAN_RULES, has_emergency
from flows.triage import TriageStep
from flows.types import (
    DONE,
    HIGH_RISK_BONE_SITES,
    ButtonAction,
    CarePath,
    Disposition,
    Reply,
    SeeWithin,
    Sign,
    YesNo,
)

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
# More questions than any path asks: a loop that never ends is a failure, not a hang.
MAX_QUESTIONS = 60

# --- button labels, as the runner reads them ----------------------------------------------------

OUTSIDE = "Outside of the ankle"
INSIDE = "Inside of the ankle"
BACK = "Back of ankle, Achilles"
FRONT = "Front of the ankle"
HEEL = "Heel or sole"
ALL_OVER = "All over"
SUDDEN = "Suddenly: twist or fall"
GRADUAL = "Gradually, over runs"
MID_CORD = "In the cord, above heel"
AT_THE_HEEL = "Where it meets the heel"
NO_SWELLING = "No swelling"
LITTLE_SWOLLEN = "A little swollen"
VERY_SWOLLEN = "Very swollen"
WALKS_NORMALLY = "Yes, without pain"
LIMPS = "Yes, with pain or a limp"
CANNOT_WALK = "No, I can't take 4 steps"
BETTER = "Getting better"
SAME = "About the same"
WORSE = "Getting worse"
YES = "Yes"
NOT_SURE = "Not sure"
TIPTOE_FAILS = "No, I can't"
TIPTOE_WORKS = "Yes, I can"
NONE_OF_THESE = "None of these"
# The checklist's button for each sign it covers, by the field of its old question.
SIGN_BUTTONS = {
    "chest": "Chest pain, breathless",
    "deformity": "Bent, or bone showing",
    "circulation": "Numb, cold or blue foot",
    "severe_pain": "Pain rising, not easing",
    "calf": "One calf swollen or red",
    "fever": "Fever or hot, red ankle",
    "hot_joint": "Fever or hot, red ankle",
    "crunch": "Heard a crack or crunch",
    "bleeding": "Bleeding disorder",
    "pop": "Felt a pop or a kick",
    "blood_thinner": "I take a blood thinner",
}

S = TriageStep


def sprain(**changes: str) -> dict[str, str]:
    """A sudden outside sprain yesterday, a little swollen, limping, 4/10; then `changes`
    (by step name: deformity="Yes")."""
    answers = {
        S.LOCATION: OUTSIDE,
        S.ONSET: SUDDEN,
        S.STARTED: "1-2 days ago",
        S.SWELLING: LITTLE_SWOLLEN,
        S.WEIGHT_BEARING: LIMPS,
        S.PAIN: "4",
    }
    return {**answers, **_by_step(changes)}


def gradual(location: str, **changes: str) -> dict[str, str]:
    """Pain at `location` that built up over 3-4 days of runs, no swelling, walking normally,
    2/10; then `changes`."""
    answers = {
        S.LOCATION: location,
        S.ONSET: GRADUAL,
        S.STARTED: "3-4 days ago",
        S.SWELLING: NO_SWELLING,
        S.WEIGHT_BEARING: WALKS_NORMALLY,
        S.PAIN: "2",
    }
    return {**answers, **_by_step(changes)}


def bony_spot(site: str, **changes: str) -> dict[str, str]:
    """A gradual pain on the outside with one sore spot of bone at `site`; then `changes`."""
    return gradual(OUTSIDE, bone_spot=YES, bone_site=site, **changes)


def _by_step(changes: Mapping[str, str]) -> dict[str, str]:
    """Answers by step; a sign the checklist covers ("Yes" or "Not sure") is its button there."""
    steps: dict[str, str] = {}
    for name, label in changes.items():
        if name in SIGN_BUTTONS:
            assert label in (YES, NOT_SURE), (name, label)
            steps[S.SIGNS] = SIGN_BUTTONS[name]
        else:
            steps[TriageStep[name.upper()]] = label
    return steps


@dataclass(frozen=True)
class Case:
    """One held-out runner: the story, the buttons, and what must come out."""

    name: str
    story: str
    answers: Mapping[str, str]
    disposition: Disposition
    reasons: tuple[str, ...]
    path: CarePath
    fallback: bool = False
    see_within: SeeWithin | None = None  # required for SEE_CLINICIAN, None otherwise


E, SC, HC = Disposition.EMERGENCY, Disposition.SEE_CLINICIAN, Disposition.HOME_CARE
P = CarePath

# fmt: off
CASES: tuple[Case, ...] = (
    # --- emergencies: each E rule, and the issue's chest and severe-pain runners -------------
    # An emergency ends the questions before where it hurts is asked (issue 10: every
    # emergency within 3 answers), so its care path is the careful fallback for an unknown
    # place (bone stress), which a clinician's clearance would start; a pop asks where first.
    Case("e1_deformity", "rolled the ankle; it looks bent out of shape",
         sprain(deformity=YES), E, ("E1",), P.BONE_STRESS, fallback=True),
    Case("e2_cold_toes", "twisted ankle, toes numb and cold",
         sprain(circulation=YES), E, ("E2",), P.BONE_STRESS, fallback=True),
    Case("e3_rupture", "kick at the back of the ankle pushing off, cannot rise on tiptoe",
         sprain(location=BACK, pain="2", pop=YES, tiptoe=TIPTOE_FAILS), E, ("E3",), P.CALF_TEAR),
    Case("e3_unsure_pop_unsure_tiptoe", "maybe a pop, not sure they can rise on tiptoe",
         sprain(location=BACK, pop=NOT_SURE, tiptoe=NOT_SURE), E, ("E3",), P.CALF_TEAR),
    Case("e4_cannot_walk", "fell off a kerb today, very swollen, cannot take 4 steps",
         {S.LOCATION: OUTSIDE, S.ONSET: SUDDEN, S.STARTED: "Today", S.SWELLING: VERY_SWOLLEN,
          S.WEIGHT_BEARING: CANNOT_WALK}, E, ("E4",), P.BONE_STRESS, fallback=True),
    Case("e4_gradual_cannot_walk", "gradual inner ankle pain, now cannot take 4 steps",
         {S.LOCATION: INSIDE, S.ONSET: GRADUAL, S.STARTED: "3-4 days ago",
          S.SWELLING: NO_SWELLING, S.WEIGHT_BEARING: CANNOT_WALK},
         E, ("E4",), P.BONE_STRESS, fallback=True),
    Case("e5_fever", "sprained two days ago, now feverish with a hot red ankle",
         sprain(fever=YES), E, ("E5",), P.BONE_STRESS, fallback=True),
    Case("e5_hot_joint", "no injury, the ankle is hot, swollen and stiff",
         gradual(ALL_OVER, hot_joint=YES), E, ("E5",), P.BONE_STRESS, fallback=True),
    Case("e6_calf", "after a long flight one calf is swollen, warm and tender",
         gradual(BACK, achilles_site=MID_CORD, calf=YES), E, ("E6",), P.BONE_STRESS, fallback=True),
    Case("e6c_chest", "sprained ankle, now short of breath with chest pain",
         sprain(chest=YES), E, ("E6C",), P.BONE_STRESS, fallback=True),
    Case("e6c_chest_not_sure", "gradual heel pain; not sure whether the fainting counts",
         gradual(HEEL, chest=NOT_SURE), E, ("E6C",), P.BONE_STRESS, fallback=True),
    Case("e7_severe_rising_pain", "after a hard session, severe pain rising for hours",
         gradual(FRONT, severe_pain=YES), E, ("E7",), P.BONE_STRESS, fallback=True),
    Case("e7_after_sprain", "rolled the ankle, pain severe and rising, painkillers do nothing",
         sprain(severe_pain=YES), E, ("E7",), P.BONE_STRESS, fallback=True),
    Case("e8_bleeding_disorder", "haemophilia and a new sprain",
         sprain(bleeding=YES), E, ("E8",), P.BONE_STRESS, fallback=True),
    Case("e8a_thinner_swollen", "takes apixaban, rolled the ankle, a little swollen",
         sprain(blood_thinner=YES), E, ("E8A",), P.BONE_STRESS, fallback=True),
    Case("e8a_thinner_spreading_bruise", "takes warfarin, no swelling but the bruise spreads",
         sprain(swelling=NO_SWELLING, blood_thinner=YES, bruising=YES), E, ("E8A",),
         P.BONE_STRESS, fallback=True),
    Case("e8a_thinner_bruise_not_sure", "on rivaroxaban, not sure whether the bruise spreads",
         sprain(swelling=NO_SWELLING, blood_thinner=NOT_SURE, bruising=NOT_SURE),
         E, ("E8A",), P.BONE_STRESS, fallback=True),
    Case("e9_heard_crack", "heard a crack when the ankle rolled",
         sprain(crunch=YES), E, ("E9",), P.BONE_STRESS, fallback=True),

    # --- see a clinician: each S rule --------------------------------------------------------
    Case("s7_felt_pop_tiptoe_possible", "felt a kick at the back of the ankle, can rise on tiptoe",
         sprain(location=BACK, swelling=NO_SWELLING, weight_bearing=WALKS_NORMALLY, pain="2",
                pop=YES, tiptoe=TIPTOE_WORKS),
         SC, ("S7",), P.CALF_TEAR, see_within=SeeWithin.TODAY),
    Case("s1_ottawa", "sprain yesterday, the tip of the outer ankle bone hurts to press",
         sprain(ottawa=YES), SC, ("S1",), P.SPRAIN, see_within=SeeWithin.TODAY_OR_TOMORROW),
    Case("s2_low_risk_site", "gradual pain, one spot on the outer ankle bone hurts to press",
         bony_spot("Outer ankle bone"), SC, ("S2",), P.BONE_STRESS,
         see_within=SeeWithin.FEW_DAYS),
    Case("s2_lower_shin", "gradual pain, one spot low on the shin hurts with each step",
         bony_spot("Lower shin"), SC, ("S2",), P.BONE_STRESS, see_within=SeeWithin.FEW_DAYS),
    *(
        Case(f"s2h_{slug}", f"gradual pain, one spot of bone sore: {site.lower()}",
             bony_spot(site), SC, ("S2", "S2H"), P.BONE_STRESS,
             see_within=SeeWithin.TODAY_OR_TOMORROW)
        for slug, site in (
            ("inner_ankle", "Inner ankle bone"),
            ("navicular", "Bump, inner midfoot"),
            ("fifth_metatarsal", "Bump, outer midfoot"),
            ("talus", "Deep in the ankle"),
            ("site_not_sure", NOT_SURE),
        )
    ),
    Case("s8_periods", "sore spot on the heel bone; periods stopped months ago",
         bony_spot("Heel bone", periods=YES), SC, ("S2", "S8"), P.BONE_STRESS,
         see_within=SeeWithin.FEW_DAYS),
    Case("s8_weight_loss", "sore spot on the top of the foot; lost weight without meaning to",
         bony_spot("Top of the foot", weight_loss=YES), SC, ("S2", "S8"), P.BONE_STRESS,
         see_within=SeeWithin.FEW_DAYS),
    Case("s8_restricted_eating", "sore spot on the outer ankle bone; eats less to stay light",
         bony_spot("Outer ankle bone", restricted_eating=NOT_SURE), SC, ("S2", "S8"),
         P.BONE_STRESS, see_within=SeeWithin.FEW_DAYS),
    Case("s8_earlier_bone_stress", "sore spot low on the shin; had a stress fracture before",
         bony_spot("Lower shin", earlier_bone_stress=YES), SC, ("S2", "S8"), P.BONE_STRESS,
         see_within=SeeWithin.FEW_DAYS),
    Case("s8_at_high_risk_site", "navicular pain, restricted eating, an earlier stress fracture",
         bony_spot("Bump, inner midfoot", restricted_eating=YES, earlier_bone_stress=YES),
         SC, ("S2", "S2H", "S8"), P.BONE_STRESS, see_within=SeeWithin.TODAY_OR_TOMORROW),
    Case("suspected_stress_fracture", "3 weeks of pain on top of the foot, worse, one bony spot",
         gradual(FRONT, started="11 days to 6 weeks ago", trend=WORSE, weight_bearing=LIMPS,
                 pain="5", bone_spot=YES, bone_site="Top of the foot"),
         SC, ("S2", "S5"), P.BONE_STRESS, see_within=SeeWithin.FEW_DAYS),
    Case("s3_night_pain", "gradual inner ankle pain that wakes them at night",
         gradual(INSIDE, night_pain=YES), SC, ("S3",), P.BONE_STRESS,
         see_within=SeeWithin.FEW_DAYS),
    Case("s4_giving_way", "third sprain this year, the ankle keeps giving way",
         sprain(giving_way=YES), SC, ("S4",), P.INSTABILITY, see_within=SeeWithin.FEW_DAYS),
    Case("s5_achilles_months", "mid-portion Achilles pain for months, no better",
         gradual(BACK, achilles_site=MID_CORD, started="More than 6 weeks ago", trend=SAME,
                 pain="3"),
         SC, ("S5",), P.ACHILLES_MID, see_within=SeeWithin.FEW_DAYS),
    Case("s5_plantar_months", "plantar heel pain for several months, first steps hurt most",
         gradual(HEEL, started="More than 6 weeks ago", trend=SAME, pain="3"),
         SC, ("S5",), P.HEEL, see_within=SeeWithin.FEW_DAYS),
    Case("s1_and_s4", "rolled it again, bone tender, keeps giving way",
         sprain(ottawa=YES, giving_way=YES), SC, ("S1", "S4"), P.INSTABILITY,
         see_within=SeeWithin.TODAY_OR_TOMORROW),

    # --- home care: every care path and every fallback ---------------------------------------
    Case("gradual_achilles_3_weeks", "gradual Achilles, 3 weeks, 3/10, walking normally",
         gradual(BACK, achilles_site=MID_CORD, started="11 days to 6 weeks ago", trend=BETTER,
                 pain="3"),
         HC, (), P.ACHILLES_MID),
    Case("achilles_insertional", "pain where the Achilles meets the heel, built up over weeks",
         gradual(BACK, achilles_site=AT_THE_HEEL, started="11 days to 6 weeks ago",
                 trend=BETTER),
         HC, (), P.ACHILLES_INSERTION),
    Case("achilles_site_not_sure", "gradual Achilles pain, cannot say where along the tendon",
         gradual(BACK, achilles_site=NOT_SURE), HC, (), P.ACHILLES_INSERTION, fallback=True),
    Case("plantar_heel_months", "plantar heel pain of several months, slowly easing",
         gradual(HEEL, started="More than 6 weeks ago", trend=BETTER, pain="3"),
         HC, (), P.HEEL),
    Case("peroneal", "pain behind the outer ankle bone, built up over a month of trail runs",
         gradual(OUTSIDE, started="11 days to 6 weeks ago", trend=BETTER), HC, (), P.PERONEAL),
    Case("tibialis_posterior", "gradual pain along the inner ankle, flat-footed runner",
         gradual(INSIDE, weight_bearing=LIMPS, pain="3"), HC, (), P.TIBIALIS_POSTERIOR),
    Case("tibialis_anterior", "gradual pain at the front of the ankle after hill sessions",
         gradual(FRONT), HC, (), P.TIBIALIS_ANTERIOR),
    Case("gradual_all_over", "a vague ache all over the ankle that built up",
         gradual(ALL_OVER), HC, (), P.BONE_STRESS, fallback=True),
    Case("acute_sprain", "rolled the ankle yesterday on a kerb, limping, 4/10",
         sprain(), HC, (), P.SPRAIN),
    Case("sprain_settling", "sprain 3-4 days ago, walking normally now, 2/10",
         sprain(started="3-4 days ago", weight_bearing=WALKS_NORMALLY, pain="2"),
         HC, (), P.SPRAIN),
    Case("sprain_day_21", "sprain three weeks ago, improving, still a little sore",
         sprain(started="11 days to 6 weeks ago", trend=BETTER, swelling=NO_SWELLING,
                weight_bearing=WALKS_NORMALLY, pain="2"),
         HC, (), P.SPRAIN),
    Case("sudden_heel", "landed hard on the heel off a step",
         sprain(location=HEEL), HC, (), P.SPRAIN, fallback=True),
    Case("old_sprain_still_sore", "sprained two months ago, better but not right",
         sprain(started="More than 6 weeks ago", trend=BETTER, pain="2"),
         HC, (), P.INSTABILITY),
    Case("calf_strain", "sharp pull in the calf on a sprint, no pop, walking with a limp",
         sprain(location=BACK), HC, (), P.CALF_TEAR),
    Case("blood_thinner_no_swelling_no_bruise", "on apixaban, knocked the ankle, no swelling",
         sprain(swelling=NO_SWELLING, blood_thinner=YES), HC, (), P.SPRAIN),
)
# fmt: on

BY_NAME = {case.name: case for case in CASES}
PLYOMETRIC_IDS = frozenset(e.id for e in exercises() if e.plyometric)


# --- the player --------------------------------------------------------------------------------


@dataclass
class Transcript:
    """A dialog played through: each question asked, the label pressed, whether the answers so
    far held an emergency sign, and the last outcome."""

    asked: list[str] = field(default_factory=list)
    pressed: list[str] = field(default_factory=list)
    emergency_so_far: list[bool] = field(default_factory=list)
    outcome: Outcome | None = None


def answer_buttons(reply: Reply) -> list:
    return [b for row in reply.buttons for b in row if b.action == ButtonAction.ANSWER]


def press_through(
    outcome: Outcome,
    answers: Mapping[str, str],
    *,
    profile: Profile | None = None,
    now: datetime = NOW,
) -> Transcript:
    """Press, at each question, the button labelled as `answers` says for its step (a yes/no
    question or a checklist not named gets its calm button: "No", "None of these"), until the
    dialog ends."""
    state = outcome.state
    assert state is not None
    flow = FLOWS[state.flow]
    transcript = Transcript()
    while state.step != DONE:
        assert len(transcript.asked) < MAX_QUESTIONS, transcript.asked
        question = outcome.replies[-1]
        assert question.template == flow.questions[state.step].template
        offered = answer_buttons(question)
        step = state.step
        if step in answers:
            wanted = [b for b in offered if b.label == answers[step]]
        else:
            values = {b.value for b in offered}
            calm = flow.questions[step].calm_value
            assert values == set(YesNo) or calm == Sign.NONE, f"no answer for {step} ({values})"
            wanted = [b for b in offered if b.value == calm]
        assert len(wanted) == 1, f"{step}: no one button {answers.get(step)!r} among " + str(
            [b.label for b in offered]
        )
        event = event_for_button(wanted[0], question.version)
        outcome = advance(state, event, now=now, profile=profile)
        assert outcome.state is not None, f"pressing {wanted[0].label!r} changed nothing"
        state = outcome.state
        transcript.asked.append(str(step))
        transcript.pressed.append(wanted[0].label)
        transcript.emergency_so_far.append(has_emergency(flow_answers_as_triage(state)))
    transcript.outcome = outcome
    unasked = set(map(str, answers)) - set(transcript.asked)
    ended_early = transcript.emergency_so_far and transcript.emergency_so_far[-1]
    assert ended_early or not unasked, f"answers given for questions never asked: {sorted(unasked)}"
    return transcript


def flow_answers_as_triage(state):
    """The answers given so far, as the triage rules read them (a check-in's re-screen too)."""
    answers = FLOWS[state.flow].answers(state.answers)
    return answers.as_triage() if hasattr(answers, "as_triage") else answers


def play_triage(answers: Mapping[str, str]) -> Transcript:
    return press_through(advance(None, Command("new"), now=NOW), answers)


def recorded(outcome: Outcome) -> RecordAssessment:
    (found,) = [e for e in outcome.effects if isinstance(e, RecordAssessment)]
    return found


def session_exercise_ids(outcome: Outcome) -> list[tuple[str, ...]]:
    """The exercise ids of each session among the replies (none if no session is sent)."""
    sessions = [r.context["session"] for r in outcome.replies if "session" in r.context]
    return [tuple(session.exercise_ids) for session in sessions]


# --- the cases ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_case_gets_its_disposition_reasons_and_care_path(case: Case) -> None:
    transcript = play_triage(case.answers)
    done = recorded(transcript.outcome)
    assert done.decision.disposition is case.disposition, case.story
    assert done.decision.reasons == case.reasons, case.story
    assert done.decision.see_within == case.see_within, case.story
    assert done.path == PathChoice(case.path, fallback=case.fallback), case.story
    first = transcript.outcome.replies[0]
    assert first.template == OUTCOME_TEMPLATES[case.disposition]
    assert first.context["codes"] == set(case.reasons)


EMERGENCIES = [c for c in CASES if c.disposition is Disposition.EMERGENCY]


@pytest.mark.parametrize("case", EMERGENCIES, ids=[c.name for c in EMERGENCIES])
def test_an_emergency_stops_the_questions_at_the_answer_that_showed_it(case: Case) -> None:
    transcript = play_triage(case.answers)
    # No emergency sign before the last answer, one after it: the questions ended at once.
    assert transcript.emergency_so_far == [False] * (len(transcript.asked) - 1) + [True]
    assert transcript.asked[-1] in set(map(str, case.answers))
    assert [r.template for r in transcript.outcome.replies] == ["triage/outcome_emergency.j2"]
    assert transcript.outcome.replies[0].urgent


NOT_HOME_CARE = [c for c in CASES if c.disposition is not Disposition.HOME_CARE]


@pytest.mark.parametrize("case", NOT_HOME_CARE, ids=[c.name for c in NOT_HOME_CARE])
def test_no_exercise_session_goes_with_an_emergency_or_a_referral(case: Case) -> None:
    assert session_exercise_ids(play_triage(case.answers).outcome) == []


HOME_CARE = [c for c in CASES if c.disposition is Disposition.HOME_CARE]


@pytest.mark.parametrize(
    "case",
    HOME_CARE,
    ids=[c.name for c in HOME_CARE],
)
def test_no_path_offers_hops_on_the_first_day(case: Case) -> None:
    """Tendon rehab brings jumping in last, after strength; a sprain hops only after the
    strength and balance phases (issue 9: no path offers plyometrics on the first day)."""
    for ids in session_exercise_ids(play_triage(case.answers).outcome):
        assert not PLYOMETRIC_IDS.intersection(ids), (case.story, ids)


def test_the_gradual_achilles_runner_of_the_issue_is_home_care_on_the_achilles_path() -> None:
    """Issue 9's first runner: the care is home care on the mid-portion Achilles path (their
    day-one session is checked for hops in test_no_path_offers_hops_on_the_first_day)."""
    case = BY_NAME["gradual_achilles_3_weeks"]
    transcript = play_triage(case.answers)
    assert transcript.pressed[:6] == [
        NONE_OF_THESE,
        WALKS_NORMALLY,
        BACK,
        GRADUAL,
        MID_CORD,
        "11 days to 6 weeks ago",
    ]
    assert recorded(transcript.outcome).decision.disposition is Disposition.HOME_CARE
    assert recorded(transcript.outcome).path.path is CarePath.ACHILLES_MID


def test_a_felt_pop_with_tiptoe_possible_is_never_home_care() -> None:
    """Issue 9: this runner used to be told "no sign of a torn Achilles tendon"."""
    transcript = play_triage(BY_NAME["s7_felt_pop_tiptoe_possible"].answers)
    assert TriageStep.TIPTOE in transcript.asked
    decision = recorded(transcript.outcome).decision
    assert decision.disposition is Disposition.SEE_CLINICIAN
    assert decision.see_within is SeeWithin.TODAY
    assert session_exercise_ids(transcript.outcome) == []


def test_chest_pain_opens_with_call_the_emergency_number() -> None:
    """Issue 9: the call-the-number line read as a general condition after a plain "yes"."""
    from bot.render import render

    transcript = play_triage(BY_NAME["e6c_chest"].answers)
    (reply,) = transcript.outcome.replies
    first_line = render(reply.template, **reply.context).splitlines()[0]
    assert first_line.startswith("<b>Emergency: call 112 / 999 / 911 now.</b>"), first_line


def test_severe_rising_pain_alone_is_an_emergency_with_the_leg_at_heart_level() -> None:
    """Issue 9: a "yes" to severe rising pain was dropped when the tight-calf question was
    answered no. There is no tight-calf question now; the pain alone is E7, and the advice is
    to keep the leg at heart level rather than raised."""
    from bot.render import render

    transcript = play_triage(BY_NAME["e7_after_sprain"].answers)
    assert transcript.asked[-1] == TriageStep.SIGNS
    assert transcript.pressed == [SIGN_BUTTONS["severe_pain"]]
    (reply,) = transcript.outcome.replies
    text = render(reply.template, **reply.context)
    assert "level of your heart" in text
    assert "keep the ankle raised" not in text


# --- the table itself covers every rule and every path ----------------------------------------


def test_the_cases_cover_every_rule_every_path_and_every_fallback() -> None:
    codes = {rule.code for rule in (*EMERGENCY_RULES, *SEE_CLINICIAN_RULES)}
    assert codes <= {code for case in CASES for code in case.reasons}
    assert set(CarePath) <= {case.path for case in CASES}
    fallbacks = {case.path for case in CASES if case.fallback}
    assert {CarePath.ACHILLES_INSERTION, CarePath.BONE_STRESS, CarePath.SPRAIN} <= fallbacks
    assert len(CASES) >= 30
    assert len(BY_NAME) == len(CASES)


def test_every_high_risk_bone_site_button_and_every_energy_question_has_a_case() -> None:
    site_buttons = {c.label for c in triage.QUESTIONS[TriageStep.BONE_SITE].choices}
    high_risk = {
        c.label
        for c in triage.QUESTIONS[TriageStep.BONE_SITE].choices
        if c.value in HIGH_RISK_BONE_SITES
    }
    s2h_sites = {c.answers[S.BONE_SITE] for c in CASES if "S2H" in c.reasons}
    assert high_risk <= s2h_sites <= site_buttons
    energy = (S.PERIODS, S.WEIGHT_LOSS, S.RESTRICTED_EATING, S.EARLIER_BONE_STRESS)
    for step in energy:
        assert any("S8" in c.reasons and c.answers.get(step) in {YES, NOT_SURE} for c in CASES), (
            step
        )


# --- the check-in re-screen ---------------------------------------------------------------------

SPRAIN_EPISODE = EpisodeView(
    assessed_at=NOW - timedelta(days=2),
    disposition=Disposition.HOME_CARE,
    location="outside",
    care_path=CarePath.SPRAIN,
    pain_at_assessment=4,
    phase=1,
    status="active",
    answers={"loc": "outside", "onset": "sudden", "start": "d1_2", "swell": "mild"},
)
CHECK_IN_MESSAGE = 11
ON_HOME_CARE = Profile(
    runner_id=3,
    zone="Europe/London",
    episode=SPRAIN_EPISODE,
    soreness=((SPRAIN_EPISODE.assessed_at, 4),),
    sent_check_ins=frozenset({CHECK_IN_MESSAGE}),
)


# The check-in's own button labels.
CHECK_IN_WORSE = "Worse"
NEW_SIGNS = "Yes, at least one"


def test_a_check_in_with_new_severe_rising_pain_re_triages_as_e7() -> None:
    start = advance(None, StartCheckIn(CHECK_IN_MESSAGE, 8), now=NOW, profile=ON_HOME_CARE)
    transcript = press_through(
        start,
        {
            CheckInStep.TREND: CHECK_IN_WORSE,
            CheckInStep.FLAGS: NEW_SIGNS,
            CheckInStep.WALK: LIMPS,
            CheckInStep.SEVERE_PAIN: YES,
        },
        profile=ON_HOME_CARE,
    )
    # The questions end at the severe-pain answer, before the day's exercise questions.
    assert transcript.asked[-1] == CheckInStep.SEVERE_PAIN
    assert transcript.emergency_so_far[-1] and not any(transcript.emergency_so_far[:-1])
    outcome = transcript.outcome
    assert [r.template for r in outcome.replies] == [
        "care/checkin_escalated.j2",
        "triage/outcome_emergency.j2",
    ]
    assert outcome.replies[-1].context["codes"] == {"E7"}
    (change,) = [e for e in outcome.effects if isinstance(e, ChangeEpisode)]
    assert change.changes == {"disposition": Disposition.EMERGENCY.code}
