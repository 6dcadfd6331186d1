"""The triage: the questions of the first assessment, their routes, and what its end decides.

The first question is a checklist of the signs that cannot wait, each its own button, plus
"None of these": a sign ends the questions at once (`ends_early`), "None of these" answers every
sign it covers "no", and two signs that need a question of their own to be answered reliably
lead to it (a felt pop to tiptoe, a blood thinner to swelling). So every emergency is at most
3 answers from /start. Then come only the questions the decision still needs: each row of
`ROUTES` says which question follows which, guarded by a small named predicate over the answers
given so far; rows are tried in order. When the questions end, the rules (`flows.rules.decide`)
give the disposition, the assessment is recorded, an episode opens and its follow-ups are
scheduled. Adding a question is one `TriageStep`, one entry in `QUESTIONS` and its route rows
here, the field and rule it feeds in `flows/rules.py`, and its wording in a template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

from flows import follow_up_schedule
from flows.advice import outcome_replies
from flows.care_paths import choose_path
from flows.effects import Outcome, RecordAssessment
from flows.flow import Flow, Route, question_reply
from flows.profile import Profile
from flows.questions import (
    UNSURE_WORDS,
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
    Sign,
    Started,
    Swelling,
    Trend,
    YesNo,
)
from flows.words import N_


class TriageStep(StrEnum):
    """One question of the triage (value = the short id stored and carried in callback data).

    Removed in 2026.12 (the checklist asks them now; their keys live on as `Sign` values):
    e1, e2, e9, e5fev, e5hot, e6calf, e6chst, e7pain, e8.
    """

    SIGNS = "signs"
    SIGNS_AGAIN = "signs2"
    LOCATION = "loc"
    ONSET = "onset"
    STARTED = "start"
    TREND = "trend"
    SWELLING = "swell"
    WEIGHT_BEARING = "walk"
    PAIN = "pain"
    POP = Sign.POP.value
    TIPTOE = "e3toe"
    BLOOD_THINNER = Sign.BLOOD_THINNER.value
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


# --- the checklist: which field each sign fills ------------------------------------------------

# The signs that end the questions at once (the second checklist, after a follow-up, lists
# only these), and the field each one fills.
AT_ONCE: dict[Sign, str] = {
    Sign.CHEST: "chest",
    Sign.DEFORMITY: "deformity",
    Sign.CIRCULATION: "circulation",
    Sign.SEVERE_PAIN: "severe_pain",
    Sign.CALF: "calf",
    Sign.FEVER: "fever",
    Sign.CRUNCH: "crunch",
    Sign.BLEEDING: "bleeding",
}
# The two signs with a follow-up question of their own.
LEADS: dict[Sign, str] = {Sign.POP: "pop", Sign.BLOOD_THINNER: "blood_thinner"}
# The stored key of the hot-joint question the fever sign also covers (E5: either fires it).
HOT_JOINT_KEY = "e5hot"
# "None of these" answers these keys "no": the first checklist covers its leads too.
CLEARED_BY = {
    TriageStep.SIGNS: (*AT_ONCE, HOT_JOINT_KEY, *LEADS),
    TriageStep.SIGNS_AGAIN: (*AT_ONCE, HOT_JOINT_KEY),
}
# Each stored key the checklists fill, and the field of `Answers` it is.
SIGN_FIELDS: dict[str, str] = {
    **{str(sign): name for sign, name in (*AT_ONCE.items(), *LEADS.items())},
    HOT_JOINT_KEY: "hot_joint",
}


# Built once: the answers are read, and so implied, before every route the triage fires.
_SIGN_VALUES = frozenset(Sign)
# The stored keys implied_answers reads (the checklists, and whether swelling is answered) or
# may write (a sign's own key): `Flow.implied_keys`.
IMPLIED_KEYS = frozenset(
    {
        *(str(step) for step in CLEARED_BY),
        str(TriageStep.SWELLING),
        *(str(key) for keys in CLEARED_BY.values() for key in keys),
        *(str(sign) for sign in Sign),
    }
)


def implied_answers(stored: Mapping[str, str]) -> dict[str, str]:
    """The stored answers plus what the checklists say about each sign's own key.

    A sign tapped answers its key "yes"; "None of these" answers every key its list covers
    "no" (an answer stored under the key itself, from a follow-up or a conversation from
    before the checklist, stands). "I take a blood thinner" counts once the swelling is
    known, the question it leads to: E8A needs swelling, and an unanswered swelling counts
    as swollen, so counting it at once would make every runner on a blood thinner an
    emergency before being asked whether the ankle is swollen. It reads and writes only
    `IMPLIED_KEYS` (tests/flows/test_flow_registry.py checks it answer by answer).
    """
    found = dict(stored)
    for step in (TriageStep.SIGNS, TriageStep.SIGNS_AGAIN):
        value = stored.get(step)
        if value is None or value not in _SIGN_VALUES:
            continue
        if value == Sign.NONE:
            for key in CLEARED_BY[step]:
                found.setdefault(str(key), YesNo.NO)
        elif value != Sign.BLOOD_THINNER or TriageStep.SWELLING in stored:
            found[value] = YesNo.YES
    return found


@dataclass(frozen=True, slots=True)
class TriageAnswers(Answers):
    """The rules' answers plus what each checklist said: its routes need the sign tapped."""

    signs: Sign | None = None
    signs_again: Sign | None = None

    def for_rules(self) -> Answers:
        """The same answers as the rules and care paths read them."""
        return Answers(**{f.name: getattr(self, f.name) for f in fields(Answers)})


# --- routing predicates: which questions the path needs ----------------------------------------


def checklist_not_answered(a: TriageAnswers) -> bool:
    """A conversation stored before the checklist existed, mid-way through its first
    questions, has signs nobody asked about: the checklist comes next, whatever the step."""
    return a.signs is None and any(getattr(a, name) is None for name in AT_ONCE.values())


def chose_the_pop(a: TriageAnswers) -> bool:
    return a.signs is Sign.POP


def chose_the_blood_thinner(a: TriageAnswers) -> bool:
    return a.signs is Sign.BLOOD_THINNER


def after_a_follow_up(a: TriageAnswers) -> bool:
    """After a sign's follow-up, the other signs are still unknown: the second checklist."""
    return a.signs in LEADS and a.signs_again is None


def felt_a_pop_tiptoe_unknown(a: Answers) -> bool:
    """The tiptoe test (E3) only matters after a pop, snap or kicked feeling."""
    return flagged(a.pop) and a.tiptoe is None


def pop_unknown(a: Answers) -> bool:
    return a.pop is None


def blood_thinner_unknown(a: Answers) -> bool:
    return a.blood_thinner is None


def bruising_matters(a: Answers) -> bool:
    """E8A needs swelling or spreading bruising: ask about bruising only when it is not
    swollen."""
    return flagged(a.blood_thinner) and a.swelling is Swelling.NONE and a.bruising is None


def location_unknown(a: Answers) -> bool:
    return a.location is None


def swelling_unknown(a: Answers) -> bool:
    return a.swelling is None


def is_sudden(a: Answers) -> bool:
    """The Ottawa bone points follow an injury; a gradual onset asks about one bony spot."""
    return a.onset is Onset.SUDDEN


def started_five_or_more_days_ago(a: Answers) -> bool:
    """Improvement is only asked when it started 5 or more days ago (S5)."""
    return a.started in FIVE_DAYS_OR_MORE


def has_bony_spot(a: Answers) -> bool:
    """Where the bone hurts (R6) and the energy questions (R5) follow only a sore bony spot."""
    return flagged(a.bone_spot)


def gradual_at_the_back(a: Answers) -> bool:
    """Mid-portion and insertional Achilles pain need different exercises: ask which it is."""
    return a.onset is Onset.GRADUAL and a.location is Location.BACK


S = TriageStep
# fmt: off
ROUTES: tuple[Route, ...] = (
    # Only for a conversation stored before the checklist (see checklist_not_answered).
    *((step, S.SIGNS, checklist_not_answered) for step in S if step is not S.SIGNS),
    # after answering        ask next             when
    (S.SIGNS,             S.LOCATION,          chose_the_pop),
    (S.SIGNS,             S.SWELLING,          chose_the_blood_thinner),
    (S.SIGNS,             S.WEIGHT_BEARING,    None),
    # A pop: where it hurts (the care path of a rupture needs it), then tiptoe (E3 or S7).
    (S.LOCATION,          S.TIPTOE,            felt_a_pop_tiptoe_unknown),
    (S.LOCATION,          S.ONSET,             None),
    (S.TIPTOE,            S.SIGNS_AGAIN,       after_a_follow_up),
    (S.TIPTOE,            S.WEIGHT_BEARING,    None),
    # A blood thinner: swelling (E8A), and bruising when it is not swollen.
    (S.SWELLING,          S.BRUISING,          bruising_matters),
    (S.SWELLING,          S.SIGNS_AGAIN,       after_a_follow_up),
    (S.SWELLING,          S.BLOOD_THINNER,     blood_thinner_unknown),
    (S.SWELLING,          S.PAIN,              None),
    (S.BRUISING,          S.SIGNS_AGAIN,       after_a_follow_up),
    (S.BRUISING,          S.PAIN,              None),
    # The second checklist lists no follow-up sign: the one not yet known is asked plainly.
    (S.SIGNS_AGAIN,       S.POP,               pop_unknown),
    (S.SIGNS_AGAIN,       S.WEIGHT_BEARING,    None),
    (S.POP,               S.TIPTOE,            felt_a_pop_tiptoe_unknown),
    (S.POP,               S.WEIGHT_BEARING,    None),
    (S.BLOOD_THINNER,     S.BRUISING,          bruising_matters),
    (S.BLOOD_THINNER,     S.PAIN,              None),
    # The questions every path asks, skipping those a follow-up asked already.
    (S.WEIGHT_BEARING,    S.LOCATION,          location_unknown),
    (S.WEIGHT_BEARING,    S.ONSET,             None),
    (S.ONSET,             S.ACHILLES_SITE,     gradual_at_the_back),
    (S.ONSET,             S.STARTED,           None),
    (S.ACHILLES_SITE,     S.STARTED,           None),
    (S.STARTED,           S.TREND,             started_five_or_more_days_ago),
    (S.STARTED,           S.SWELLING,          swelling_unknown),
    (S.STARTED,           S.PAIN,              None),
    (S.TREND,             S.SWELLING,          swelling_unknown),
    (S.TREND,             S.PAIN,              None),
    (S.PAIN,              S.OTTAWA,            is_sudden),
    (S.PAIN,              S.BONE_SPOT,         None),
    (S.OTTAWA,            S.NIGHT_PAIN,        None),
    (S.BONE_SPOT,         S.BONE_SITE,         has_bony_spot),
    (S.BONE_SPOT,         S.NIGHT_PAIN,        None),
    (S.BONE_SITE,         S.PERIODS,           None),
    (S.PERIODS,           S.WEIGHT_LOSS,       None),
    (S.WEIGHT_LOSS,       S.RESTRICTED_EATING, None),
    (S.RESTRICTED_EATING, S.EARLIER_BONE_STRESS, None),
    (S.EARLIER_BONE_STRESS, S.NIGHT_PAIN,      None),
    (S.NIGHT_PAIN,        S.GIVING_WAY,        None),
    (S.GIVING_WAY,        DONE,                None),
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
        N_("Back of ankle, Achilles"),
        (
            N_("Back of the ankle / Achilles"),
            N_("back"),
            N_("achilles"),
            N_("behind"),
            N_("achilles tendon"),
            N_("back of the heel"),
        ),
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
        N_("Suddenly: twist or fall"),
        (
            N_("Suddenly (a twist, roll, fall, landing or pop)"),
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
        N_("Gradually, over runs"),
        (
            N_("Gradually, building up over runs"),
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
        N_("In the cord, above heel"),
        (N_("In the cord, above the heel"), N_("cord"), N_("above"), N_("middle"), N_("mid")),
    ),
    Choice(
        AchillesSite.INSERTION,
        N_("Where it meets the heel"),
        (N_("heel"), N_("bottom"), N_("insertion"), N_("at the bone")),
    ),
    Choice(AchillesSite.UNSURE, N_("Not sure"), (N_("not sure"), N_("unsure"), N_("both"))),
)


_TIPTOE = (
    # The question asks "can you?", so "yes" is the calm answer: the stored value stays
    # "yes" = cannot rise (the worrying answer, as in every red flag).
    Choice(
        YesNo.NO,
        N_("Yes, I can"),
        (
            N_("I can"),
            N_("yes"),
            N_("y"),
            N_("yeah"),
            N_("yep"),
            N_("can"),
            N_("i can"),
            N_("able"),
            N_("yes i can"),
        ),
    ),
    Choice(
        YesNo.YES,
        N_("No, I can't"),
        (
            N_("I can't"),
            N_("no"),
            N_("n"),
            N_("nope"),
            N_("can't"),
            N_("cannot"),
            N_("i cannot"),
            N_("unable"),
            N_("no i can't"),
        ),
    ),
    Choice(YesNo.UNSURE, N_("Not sure"), UNSURE_WORDS),
)

_AT_ONCE_CHOICES = (
    Choice(
        Sign.CHEST,
        N_("Chest pain, breathless"),
        (
            N_("chest pain"),
            N_("breathless"),
            N_("short of breath"),
            N_("fainted"),
            N_("coughing blood"),
        ),
    ),
    Choice(
        Sign.DEFORMITY,
        N_("Bent, or bone showing"),
        (N_("bent"), N_("out of shape"), N_("misshapen"), N_("bone showing"), N_("deformed")),
    ),
    Choice(
        Sign.CIRCULATION,
        N_("Numb, cold or blue foot"),
        (N_("numb"), N_("cold foot"), N_("blue foot"), N_("pins and needles"), N_("tingling")),
    ),
    Choice(
        Sign.SEVERE_PAIN,
        N_("Pain rising, not easing"),
        (N_("rising pain"), N_("severe pain"), N_("pain rising"), N_("getting more painful")),
    ),
    Choice(
        Sign.CALF,
        N_("One calf swollen or red"),
        (N_("calf"), N_("swollen calf"), N_("red calf"), N_("clot")),
    ),
    Choice(
        Sign.FEVER,
        N_("Fever or hot, red ankle"),
        (N_("fever"), N_("hot ankle"), N_("hot joint"), N_("infection")),
    ),
    Choice(
        Sign.CRUNCH,
        N_("Heard a crack or crunch"),
        (N_("crack"), N_("crunch"), N_("heard a crack"), N_("heard a crunch")),
    ),
    Choice(
        Sign.BLEEDING,
        N_("Bleeding disorder"),
        (N_("haemophilia"), N_("hemophilia"), N_("von willebrand")),
    ),
)
_LEAD_CHOICES = (
    Choice(
        Sign.POP,
        N_("Felt a pop or a kick"),
        (N_("pop"), N_("felt a pop"), N_("kick"), N_("snap"), N_("felt a snap")),
    ),
    Choice(
        Sign.BLOOD_THINNER,
        N_("I take a blood thinner"),
        (
            N_("blood thinner"),
            N_("warfarin"),
            N_("apixaban"),
            N_("rivaroxaban"),
            N_("anticoagulant"),
        ),
    ),
)
_NONE_OF_THESE = Choice(
    Sign.NONE,
    N_("None of these"),
    (
        N_("none"),
        N_("no"),
        N_("nope"),
        N_("none of them"),
        N_("nothing"),
        N_("neither"),
        N_("no to all"),
    ),
)


def checklist(step: str, field: str, choices: tuple[Choice, ...]) -> Question:
    """A checklist of signs: each sign a button, "None of these" last (the calm answer)."""
    everything = (*choices, _NONE_OF_THESE)
    return Question(
        step, "triage/ask_signs.j2", everything, choice_parser(everything), field, 2,
        calm=Sign.NONE,
    )  # fmt: skip


QUESTIONS: dict[str, Question] = {
    q.step: q
    for q in (
        checklist(TriageStep.SIGNS, "signs", (*_AT_ONCE_CHOICES, *_LEAD_CHOICES)),
        checklist(TriageStep.SIGNS_AGAIN, "signs_again", _AT_ONCE_CHOICES),
        choice_question(
            TriageStep.LOCATION, "triage/ask_location.j2", "location", _LOCATION, per_row=2
        ),
        choice_question(TriageStep.ONSET, "triage/ask_onset.j2", "onset", _ONSET, per_row=2),
        Question(
            TriageStep.STARTED, "triage/ask_started.j2", _STARTED, parse_started, "started", 2
        ),
        choice_question(TriageStep.TREND, "triage/ask_trend.j2", "trend", _TREND, per_row=2),
        choice_question(
            TriageStep.SWELLING, "triage/ask_swelling.j2", "swelling", _SWELLING, per_row=2
        ),
        choice_question(
            TriageStep.WEIGHT_BEARING,
            "triage/ask_weight_bearing.j2",
            "weight_bearing",
            WEIGHT_BEARING_CHOICES,
        ),
        pain_question(TriageStep.PAIN, "triage/ask_pain.j2", "pain", per_row=2),
        yes_no(TriageStep.POP, "triage/ask_pop.j2", "pop"),
        Question(
            TriageStep.TIPTOE,
            "triage/ask_tiptoe.j2",
            _TIPTOE,
            choice_parser(_TIPTOE),
            "tiptoe",
            2,
            calm=YesNo.NO,
        ),
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
            per_row=2,
        ),
    )
}
# The signs a check-in re-screens one by one (flows.checkin), asked as the triage asked them
# before the checklist, under their stored keys.
SIGN_QUESTIONS: dict[str, Question] = {
    q.step: q
    for q in (
        yes_no(Sign.CIRCULATION, "triage/ask_circulation.j2", "circulation"),
        yes_no(Sign.FEVER, "triage/ask_fever.j2", "fever"),
        yes_no(Sign.CALF, "triage/ask_calf.j2", "calf"),
        yes_no(Sign.CHEST, "triage/ask_chest.j2", "chest"),
        yes_no(Sign.SEVERE_PAIN, "triage/ask_severe_pain.j2", "severe_pain"),
    )
}


def start(state: DialogState | None, *, now: datetime, intro: bool) -> Outcome:
    """A new assessment at the first question (after the welcome, for /start)."""
    fresh = FLOW.start(state, now=now)
    replies = (info("triage/welcome.j2"),) if intro else ()
    return Outcome(state=fresh, replies=(*replies, question_reply(fresh, now=now)))


def answers_of(stored: Mapping[str, str]) -> Answers:
    """The typed triage answers of a stored assessment or conversation, as the rules read
    them (what the checklist implied included)."""
    return FLOW.answers(stored).for_rules()


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
    first=TriageStep.SIGNS,
    questions=QUESTIONS,
    routes=ROUTES,
    answers_type=TriageAnswers,
    answer_keys={
        **{step: q.field for step, q in QUESTIONS.items()},
        **SIGN_FIELDS,
    },
    implied=implied_answers,
    implied_keys=IMPLIED_KEYS,
    finish=finish,
    ends_early=has_emergency,
    can_restart=True,
    counted=True,
)
