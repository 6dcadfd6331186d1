"""What the runner is told once the questions are over: a short outcome, details on demand.

An outcome is one message that opens with the verdict and the one next step (an emergency
adds every instruction its rules call for, and nothing waits behind a button), says once that
it is not a diagnosis, and carries buttons for the details: why (the reasons, with what would
change the advice), what to do (the care path's first days, and how to be seen), the warning
signs to come back for, and today's exercises on a home-care plan. The buttons name the
assessment by a key of its answers, and a detail is built from the runner's stored episode
when tapped (`flows.outcome_details`). A clinician or emergency outcome also carries the
button for the one-page summary to show the clinician (/summary).
"""

from __future__ import annotations

import hashlib
from typing import Any

from flows.care_paths import PathChoice
from flows.path_plans import plan_for
from flows.rules import S1_LATE_WHY, WORDING, Answers, Decision
from flows.types import (
    WITHIN_10_DAYS,
    Button,
    ButtonAction,
    Disposition,
    Location,
    Onset,
    OutcomeDetail,
    Reply,
    WeightBearing,
)
from flows.words import N_

OUTCOME_TEMPLATES = {
    Disposition.EMERGENCY: "triage/outcome_emergency.j2",
    Disposition.SEE_CLINICIAN: "triage/outcome_see_clinician.j2",
    Disposition.HOME_CARE: "triage/outcome_home_care.j2",
}

# Under every outcome that sends the runner to a clinician: the /summary PDF to show them.
SUMMARY_COMMAND = "summary"
SUMMARY_BUTTON = Button(N_("PDF for the clinic"), ButtonAction.COMMAND, "", SUMMARY_COMMAND)

DETAIL_LABELS = {
    OutcomeDetail.WHY: N_("Why"),
    OutcomeDetail.TODO: N_("What to do"),
    OutcomeDetail.SIGNS: N_("Warning signs"),
    OutcomeDetail.EXERCISES: N_("Today's exercises"),
}
# The details each outcome offers, in order. An emergency's instructions and warning signs are
# all in its own message (nothing urgent may wait behind a tap), so it offers only the reasons.
DETAILS = {
    Disposition.EMERGENCY: (OutcomeDetail.WHY,),
    Disposition.SEE_CLINICIAN: (OutcomeDetail.WHY, OutcomeDetail.TODO, OutcomeDetail.SIGNS),
    Disposition.HOME_CARE: tuple(OutcomeDetail),
}
# Two buttons to a row, so that no label is cut on a phone.
PER_ROW = 2


def assessment_key(answers: Answers) -> str:
    """A short key naming an assessment by its answers, carried in its detail buttons: a
    button of an earlier assessment (other answers) is then recognised as stale. The same
    answers give the same advice, so two assessments sharing a key share their details."""
    return hashlib.sha256(repr(answers).encode()).hexdigest()[:12]


def detail_button(detail: OutcomeDetail, key: str) -> Button:
    """The button that opens `detail` of the assessment keyed `key`."""
    return Button(DETAIL_LABELS[detail], ButtonAction.DETAIL, key, detail)


def outcome_buttons(disposition: Disposition, key: str) -> tuple[tuple[Button, ...], ...]:
    """The detail buttons of an outcome, then the summary button when someone will examine
    the ankle; two to a row."""
    buttons = [detail_button(d, key) for d in DETAILS[disposition]]
    if disposition is not Disposition.HOME_CARE:
        buttons.append(SUMMARY_BUTTON)
    return tuple(tuple(buttons[i : i + PER_ROW]) for i in range(0, len(buttons), PER_ROW))


def reason_items(answers: Answers, decision: Decision) -> list[dict[str, str]]:
    """Each fired trigger as its code and its wording (`what` the sign is, `why` it matters)."""
    items = []
    for code in decision.reasons:
        what, why = WORDING[code]
        if code == "S1" and answers.started not in WITHIN_10_DAYS:
            # The Ottawa rules are validated within 10 days; after that it is plain bone pain.
            why = S1_LATE_WHY
        items.append({"code": code, "what": what, "why": why})
    return items


def outside_sprain_healing(answers: Answers) -> bool:
    """An outside injury while walking still hurts: full pointing would stretch the ligament."""
    return (
        answers.location is Location.OUTSIDE
        and answers.onset is Onset.SUDDEN
        and answers.weight_bearing is not WeightBearing.NORMAL
    )


def first_days_replies(
    answers: Answers, choice: PathChoice, context: dict[str, object], *, waiting: bool
) -> tuple[Reply, Reply]:
    """The care for the first days on this path (while waiting to be seen, when `waiting`),
    then pain relief."""
    care = Reply(
        "triage/first_days_care.j2",
        {
            **context,
            "first_days": plan_for(choice.path).first_days.value,
            "started": answers.started.value if answers.started else "",
            "waiting_to_be_seen": waiting,
        },
    )
    return (care, Reply("triage/pain_relief.j2"))


def outcome_context(answers: Answers, decision: Decision, choice: PathChoice) -> dict[str, Any]:
    """What the outcome and detail templates are rendered with."""
    return {
        "answers": answers,
        "disposition": decision.disposition.code,
        "reasons": reason_items(answers, decision),
        "codes": set(decision.reasons),
        "rules_version": decision.rules_version,
        "see_within": decision.see_within.value if decision.see_within else "",
        "path": choice.path.value,
        "fallback": choice.fallback,
    }


def outcome_replies(
    answers: Answers,
    decision: Decision,
    choice: PathChoice,
    *,
    assessment: Answers | None = None,
) -> tuple[Reply, ...]:
    """The message that closes an assessment (or says its advice again): the verdict and the
    next step, with buttons for its details. `answers` are what the advice was decided on;
    `assessment` the answers of the assessment that opened the episode, when they differ (a
    check-in that changed the advice)."""
    disposition = decision.disposition
    key = assessment_key(assessment or answers)
    return (
        Reply(
            OUTCOME_TEMPLATES[disposition],
            outcome_context(answers, decision, choice),
            buttons=outcome_buttons(disposition, key),
            urgent=disposition is Disposition.EMERGENCY,
        ),
    )
