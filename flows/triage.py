"""The triage: the questions of the first assessment, their routes, and what its end decides.

Each row of `ROUTES` says which question follows which, guarded by a small named predicate over
the answers given so far; rows are tried in order, and any emergency answer ends the questions
at once (`ends_early`). When the questions end, the rules (`flows.rules.decide`) give the
disposition, the assessment is recorded, an episode opens and its follow-ups are scheduled.
Adding a question is one `TriageStep`, one entry in `QUESTIONS` and its route rows here, the
field and rule it feeds in `flows/rules.py`, and its wording in a template.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from flows import follow_up_schedule
from flows.advice import outcome_replies
from flows.care_paths import choose_path
from flows.effects import Outcome, RecordAssessment
from flows.flow import Flow, Route, question_reply
from flows.profile import Profile
from flows.questions import (
    WEIGHT_BEARING_CHOICES,
    Choice,
    Question,
    Translate,
    choice_parser,
    choice_question,
    duration_in_days,
    pain_question,
    untranslated,
    yes_no,
)
from flows.replies import info
from flows.rules import Answers, decide, flagged, has_emergency
from flows.state import DialogState
from flows.types import (
    DONE,
    FIVE_DAYS_OR_MORE,
    AchillesSite,
    BoneSite,
    FlowName,
    Location,
    Onset,
    Started,
    Swelling,
    Trend,
)
from flows.words import N_


class TriageStep(StrEnum):
    """One question of the triage (value = the short id stored and carried in callback data)."""

    LOCATION = "loc"
    ONSET = "onset"
    STARTED = "start"
    TREND = "trend"
    SWELLING = "swell"
    WEIGHT_BEARING = "walk"
    PAIN = "pain"
    DEFORMITY = "e1"
    CIRCULATION = "e2"
    CRUNCH = "e9"
    POP = "e3pop"
    TIPTOE = "e3toe"
    FEVER = "e5fev"
    HOT_JOINT = "e5hot"
    CALF = "e6calf"
    CHEST = "e6chst"
    SEVERE_PAIN = "e7pain"
    BLEEDING = "e8"
    BLOOD_THINNER = "e8bt"
    BRUISING = "e8br"
    OTTAWA = "s1"
    BONE_SPOT = "s2"
    BONE_SITE = "s2site"
    PERIODS = "s8per"
    WEIGHT_LOSS = "s8wt"
    RESTRICTED_EATING = "s8eat"
    EARLIER_BONE_STRESS = "s8bsi"
    NIGHT_PAIN = "s3"
    GIVING_WAY = "s4"
    ACHILLES_SITE = "achsite"


# --- routing predicates: which questions the path needs ----------------------------------------


def is_sudden(a: Answers) -> bool:
    """Sudden-onset questions (crunch, bleeding disorder, Ottawa points) follow an injury."""
    return a.onset is Onset.SUDDEN


def started_five_or_more_days_ago(a: Answers) -> bool:
    """Improvement is only asked when it started 5 or more days ago (S5)."""
    return a.started in FIVE_DAYS_OR_MORE


def felt_a_pop(a: Answers) -> bool:
    """The tiptoe test (E3) only matters after a pop, snap or kicked feeling."""
    return flagged(a.pop)


def takes_blood_thinner_without_swelling(a: Answers) -> bool:
    """E8A needs swelling or spreading bruising: ask about bruising only when it is not swollen."""
    return flagged(a.blood_thinner) and a.swelling is Swelling.NONE


def has_bony_spot(a: Answers) -> bool:
    """Where the bone hurts (R6) and the energy questions (R5) follow only a sore bony spot."""
    return flagged(a.bone_spot)


def gradual_at_the_back(a: Answers) -> bool:
    """Mid-portion and insertional Achilles pain need different exercises: ask which it is."""
    return a.onset is Onset.GRADUAL and a.location is Location.BACK


# fmt: off
ROUTES: tuple[Route, ...] = (
    # after answering        ask next             when
    (TriageStep.LOCATION,          TriageStep.ONSET,          None),
    (TriageStep.ONSET,             TriageStep.ACHILLES_SITE,  gradual_at_the_back),
    (TriageStep.ONSET,             TriageStep.STARTED,        None),
    (TriageStep.ACHILLES_SITE,     TriageStep.STARTED,        None),
    (TriageStep.STARTED,           TriageStep.TREND,          started_five_or_more_days_ago),
    (TriageStep.STARTED,           TriageStep.SWELLING,       None),
    (TriageStep.TREND,             TriageStep.SWELLING,       None),
    (TriageStep.SWELLING,          TriageStep.WEIGHT_BEARING, None),
    (TriageStep.WEIGHT_BEARING,    TriageStep.PAIN,           None),
    (TriageStep.PAIN,              TriageStep.DEFORMITY,      None),
    (TriageStep.DEFORMITY,         TriageStep.CIRCULATION,    None),
    (TriageStep.CIRCULATION,       TriageStep.CRUNCH,         is_sudden),
    (TriageStep.CIRCULATION,       TriageStep.POP,            None),
    (TriageStep.CRUNCH,            TriageStep.POP,            None),
    (TriageStep.POP,               TriageStep.TIPTOE,         felt_a_pop),
    (TriageStep.POP,               TriageStep.FEVER,          None),
    (TriageStep.TIPTOE,            TriageStep.FEVER,          None),
    (TriageStep.FEVER,             TriageStep.CALF,           is_sudden),
    (TriageStep.FEVER,             TriageStep.HOT_JOINT,      None),
    (TriageStep.HOT_JOINT,         TriageStep.CALF,           None),
    (TriageStep.CALF,              TriageStep.CHEST,          None),
    (TriageStep.CHEST,             TriageStep.SEVERE_PAIN,    None),
    (TriageStep.SEVERE_PAIN,       TriageStep.BLEEDING,       is_sudden),
    (TriageStep.SEVERE_PAIN,       TriageStep.BONE_SPOT,      None),
    (TriageStep.BLEEDING,          TriageStep.BLOOD_THINNER,  None),
    (TriageStep.BLOOD_THINNER,     TriageStep.BRUISING,       takes_blood_thinner_without_swelling),
    (TriageStep.BLOOD_THINNER,     TriageStep.OTTAWA,         None),
    (TriageStep.BRUISING,          TriageStep.OTTAWA,         None),
    (TriageStep.OTTAWA,            TriageStep.NIGHT_PAIN,     None),
    (TriageStep.BONE_SPOT,         TriageStep.BONE_SITE,      has_bony_spot),
    (TriageStep.BONE_SPOT,         TriageStep.NIGHT_PAIN,     None),
    (TriageStep.BONE_SITE,         TriageStep.PERIODS,        None),
    (TriageStep.PERIODS,           TriageStep.WEIGHT_LOSS,    None),
    (TriageStep.WEIGHT_LOSS,       TriageStep.RESTRICTED_EATING, None),
    (TriageStep.RESTRICTED_EATING, TriageStep.EARLIER_BONE_STRESS, None),
    (TriageStep.EARLIER_BONE_STRESS, TriageStep.NIGHT_PAIN,   None),
    (TriageStep.NIGHT_PAIN,        TriageStep.GIVING_WAY,     None),
    (TriageStep.GIVING_WAY,        DONE,                None),
)
# fmt: on


_LOCATION = (
    Choice(
        Location.OUTSIDE,
        N_("Outside of the ankle"),
        (
            N_("outside"),
            N_("outer"),
            N_("lateral"),
            N_("out"),
            N_("outer side"),
            N_("outside ankle"),
        ),
    ),
    Choice(
        Location.INSIDE,
        N_("Inside of the ankle"),
        (N_("inside"), N_("inner"), N_("medial"), N_("in"), N_("inner side"), N_("inside ankle")),
    ),
    Choice(
        Location.BACK,
        N_("Back of the ankle / Achilles"),
        (N_("back"), N_("achilles"), N_("behind"), N_("achilles tendon"), N_("back of the heel")),
    ),
    Choice(
        Location.FRONT,
        N_("Front of the ankle"),
        (N_("front"), N_("top"), N_("anterior"), N_("top of the foot")),
    ),
    Choice(
        Location.HEEL,
        N_("Heel or sole"),
        (N_("heel"), N_("sole"), N_("bottom"), N_("under"), N_("underneath"), N_("arch")),
    ),
    Choice(
        Location.ALL_OVER,
        N_("All over"),
        (N_("all over"), N_("everywhere"), N_("whole ankle"), N_("all")),
    ),
)


_ONSET = (
    Choice(
        Onset.SUDDEN,
        N_("Suddenly (a twist, roll, fall, landing or pop)"),
        (
            N_("sudden"),
            N_("suddenly"),
            N_("injury"),
            N_("twist"),
            N_("twisted"),
            N_("rolled"),
            N_("roll"),
            N_("fall"),
            N_("fell"),
            N_("rolled it"),
            N_("i rolled it"),
            N_("twisted it"),
            N_("i twisted it"),
            N_("sprained it"),
            N_("i sprained it"),
            N_("turned it"),
            N_("went over on it"),
            N_("landed badly"),
            N_("tripped"),
            N_("pop"),
            N_("it popped"),
        ),
    ),
    Choice(
        Onset.GRADUAL,
        N_("Gradually, building up over runs"),
        (
            N_("gradual"),
            N_("gradually"),
            N_("slowly"),
            N_("over time"),
            N_("built up"),
            N_("overuse"),
            N_("it built up"),
            N_("slowly got worse"),
            N_("crept up"),
            N_("came on slowly"),
            N_("over weeks"),
            N_("no injury"),
        ),
    ),
)


_STARTED = (
    Choice(
        Started.TODAY,
        N_("Today"),
        (
            N_("today"),
            N_("this morning"),
            N_("this afternoon"),
            N_("this evening"),
            N_("tonight"),
            N_("just now"),
            N_("an hour ago"),
            N_("0"),
        ),
    ),
    Choice(
        Started.DAYS_1_2,
        N_("1-2 days ago"),
        (N_("yesterday"), N_("last night"), N_("the day before yesterday"), N_("1-2 days")),
    ),
    Choice(Started.DAYS_3_4, N_("3-4 days ago"), (N_("3-4 days"),)),
    Choice(Started.DAYS_5_10, N_("5-10 days ago"), (N_("5-10 days"), N_("last week"))),
    Choice(
        Started.DAYS_11_42,
        N_("11 days to 6 weeks ago"),
        (N_("11 days to 6 weeks"), N_("weeks"), N_("a few weeks")),
    ),
    Choice(
        Started.OVER_6_WEEKS,
        N_("More than 6 weeks ago"),
        (N_("months"), N_("ages"), N_("a long time"), N_("for months")),
    ),
)
# The last day of each bucket but the last: a typed "5 days ago" or "3 weeks" is sorted by days.
_STARTED_UP_TO_DAY = (
    (0, Started.TODAY),
    (2, Started.DAYS_1_2),
    (4, Started.DAYS_3_4),
    (10, Started.DAYS_5_10),
    (42, Started.DAYS_11_42),
)


def started_days_ago(days: int) -> Started:
    """The `Started` answer for an injury `days` days old (6 weeks is 42 days)."""
    return next(
        (started for last, started in _STARTED_UP_TO_DAY if days <= last), Started.OVER_6_WEEKS
    )


_started_choice = choice_parser(_STARTED)


def parse_started(text: str, translate: Translate = untranslated) -> str | None:
    """A button's label or alias, else a typed span ("5 days ago", "3 weeks", "last month")."""
    value = _started_choice(text, translate)
    if value is not None:
        return value
    days = duration_in_days(text, translate)
    return started_days_ago(days).value if days is not None else None


_TREND = (
    Choice(Trend.BETTER, N_("Getting better"), (N_("better"), N_("improving"), N_("a bit better"))),
    Choice(
        Trend.SAME,
        N_("About the same"),
        (N_("same"), N_("no change"), N_("unchanged"), N_("the same"), N_("no different")),
    ),
    Choice(Trend.WORSE, N_("Getting worse"), (N_("worse"), N_("worsening"), N_("a bit worse"))),
)


_SWELLING = (
    Choice(
        Swelling.NONE,
        N_("No swelling"),
        (N_("none"), N_("no"), N_("not swollen"), N_("not really"), N_("nothing")),
    ),
    Choice(
        Swelling.MILD,
        N_("A little swollen"),
        (
            N_("mild"),
            N_("a little"),
            N_("slightly"),
            N_("some"),
            N_("little"),
            N_("a bit"),
            N_("a bit swollen"),
            N_("slightly swollen"),
            N_("puffy"),
        ),
    ),
    Choice(
        Swelling.MARKED,
        N_("Very swollen"),
        (
            N_("marked"),
            N_("very"),
            N_("a lot"),
            N_("very swollen"),
            N_("lots"),
            N_("really swollen"),
            N_("huge"),
            N_("like a balloon"),
        ),
    ),
)


_BONE_SITE = (
    Choice(BoneSite.INNER_ANKLE, N_("Inner ankle bone"), (N_("inner ankle"), N_("medial"))),
    Choice(
        BoneSite.INNER_MIDFOOT,
        N_("Bump, inner midfoot"),
        (N_("inner midfoot"), N_("navicular"), N_("arch")),
    ),
    Choice(
        BoneSite.OUTER_MIDFOOT,
        N_("Bump, outer midfoot"),
        (N_("outer midfoot"), N_("fifth metatarsal"), N_("5th metatarsal")),
    ),
    Choice(
        BoneSite.DEEP_ANKLE,
        N_("Deep in the ankle"),
        (N_("deep"), N_("talus"), N_("inside the joint")),
    ),
    Choice(BoneSite.OUTER_ANKLE, N_("Outer ankle bone"), (N_("outer ankle"), N_("lateral"))),
    Choice(
        BoneSite.TOP_OF_FOOT,
        N_("Top of the foot"),
        (N_("top of foot"), N_("metatarsal"), N_("forefoot")),
    ),
    Choice(BoneSite.HEEL_BONE, N_("Heel bone"), (N_("heel"), N_("calcaneus"))),
    Choice(BoneSite.SHIN, N_("Lower shin"), (N_("shin"), N_("tibia"))),
    Choice(BoneSite.UNSURE, N_("Not sure"), (N_("not sure"), N_("unsure"), N_("don't know"))),
)


_ACHILLES_SITE = (
    Choice(
        AchillesSite.MID,
        N_("In the cord, above the heel"),
        (N_("cord"), N_("above"), N_("middle"), N_("mid")),
    ),
    Choice(
        AchillesSite.INSERTION,
        N_("Where it meets the heel"),
        (N_("heel"), N_("bottom"), N_("insertion"), N_("at the bone")),
    ),
    Choice(AchillesSite.UNSURE, N_("Not sure"), (N_("not sure"), N_("unsure"), N_("both"))),
)


QUESTIONS: dict[str, Question] = {
    q.step: q
    for q in (
        choice_question(TriageStep.LOCATION, "triage/ask_location.j2", "location", _LOCATION),
        choice_question(TriageStep.ONSET, "triage/ask_onset.j2", "onset", _ONSET),
        Question(
            TriageStep.STARTED, "triage/ask_started.j2", _STARTED, parse_started, "started", 2
        ),
        choice_question(TriageStep.TREND, "triage/ask_trend.j2", "trend", _TREND, per_row=3),
        choice_question(
            TriageStep.SWELLING, "triage/ask_swelling.j2", "swelling", _SWELLING, per_row=3
        ),
        choice_question(
            TriageStep.WEIGHT_BEARING,
            "triage/ask_weight_bearing.j2",
            "weight_bearing",
            WEIGHT_BEARING_CHOICES,
        ),
        pain_question(TriageStep.PAIN, "triage/ask_pain.j2", "pain"),
        yes_no(TriageStep.DEFORMITY, "triage/ask_deformity.j2", "deformity"),
        yes_no(TriageStep.CIRCULATION, "triage/ask_circulation.j2", "circulation"),
        yes_no(TriageStep.CRUNCH, "triage/ask_crunch.j2", "crunch"),
        yes_no(TriageStep.POP, "triage/ask_pop.j2", "pop"),
        # Phrased as "I can't" so that the worrying answer is still the first, "yes" button.
        yes_no(
            TriageStep.TIPTOE,
            "triage/ask_tiptoe.j2",
            "tiptoe",
            yes=N_("I can't"),
            no=N_("I can"),
            yes_aliases=(N_("can't"), N_("cannot"), N_("i cannot"), N_("unable")),
            no_aliases=(N_("can"), N_("i can"), N_("able")),
        ),
        yes_no(TriageStep.FEVER, "triage/ask_fever.j2", "fever"),
        yes_no(TriageStep.HOT_JOINT, "triage/ask_hot_joint.j2", "hot_joint"),
        yes_no(TriageStep.CALF, "triage/ask_calf.j2", "calf"),
        yes_no(TriageStep.CHEST, "triage/ask_chest.j2", "chest"),
        yes_no(TriageStep.SEVERE_PAIN, "triage/ask_severe_pain.j2", "severe_pain"),
        yes_no(TriageStep.BLEEDING, "triage/ask_bleeding.j2", "bleeding"),
        yes_no(TriageStep.BLOOD_THINNER, "triage/ask_blood_thinner.j2", "blood_thinner"),
        yes_no(TriageStep.BRUISING, "triage/ask_bruising.j2", "bruising"),
        yes_no(TriageStep.OTTAWA, "triage/ask_ottawa.j2", "ottawa"),
        yes_no(TriageStep.BONE_SPOT, "triage/ask_bone_spot.j2", "bone_spot"),
        choice_question(
            TriageStep.BONE_SITE, "triage/ask_bone_site.j2", "bone_site", _BONE_SITE, per_row=2
        ),
        # "No" covers "does not apply to me": the periods question is one of four (R5).
        yes_no(
            TriageStep.PERIODS,
            "triage/ask_periods.j2",
            "periods",
            no=N_("No / not for me"),
            no_aliases=(N_("not for me"), N_("n/a"), N_("does not apply")),
        ),
        yes_no(TriageStep.WEIGHT_LOSS, "triage/ask_weight_loss.j2", "weight_loss"),
        yes_no(
            TriageStep.RESTRICTED_EATING, "triage/ask_restricted_eating.j2", "restricted_eating"
        ),
        yes_no(
            TriageStep.EARLIER_BONE_STRESS,
            "triage/ask_earlier_bone_stress.j2",
            "earlier_bone_stress",
        ),
        yes_no(TriageStep.NIGHT_PAIN, "triage/ask_night_pain.j2", "night_pain"),
        yes_no(TriageStep.GIVING_WAY, "triage/ask_giving_way.j2", "giving_way"),
        choice_question(
            TriageStep.ACHILLES_SITE,
            "triage/ask_achilles_site.j2",
            "achilles_site",
            _ACHILLES_SITE,
        ),
    )
}


def start(state: DialogState | None, *, now: datetime, intro: bool) -> Outcome:
    """A new assessment at the first question (after the welcome, for /start)."""
    fresh = FLOW.start(state, now=now)
    replies = (info("triage/welcome.j2"),) if intro else ()
    return Outcome(state=fresh, replies=(*replies, question_reply(fresh, now=now)))


def answers_of(stored: Mapping[str, str]) -> Answers:
    """The typed triage answers of a stored assessment or conversation."""
    return FLOW.answers(stored)


def finish(state: DialogState, profile: Profile, now: datetime) -> Outcome:
    """The questions are over: decide, record the assessment, open the episode."""
    answers = answers_of(state.answers)
    decision = decide(answers)
    assessment = RecordAssessment(
        answers=dict(state.answers),
        decision=decision,
        path=choose_path(answers),
        started_at=state.started_at or now,
        completed_at=now,
    )
    return Outcome(
        state=state,
        replies=outcome_replies(answers, decision, assessment.path),
        effects=(assessment, *follow_up_schedule.after_assessment(profile, assessment, answers)),
    )


FLOW = Flow(
    name=FlowName.TRIAGE,
    steps=TriageStep,
    first=TriageStep.LOCATION,
    questions=QUESTIONS,
    routes=ROUTES,
    answers_type=Answers,
    answer_keys={step: q.field for step, q in QUESTIONS.items()},
    finish=finish,
    ends_early=has_emergency,
    can_restart=True,
)
