"""The vocabulary shared by every flow: answer enums, stored value enums, replies and buttons.

Everything here is a plain enum or frozen dataclass so that the dialog, the rules and the
follow-up logic can be tested without Telegram, a database or templates. The stored value enums
(`EpisodeStatus`, `SorenessSource`, `ExerciseResult`, `PlanEventKind` and the keys of each plan
event's data) are defined here once: the database models import them for their check
constraints, and the flows and the adapter use their members. Enum values are the short strings
stored in the database and carried in callback data, so they must never change meaning once
released (add new members instead). The 0-10 pain scale's ends are here too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any


class FlowName(StrEnum):
    """The dialogs a conversation can be in; stored with it, so never change a value."""

    TRIAGE = "triage"
    CHECKIN = "checkin"
    SORENESS = "soreness"
    REMINDERS = "reminders"
    READINESS = "readiness"
    RUN_LOG = "run_log"
    DELETE = "delete"
    STORY = "story"  # confirming what the runner's own words said (flows.story_confirm)


# The step every flow ends in (stored: a finished conversation keeps its flow and this step).
DONE = "done"


# The 0-10 numeric pain scale every pain and soreness score is given on (the database checks it).
PAIN_MIN = 0
PAIN_MAX = 10
# The longest button label a phone shows whole (issue 10: at most 24 characters, 2 a row).
BUTTON_LABEL_LIMIT = 24


class Location(StrEnum):
    OUTSIDE = "outside"
    INSIDE = "inside"
    BACK = "back"
    FRONT = "front"
    HEEL = "heel"
    ALL_OVER = "all"


class Onset(StrEnum):
    SUDDEN = "sudden"
    GRADUAL = "gradual"


class Started(StrEnum):
    """When it started; the edges match the rules (72 h gate, 10-day Ottawa window, S5)."""

    TODAY = "today"
    DAYS_1_2 = "d1_2"
    DAYS_3_4 = "d3_4"
    DAYS_5_10 = "d5_10"
    DAYS_11_42 = "d11_42"
    OVER_6_WEEKS = "w6plus"


# "today" and "1-2 days" are within 72 h of an injury (plyometric gate); the Ottawa rules are
# validated up to 10 days; "not improving" counts from 5 days (S5).
WITHIN_72_HOURS = frozenset({Started.TODAY, Started.DAYS_1_2})
WITHIN_10_DAYS = frozenset({Started.TODAY, Started.DAYS_1_2, Started.DAYS_3_4, Started.DAYS_5_10})
FIVE_DAYS_OR_MORE = frozenset({Started.DAYS_5_10, Started.DAYS_11_42, Started.OVER_6_WEEKS})


class Trend(StrEnum):
    BETTER = "better"
    SAME = "same"
    WORSE = "worse"


class Swelling(StrEnum):
    NONE = "none"
    MILD = "mild"
    MARKED = "marked"


class WeightBearing(StrEnum):
    NORMAL = "normal"
    PAINFUL = "painful"
    UNABLE = "unable"


class Morning(StrEnum):
    """How the ankle was the morning after exercises or a run (pain-monitoring model)."""

    SETTLED = "settled"
    WORSE = "worse"
    UNSURE = "unsure"  # not known yet: neither settled nor worse


class YesNo(StrEnum):
    """A red-flag answer. "Not sure" counts as yes wherever a rule reads it (safety first)."""

    YES = "yes"
    NO = "no"
    UNSURE = "unsure"


class Sign(StrEnum):
    """A button of the triage's first question, the checklist of signs that cannot wait.

    Each sign's value is the stored answer key of the field it fills (the key of the question
    that asked it one by one before 2026.12): tapping it answers that field "yes". `NONE`
    answers every field the checklist covers "no". POP and BLOOD_THINNER lead to a follow-up
    question of their own (tiptoe; swelling), the others end the questions at once.
    """

    CHEST = "e6chst"
    DEFORMITY = "e1"
    CIRCULATION = "e2"
    SEVERE_PAIN = "e7pain"
    CALF = "e6calf"
    FEVER = "e5fev"
    CRUNCH = "e9"
    BLEEDING = "e8"
    POP = "e3pop"
    BLOOD_THINNER = "e8bt"
    NONE = "none"


class AchillesSite(StrEnum):
    """Where a gradual pain at the back of the ankle sits: it decides the tendon programme."""

    MID = "mid"  # in the cord, a few finger-widths above the heel
    INSERTION = "insertion"  # where the tendon meets the heel bone
    UNSURE = "unsure"


class BoneSite(StrEnum):
    """Where one spot of bone hurts on the gradual path (S2): some sites heal less predictably."""

    INNER_ANKLE = "medial_malleolus"
    INNER_MIDFOOT = "navicular"
    OUTER_MIDFOOT = "fifth_metatarsal"
    DEEP_ANKLE = "talus"
    OUTER_ANKLE = "lateral_malleolus"
    TOP_OF_FOOT = "metatarsal"
    HEEL_BONE = "calcaneus"
    SHIN = "tibia"
    UNSURE = "unsure"


# Navicular, medial malleolus, base of the 5th metatarsal and talus heal less predictably and
# need a clinician the same or next day (R6); an unknown site is treated as one of them.
HIGH_RISK_BONE_SITES = frozenset(
    {
        BoneSite.INNER_ANKLE,
        BoneSite.INNER_MIDFOOT,
        BoneSite.OUTER_MIDFOOT,
        BoneSite.DEEP_ANKLE,
        BoneSite.UNSURE,
    }
)


class CarePath(StrEnum):
    """The care a runner's answers point to; stored with the assessment and the episode.

    It chooses the first-days advice, the exercises and doses, how the plan starts and the
    rules for running again (`flows.care_paths`). Never change a value once shipped.
    """

    SPRAIN = "sprain"  # a sudden twist, roll or knock
    ACHILLES_MID = "achilles_mid"  # gradual, in the Achilles cord
    ACHILLES_INSERTION = "achilles_ins"  # gradual, where the Achilles meets the heel bone
    PERONEAL = "peroneal"  # gradual, outside of the ankle
    TIBIALIS_POSTERIOR = "tib_post"  # gradual, inside of the ankle
    TIBIALIS_ANTERIOR = "tib_ant"  # gradual, front of the ankle
    BONE_STRESS = "bone_stress"  # gradual, one bony spot, or night pain
    HEEL = "heel"  # gradual heel or sole pain (plantar)
    INSTABILITY = "instability"  # recurrent sprains, giving way, or a sprain over 6 weeks old
    CALF_TEAR = "calf_tear"  # sudden, back of the ankle or calf (calf or partial Achilles tear)


TENDON_PATHS = frozenset(
    {
        CarePath.ACHILLES_MID,
        CarePath.ACHILLES_INSERTION,
        CarePath.PERONEAL,
        CarePath.TIBIALIS_POSTERIOR,
        CarePath.TIBIALIS_ANTERIOR,
    }
)


class SeeWithin(StrEnum):
    """How soon a See-a-clinician outcome asks the runner to be seen."""

    TODAY = "today"  # S7: a felt pop with tiptoe still possible
    TODAY_OR_TOMORROW = "next_day"  # S1 (X-ray) and S2 at a high-risk site (R6)
    FEW_DAYS = "days_1_3"


class Disposition(IntEnum):
    """Ordered by urgency so that `max()` picks the more urgent one."""

    HOME_CARE = 1
    SEE_CLINICIAN = 2
    EMERGENCY = 3

    @property
    def code(self) -> str:
        return self.name


class Phase(IntEnum):
    """Exercise plan phases (reference section 4)."""

    MOBILITY = 1
    STRENGTH = 2
    BALANCE = 3
    PLYOMETRIC = 4


class EpisodeStatus(StrEnum):
    """Where an episode is; the values are stored, so never change them.

    active (being followed up; at most one per runner) -> resolved (the check-ins said so) or
    closed (a new assessment opened another episode, or the runner stopped follow-ups).
    """

    ACTIVE = "active"
    RESOLVED = "resolved"
    CLOSED = "closed"


class SorenessSource(StrEnum):
    """How a soreness score reached the bot; stored values."""

    ASSESSMENT = "assessment"
    REPORT = "report"  # the runner volunteered it
    CHECKIN = "checkin"


class ExerciseResult(StrEnum):
    """What the runner said about a day's exercises; stored values."""

    DONE = "done"
    SKIPPED = "skipped"
    TOO_SORE = "too_sore"


# The one-letter code of each result on a reminder's buttons (callback data, so never change it).
EXERCISE_RESULT_CODES = {
    ExerciseResult.DONE: "d",
    ExerciseResult.SKIPPED: "s",
    ExerciseResult.TOO_SORE: "t",
}


class PlanEventKind(StrEnum):
    """What a plan event records (`plan_events.kind`); stored values."""

    PHASE = "phase"  # the exercise plan moved from one phase to another
    READINESS = "readiness"  # the readiness checks before a return to running
    RUN = "run"  # one walk-run day
    CLEARED = "cleared"  # a clinician cleared the runner for home care (`flows.clearance`)


class PhaseEventKey(StrEnum):
    """The keys of a phase change's data; stored in JSON, so never change them."""

    FROM = "from"  # the phase before (an int, `Phase`)
    TO = "to"  # the phase after
    REASON = "reason"  # a `flows.progression.Reason` value


class Check(StrEnum):
    """A self-test or readiness check, one a day as the plan reaches it (`flows.checks`).

    Stored in plan events and carried in a readiness dialog's answers, so never change a value
    (the first five are the ids of the readiness checks stored before 2026.12).
    """

    WALK = "walk"  # brisk walk for 30 minutes
    STANCE = "stand"  # single-leg stance, eyes open, 30 s without touching down
    SQUATS = "squats"  # 10 single-leg squats
    JOG = "jog_spot"  # jog on the spot for 1 minute
    HOPS = "hops"  # 10 single-leg hops, pain within the limit
    HEEL_RAISES = "heel"  # single-leg heel raises to fatigue, sore leg against the other
    STANCE_EYES_CLOSED = "eyes"  # single-leg stance, eyes closed, 30 s


class ReadinessEventKey(StrEnum):
    """The keys of a readiness check's data; stored in JSON, so never change them.

    An attempt stores CHECK, PASSED and its measures (SORE and OTHER heel raises, or PAIN);
    the next morning's answer about it is a second event with CHECK and MORNING_WORSE.
    """

    RESULTS = "results"  # before 2026.12: each of the five checks -> passed, all at once
    READY = "ready"  # before 2026.12: whether those five checks let the runner start running
    CHECK = "check"  # a `Check` value
    PASSED = "passed"  # the attempt met its threshold (it still waits for the next morning)
    SORE = "sore"  # heel raises on the sore leg
    OTHER = "other"  # heel raises on the other leg
    PAIN = "pain"  # pain during the hops, 0-10
    MORNING_WORSE = "morning_worse"  # the morning after the attempt was worse


class RunEventKey(StrEnum):
    """The keys of a walk-run day's data; stored in JSON, so never change them."""

    STEP = "step"  # the index of the walk-run step done
    PAIN = "pain"  # pain during the run, 0-10
    MORNING_WORSE = "morning_worse"
    SWELLING = "swelling"  # more swelling or stiffness
    NEXT = "next"  # the index of the step to do next
    DECISION = "decision"  # a `flows.progression.Move` value
    REASON = "reason"  # a `flows.progression.Reason` value


class ProgrammeStatus(StrEnum):
    """Whether a runner's balance programme after recovery runs (`flows.prevention`); stored
    values, never change them. A programme whose last session day is over is finished, which
    is judged on the date and not stored."""

    ACTIVE = "active"
    STOPPED = "stopped"


class ProgrammeChoice(StrEnum):
    """What a programme button asks for (carried in callback data)."""

    START = "start"
    STOP = "stop"


class PlanQuestion(StrEnum):
    """A runner's question answered from /plan (`flows.plan_questions`; in callback data)."""

    CROSS_TRAINING = "xt"
    PAINKILLERS = "pk"
    BRACE = "br"
    RACING = "race"


class OutcomeDetail(StrEnum):
    """A detail an outcome's buttons open (`flows.outcome_details`; in callback data)."""

    WHY = "why"  # the reasons, and what would change the advice
    TODO = "todo"  # what to do: the care path's first days (and, to be seen, how)
    SIGNS = "signs"  # the warning signs to come back for
    EXERCISES = "ex"  # today's exercise session (home care, with a plan)


class SeenAnswer(StrEnum):
    """A seen-check's answer, as its buttons carry it and its check-in record stores it."""

    YES = "y"
    NO = "n"


@dataclass(frozen=True, slots=True)
class Reply:
    """One message the runner should see: a template name, its context and optional buttons."""

    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    buttons: tuple[tuple[Button, ...], ...] = ()
    # The conversation version the buttons belong to (carried in their callback data).
    version: int = 0
    # Something the adapter adds from the runner's data: "progress" (a chart), "export" (a file).
    attachment: str = ""
    # Urgent advice (an emergency): the adapter keeps trying to deliver it for much longer.
    urgent: bool = False


class ButtonAction(StrEnum):
    """What a button does (`Button.action`); the adapters carry it in callback data."""

    ANSWER = "answer"  # answer the dialog's current question (`step`, `value`)
    BACK = "back"
    RESTART = "restart"
    CHECKIN = "checkin"  # a soreness score on a check-in message (`step`: the message)
    SEEN = "seen"  # a seen-check's answer (`step`: the message, `value`: a `SeenAnswer`)
    EXERCISE = "exercise"  # a reminder's result (`step`: the day, `value`: a result code)
    HOWTO = "howto"  # show one exercise (`value`: its id)
    COMMAND = "command"  # run a command of `flows.commands` (`value`: its name)
    # Start or stop the balance programme after recovery (`value`: a `ProgrammeChoice`).
    PROGRAMME = "programme"
    # A programme session's result (`step`: the day, `value`: a result code).
    PROGRAMME_SESSION = "prog_session"
    # One of the runner's questions from the plan (`value`: a `PlanQuestion`).
    QUESTION = "question"
    # The language to write in, from /language (`value`: a locale, or "auto" for Telegram's).
    LANGUAGE = "language"
    # A detail under an outcome (`step`: the assessment's key, `value`: an `OutcomeDetail`).
    DETAIL = "detail"


@dataclass(frozen=True, slots=True)
class Button:
    """A button as the flows see it: a label and an abstract action.

    `action` is a `ButtonAction`; the Telegram adapter turns it into versioned callback data,
    the terminal chat into a numbered choice.
    """

    label: str
    action: str
    step: str = ""
    value: str = ""
    # Words filled into the label ("How to do %(n)s"), each translated like the label itself.
    label_words: tuple[tuple[str, str], ...] = ()

    def text(self, translate: Callable[[str], str]) -> str:
        """The label as the runner reads it, in the language `translate` gives."""
        label = translate(self.label)
        if not self.label_words:
            return label
        return label % {name: translate(word) for name, word in self.label_words}


# At most two buttons to a row: a third, or a long label beside another, is cut on a phone.
BUTTONS_PER_ROW = 2


def in_rows(buttons: list[Button] | tuple[Button, ...]) -> tuple[tuple[Button, ...], ...]:
    """Buttons laid out two to a row."""
    return tuple(
        tuple(buttons[at : at + BUTTONS_PER_ROW]) for at in range(0, len(buttons), BUTTONS_PER_ROW)
    )
