"""No line points at a message that never comes, and none repeats what the runner just tapped
(issue 10, item 7): an escalated check-in's advice is one message whose details (the care while
waiting, the reasons) are buttons, a repeated advice says why, and a check-in's thanks says the
score once."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.render import render
from flows.checkin import REASONS_KEY, advice_reasons
from flows.dialog import StartCheckIn, TypedText, advance
from flows.events import event_for_button
from flows.profile import CheckInView, EpisodeView, Profile
from flows.runner_commands import answer_seen_check
from flows.types import CarePath, Disposition, Reply

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
POINTER = "see the next message"
EPISODE = EpisodeView(
    assessed_at=NOW - timedelta(days=3),
    disposition=Disposition.HOME_CARE,
    location="outside",
    care_path=CarePath.SPRAIN,
    pain_at_assessment=4,
    phase=1,
    status="active",
    answers={"loc": "outside", "onset": "sudden", "start": "d1_2", "walk": "painful", "pain": "4"},
    check_ins=(CheckInView(NOW - timedelta(days=1), 5, "worse"),),
)
PROFILE = Profile(
    runner_id=7,
    zone="UTC",
    episode=EPISODE,
    sent_check_ins=frozenset({5}),
    sent_seen_checks=frozenset({6}),
)


def plain(template: str, **context: object) -> str:
    """The rendered text as the runner reads it (without the HTML tags)."""
    return re.sub(r"<[^>]+>", "", render(template, **context))


def text_of(reply: Reply) -> str:
    return plain(reply.template, **reply.context)


def check_in(typed: list[str], *, soreness: int, profile: Profile = PROFILE) -> list[Reply]:
    outcome = advance(None, StartCheckIn(5, soreness), now=NOW, profile=profile)
    replies, state = list(outcome.replies), outcome.state
    for text in typed:
        outcome = advance(state, TypedText(text), now=NOW, profile=profile)
        state = outcome.state or state
        replies += outcome.replies
    return replies


def escalated_profile(reasons: tuple[str, ...]) -> Profile:
    """The runner as loaded after a check-in moved the episode to see a clinician."""
    episode = replace(EPISODE, disposition=Disposition.SEE_CLINICIAN, reasons=reasons)
    return replace(PROFILE, episode=episode)


def test_an_escalated_check_in_points_to_no_next_message_and_its_care_is_a_tap_away() -> None:
    replies = check_in(["worse", "none", "normal", "none"], soreness=6)
    escalated, advice = replies[-2:]
    assert escalated.template == "care/checkin_escalated.j2"
    assert POINTER not in text_of(advice)
    # Its What to do button opens the sprain's first-days care, while waiting to be seen.
    (what_to_do,) = [b for row in advice.buttons for b in row if b.label == "What to do"]
    profile = escalated_profile(("S6",))
    outcome = advance(None, event_for_button(what_to_do, 0), now=NOW, profile=profile)
    _how, care, _relief = outcome.replies
    assert care.template == "triage/first_days_care.j2"
    assert "Until you are seen" in text_of(care)


def test_not_yet_seen_repeats_the_advice_and_its_why_has_its_reasons() -> None:
    # The episode as loaded after that escalation: see a clinician, for S6.
    profile = escalated_profile(advice_reasons((), [{"c_trend": "worse"}, {REASONS_KEY: "S6"}]))
    outcome = answer_seen_check(profile, message_id=6, seen=False, now=NOW)
    _note, repeat = outcome.replies
    assert POINTER not in text_of(repeat)
    (why_button,) = [b for row in repeat.buttons for b in row if b.label == "Why"]
    (why,) = advance(None, event_for_button(why_button, 0), now=NOW, profile=profile).replies
    text = text_of(why)
    reasons = text.split("Why:", 1)[1].strip()
    assert reasons.startswith("•"), text  # a reason follows the heading
    assert "worse" in reasons.split("\n", 1)[0]


def test_a_repeat_without_reasons_has_no_empty_why() -> None:
    """An episode escalated before its reasons were kept: no bare heading."""
    profile = escalated_profile(())
    outcome = answer_seen_check(profile, message_id=6, seen=False, now=NOW)
    (why_button,) = [b for row in outcome.replies[-1].buttons for b in row if b.label == "Why"]
    (why,) = advance(None, event_for_button(why_button, 0), now=NOW, profile=profile).replies
    assert "Why:" not in text_of(why)
    assert "What would change this" in text_of(why)


def test_the_check_in_thanks_says_the_score_once() -> None:
    context = {
        "change": "same",
        "exercises": "",
        "exercise_pain": None,
        "morning": "",
        "next_check_in": None,
        "zone": None,
    }
    same = plain("care/checkin_thanks.j2", soreness=6, previous=6, **context)
    assert same.startswith("Noted: 6/10, the same as last time.")
    assert same.count("6/10") == 1
    lower = plain("care/checkin_thanks.j2", soreness=3, previous=5, **context)
    assert lower.startswith("Noted: 3/10, down from 5/10 last time.")
    higher = plain("care/checkin_thanks.j2", soreness=7, previous=5, **context)
    assert higher.startswith("Noted: 7/10, up from 5/10 last time.")
