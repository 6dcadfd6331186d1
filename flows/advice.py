"""What the runner is told once the questions are over: the outcome messages, as replies.

The disposition message always comes first and opens with the disposition in plain words; it
lists every reason with the rule behind it, what to do now, and the signs that would change the
advice. Home care adds the first-days care of the runner's care path (`flows.care_paths`) and a
first exercise session chosen by path, location, starting phase and pain; seeing a clinician
adds the path's care to follow while waiting. A clinician or emergency outcome carries a button
for the one-page summary to show the clinician (/summary). Long advice is split into several
messages so that each stays well inside Telegram's 4096-character limit.
"""

from __future__ import annotations

from typing import Any

from flows.care_paths import PathChoice, plan_start
from flows.path_plans import plan_for
from flows.rules import S1_LATE_WHY, WORDING, Answers, Decision
from flows.sessions import build_session
from flows.types import (
    WITHIN_10_DAYS,
    Button,
    ButtonAction,
    Disposition,
    Location,
    Onset,
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


def outcome_message(disposition: Disposition, context: dict[str, Any]) -> Reply:
    """The disposition message, with the summary button when someone will examine the ankle."""
    urgent = disposition is Disposition.EMERGENCY
    buttons = () if disposition is Disposition.HOME_CARE else ((SUMMARY_BUTTON,),)
    return Reply(OUTCOME_TEMPLATES[disposition], context, buttons=buttons, urgent=urgent)


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


def first_session_reply(answers: Answers, decision: Decision, choice: PathChoice) -> Reply:
    """Today's exercise session for a new home-care plan, in the phase its path starts at."""
    assert answers.location is not None and answers.pain is not None
    session = build_session(
        path=choice.path,
        location=answers.location,
        phase=plan_start(answers, choice.path),
        pain_now=answers.pain,
        gate_open=decision.plyometric_gate_open,
        outside_sprain_healing=outside_sprain_healing(answers),
    )
    return Reply(
        "triage/exercise_session.j2",
        {
            "session": session,
            "gate_blockers": decision.plyometric_gate_blockers,
            "pain": answers.pain,
            "hop_holds": (),
            "zone": None,
        },
    )


def first_days_reply(
    answers: Answers, choice: PathChoice, context: dict[str, object], *, waiting: bool
) -> Reply:
    """The care for the first days on this path (while waiting to be seen, when `waiting`)."""
    return Reply(
        "triage/first_days_care.j2",
        {
            **context,
            "first_days": plan_for(choice.path).first_days.value,
            "started": answers.started.value if answers.started else "",
            "waiting_to_be_seen": waiting,
        },
    )


def outcome_context(
    answers: Answers, decision: Decision, choice: PathChoice, *, care_follows: bool = False
) -> dict[str, Any]:
    """What the outcome templates are rendered with (a first outcome or its repeat);
    `care_follows` when the path's first-days care is sent right after it (the message may
    point to it then, and only then)."""
    return {
        "answers": answers,
        "reasons": reason_items(answers, decision),
        "codes": set(decision.reasons),
        "rules_version": decision.rules_version,
        "see_within": decision.see_within.value if decision.see_within else "",
        "path": choice.path.value,
        "fallback": choice.fallback,
        "care_follows": care_follows,
    }


def repeat_outcome_reply(answers: Answers, decision: Decision, choice: PathChoice) -> Reply:
    """The disposition message said again, alone (a seen-check's "Not yet", a finished urgent
    assessment's button): nothing follows it, so it points to no next message."""
    return outcome_message(decision.disposition, outcome_context(answers, decision, choice))


def outcome_replies(answers: Answers, decision: Decision, choice: PathChoice) -> tuple[Reply, ...]:
    """The messages that close an assessment, most important first: the disposition, then
    (unless it is an emergency) the first-days care of the care path `choice`, then (home care)
    today's exercises."""
    emergency = decision.disposition is Disposition.EMERGENCY
    waiting = decision.disposition is Disposition.SEE_CLINICIAN
    context = outcome_context(answers, decision, choice, care_follows=waiting)
    first = outcome_message(decision.disposition, context)
    if emergency:
        return (first,)
    first_days = first_days_reply(answers, choice, context, waiting=waiting)
    if waiting:
        return (first, first_days)
    return (first, first_days, first_session_reply(answers, decision, choice))
