"""What the runner is told once the questions are over: the outcome messages, as replies.

The disposition message always comes first and opens with the disposition in plain words; it
lists every reason with the rule behind it, what to do now, and the signs that would change the
advice. Home care adds the first-days care and a first exercise session chosen by location,
phase and pain; seeing a clinician adds the care to follow while waiting. Long advice is split
into several messages so that each stays well inside Telegram's 4096-character limit.
"""

from __future__ import annotations

from flows.rules import S1_LATE_WHY, WORDING, Answers, Decision
from flows.sessions import build_session, initial_phase
from flows.types import WITHIN_10_DAYS, Disposition, Location, Onset, Reply, WeightBearing

OUTCOME_TEMPLATES = {
    Disposition.EMERGENCY: "triage/outcome_emergency.j2",
    Disposition.SEE_CLINICIAN: "triage/outcome_see_clinician.j2",
    Disposition.HOME_CARE: "triage/outcome_home_care.j2",
}


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


def first_session_reply(answers: Answers, decision: Decision) -> Reply:
    """Today's exercise session for a new home-care plan."""
    assert answers.location is not None and answers.pain is not None
    assert answers.onset is not None and answers.started is not None
    assert answers.weight_bearing is not None and answers.swelling is not None
    gate_open = decision.plyometric_gate_open
    phase = initial_phase(
        onset=answers.onset,
        started=answers.started,
        pain_now=answers.pain,
        weight_bearing=answers.weight_bearing,
        swelling=answers.swelling,
        gate_open=gate_open,
    )
    session = build_session(
        location=answers.location,
        phase=phase,
        pain_now=answers.pain,
        gate_open=gate_open,
        outside_sprain_healing=outside_sprain_healing(answers),
    )
    return Reply(
        "triage/exercise_session.j2",
        {
            "session": session,
            "gate_blockers": decision.plyometric_gate_blockers,
            "pain": answers.pain,
        },
    )


def outcome_replies(answers: Answers, decision: Decision) -> tuple[Reply, ...]:
    """The messages that close an assessment, most important first."""
    context = {
        "answers": answers,
        "reasons": reason_items(answers, decision),
        "codes": set(decision.reasons),
        "rules_version": decision.rules_version,
        "see_within": decision.see_within.value if decision.see_within else "",
    }
    emergency = decision.disposition is Disposition.EMERGENCY
    first = Reply(OUTCOME_TEMPLATES[decision.disposition], context, urgent=emergency)
    if emergency:
        return (first,)
    first_days = Reply(
        "triage/first_days_care.j2",
        {**context, "waiting_to_be_seen": decision.disposition is Disposition.SEE_CLINICIAN},
    )
    if decision.disposition is Disposition.SEE_CLINICIAN:
        return (first, first_days)
    return (first, first_days, first_session_reply(answers, decision))
