"""Every template renders, with the contexts the flows really produce, into valid Telegram HTML.

Random walks through the dialog (seeded, so repeatable) press random buttons until an outcome,
collecting every reply on the way; together with the one-off replies they must reach every
template. Each rendered text must parse as Telegram HTML, fit in one message, and every piece
of advice must say it is not a diagnosis.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from jinja2 import Environment, UndefinedError

from bot import progress_chart
from bot.db.progress_store import AssessmentMark, ProgressData, SorenessPoint
from bot.render import environment, render, template_names
from fakebotapi.telegram_html import parse_html
from flows import due_messages, follow_up_schedule
from flows.dialog import (
    AnswerSeenCheck,
    ChooseAnswer,
    ChooseLanguage,
    Command,
    LogExercise,
    Navigate,
    Outcome,
    Resume,
    ShowExercise,
    StartCheckIn,
    TypedText,
    Unreadable,
    advance,
)
from flows.effects import RecordAssessment
from flows.profile import CheckInView, PlanEventView, Profile
from flows.state import DialogState
from flows.types import DONE, CarePath, Reply
from tests.flows.details import tap_details

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TELEGRAM_MESSAGE_LIMIT = 4096
# The replies that say once that they are not a diagnosis: an outcome says it in its own
# message, not again in each detail under it.
ADVICE = {
    "triage/outcome_emergency.j2",
    "triage/outcome_see_clinician.j2",
    "triage/outcome_home_care.j2",
    "triage/about.j2",
}


def random_walk(seed: int) -> list[Reply]:
    """Press random answer buttons (sometimes Back) until the assessment ends."""
    rng = random.Random(seed)
    outcome = advance(None, Command("start" if seed == 0 else "new"), now=NOW)
    replies = list(outcome.replies)
    state = outcome.state
    while not any(isinstance(e, RecordAssessment) for e in outcome.effects):
        question = outcome.replies[-1]
        buttons = [b for row in question.buttons for b in row]
        answers = [b for b in buttons if b.action == "answer"]
        if rng.random() < 0.05 and len(buttons) > len(answers):
            event = Navigate("back", question.version)
        else:
            # Mostly "No" to red flags so walks reach the later questions and all dispositions.
            choice = rng.choice(answers)
            if len(answers) == 3 and answers[1].value == "no" and rng.random() < 0.8:
                choice = answers[1]
            if answers[-1].value == "none" and rng.random() < 0.8:  # the checklist
                choice = answers[-1]
            event = ChooseAnswer(choice.step, choice.value, question.version)
        outcome = advance(state, event, now=NOW)
        state = outcome.state or state
        replies.extend(outcome.replies)
    # Then every detail button under the outcome.
    replies += [r for tapped in tap_details(outcome, now=NOW).values() for r in tapped]
    return replies


def plan_replies(profile) -> list[Reply]:
    """The exercise plan, how-tos, return to running and the data commands."""
    from flows.exercise_library import exercises
    from tests.flows.test_follow_ups import checkin_through

    replies: list[Reply] = []
    top = replace(profile, episode=replace(profile.episode, phase=4), soreness=((NOW, 1),))
    for p in (profile, top, replace(profile, episode=None)):
        for name in ("plan", "exercises", "run", "progress", "summary", "export", "delete"):
            replies += advance(None, Command(name), now=NOW, profile=p).replies
    replies += [
        r
        for e in exercises()
        for r in advance(None, ShowExercise(e.id), now=NOW, profile=profile).replies
    ]
    replies += advance(None, ShowExercise("nope"), now=NOW, profile=profile).replies
    replies += self_test_replies()
    ran = replace(top, plan_events=(PlanEventView(NOW, "readiness", {"ready": True}),))
    for answers in (["1", "settled", "no"], ["4", "settled", "no"], ["7", "worse", "yes"]):
        replies += walk(advance(None, Command("run"), now=NOW, profile=ran), answers, ran)
    done_runs = tuple(
        PlanEventView(NOW, "run", {"step": 4, "pain": 0, "morning_worse": False, "swelling": False})
        for _ in range(2)
    )
    replies += walk(
        advance(
            None,
            Command("run"),
            now=NOW,
            profile=replace(ran, plan_events=ran.plan_events + done_runs),
        ),
        ["0", "settled", "no"],
        ran,
    )
    for answer in ("yes", "no"):
        replies += walk(
            advance(None, Command("delete"), now=NOW, profile=profile), [answer], profile
        )
    ready_answers = {
        **profile.episode.answers,
        "walk": "normal",
        "swell": "none",
        "pain": "2",
        "onset": "gradual",
    }
    yesterday = CheckInView(NOW - timedelta(days=1), 2, "better", True, 2, False)
    good = replace(
        profile,
        soreness=((NOW, 2),),
        episode=replace(profile.episode, phase=3, answers=ready_answers, check_ins=(yesterday,)),
    )
    replies += checkin_through(
        ["better", "none", "normal", "all", "1", "settled"], soreness=2, profile=good
    )
    replies += checkin_through(
        ["worse", "none", "normal", "all", "8", "worse"], soreness=5, profile=good
    )
    # A new sign may have appeared: the re-screen asks each sign the triage's checklist lists.
    replies += checkin_through(
        ["worse", "yes", "normal", "no", "no", "no", "no", "no", "all", "1", "settled"],
        soreness=5,
        profile=good,
    )
    return replies


def self_test_replies() -> list[Reply]:
    """The self-tests, their holds and the hop and run answers, for three paths."""
    from flows.types import CarePath, Phase
    from tests.flows import test_self_tests as st

    replies: list[Reply] = []
    for days, walking_from, tests in ((12, 2, True), (10, 2, False), (4, 9, False)):
        _, profile, said = st.play(st.PROFILE, days, tests=tests, walking_from=walking_from)
        replies += [r for day in said.values() for r in day]
        for name in ("hop", "whenrun", "test", "run"):
            replies += advance(
                None, Command(name), now=st.NOW + 13 * st.DAY, profile=profile
            ).replies
    tendon = replace(
        st.PROFILE,
        episode=replace(st.EPISODE, care_path=CarePath.ACHILLES_MID, answers=st.GRADUAL_ACHILLES),
    )
    bone = replace(
        st.PROFILE,
        episode=replace(st.EPISODE, care_path=CarePath.BONE_STRESS, phase=Phase.PLYOMETRIC),
    )
    for profile in (tendon, bone):
        for name in ("hop", "whenrun", "run"):
            replies += advance(None, Command(name), now=st.NOW + st.DAY, profile=profile).replies
    balance = replace(st.PROFILE, episode=replace(st.EPISODE, phase=Phase.BALANCE))
    weak = {**st.PASSING, st.ReadinessStep.HEEL_SORE: "10", st.ReadinessStep.HEEL_OTHER: "20"}
    answered = (
        (weak, st.NOW),
        ({st.ReadinessStep.MORNING: "worse"}, st.NOW + st.DAY),
        ({st.ReadinessStep.STAND: "no"}, st.NOW + 3 * st.DAY),
        ({st.ReadinessStep.JOG: "not tried"}, st.NOW + 5 * st.DAY),
    )
    profile = balance
    for answers, at in answered:
        profile, said = st.take_test(profile, at, answers)
        replies += said
    profile, said = st.take_test(profile, st.NOW + 5 * st.DAY + st.DAY / 2)
    replies += said
    profile, said = st.take_test(
        profile, st.NOW + 8 * st.DAY, {st.ReadinessStep.MORNING: "not sure"}
    )
    return replies + said


def walk(outcome, answers, profile) -> list[Reply]:
    replies = list(outcome.replies)
    state = outcome.state
    for text in answers:
        outcome = advance(state, TypedText(text), now=NOW, profile=profile)
        state = outcome.state or state
        replies += outcome.replies
    return replies


def one_off_replies() -> list[Reply]:
    start = advance(None, Command("start"), now=NOW)
    state = start.state
    outcomes: list[Outcome] = [
        start,
        advance(state, TypedText("no idea"), now=NOW),
        advance(state, Navigate("back", state.version), now=NOW),
        advance(state, Resume(), now=NOW),
        advance(state, ChooseAnswer("loc", "outside", 99), now=NOW),
        advance(None, ChooseAnswer("loc", "outside", 1), now=NOW),
        advance(state, Command("cancel"), now=NOW),
        advance(None, Command("cancel"), now=NOW),
        advance(None, TypedText("hello"), now=NOW),
        *(advance(state, Command(t), now=NOW) for t in ("help", "about", "later")),
        *language_replies(state),
        *(
            advance(state, Unreadable(k), now=NOW)
            for k in (
                "sticker",
                "photo",
                "voice",
                "media",
                "edited",
                "long_text",
                "unknown_command",
                "button",
                "other",
            )
        ),
    ]
    # The runner's own words: the one-line confirmation, re-asked, and "Change something".
    story = advance(None, TypedText("rolled it yesterday, very swollen, can't walk, 8/10"), now=NOW)
    outcomes += [
        story,
        advance(story.state, TypedText("purple"), now=NOW),
        advance(story.state, ChooseAnswer("story", "no", story.state.version), now=NOW),
    ]
    # A tap on a button of a finished emergency assessment: its advice again.
    emergency = DialogState(
        step=DONE,
        answers={"loc": "outside", "onset": "sudden", "start": "today", "walk": "unable"},
        version=9,
    )
    outcomes.append(advance(emergency, ChooseAnswer("walk", "unable", 8), now=NOW))
    extra = [Reply("triage/group_chat.j2"), Reply("triage/error.j2")]
    return [r for o in outcomes for r in o.replies] + extra + follow_up_replies()


def language_replies(state: DialogState | None) -> list[Outcome]:
    """/language with Telegram's language and with a chosen one, and both kinds of choice."""
    auto = Profile(languages=("en", "de"))
    chosen = Profile(languages=("en", "de"), language="de")
    return [
        advance(state, Command("language"), profile=auto, now=NOW),
        advance(None, Command("language"), profile=chosen, now=NOW),
        advance(state, ChooseLanguage("de"), profile=auto, now=NOW),
        advance(None, ChooseLanguage("auto"), profile=chosen, now=NOW),
    ]


def follow_up_replies() -> list[Reply]:
    """Every follow-up message, through the flows, for a runner in a home-care episode."""
    from tests.flows.test_clearance import clearance_replies
    from tests.flows.test_follow_ups import PROFILE, checkin_through, setup_through
    from tests.flows.test_plan_questions import question_replies
    from tests.flows.test_prevention import prevention_replies

    profile = PROFILE
    replies: list[Reply] = []
    for kind in ("checkin", "seen_check", "reminder"):
        due = due_messages.compose_due(
            kind,
            {
                "episode": follow_up_schedule.episode_key(NOW),
                "n": 1,
                "zone": "UTC",
                "time": "07:00",
            },
            message_id=5,
            due_at=NOW,
            profile=profile,
            now=NOW,
        )
        replies += due.replies
    quiet = replace(profile, unanswered_checkins=2)
    replies += due_messages.compose_due(
        "checkin",
        {"episode": follow_up_schedule.episode_key(NOW), "n": 4},
        message_id=6,
        due_at=NOW,
        profile=quiet,
        now=NOW,
    ).replies
    for typed in (
        ["same", "none", "normal", "all", "3", "settled"],
        ["worse", "none", "normal", "some", "7", "worse"],
        ["better", "none", "normal", "none"],
        ["better", "yes", "can't"],
    ):
        replies += checkin_through(typed)
    history = replace(
        profile.episode,
        check_ins=(CheckInView(NOW, 1, "better"), CheckInView(NOW, 0, "better")),
    )
    replies += checkin_through(
        ["better", "none", "normal", "none"], soreness=1, profile=replace(profile, episode=history)
    )
    replies += setup_through(["o60", "Europe/Paris", "07:30"])
    replies += setup_through(["London", "off"])
    for event in (
        Command("sore", "4"),
        Command("sore"),
        Command("status"),
        Command("pause"),
        Command("resume"),
        Command("stop"),
        Command("reminders"),
        TypedText("3/10"),
        AnswerSeenCheck(5, True),
        AnswerSeenCheck(5, False),
        *(LogExercise(NOW.date(), r) for r in ("done", "skipped", "too_sore")),
        StartCheckIn(77, 3),
    ):
        for p in (profile, replace(profile, soreness=(), episode=None)):
            replies += advance(None, event, now=NOW, profile=p).replies
    start = advance(None, Command("new"), now=NOW)
    replies += advance(start.state, StartCheckIn(5, 3), now=NOW, profile=profile).replies
    replies += plan_replies(profile)
    replies += prevention_replies()
    replies += question_replies()
    replies += clearance_replies()
    replies += advance(
        None,
        StartCheckIn(5, 3),
        now=NOW,
        profile=replace(profile, answered_messages=frozenset({5})),
    ).replies
    return replies


@pytest.fixture(scope="module")
def all_replies() -> list[Reply]:
    replies = one_off_replies()
    for seed in range(400):
        replies.extend(random_walk(seed))
    # A felt pop with tiptoe possible: the blood-thinner question the checklist did not cover.
    outcome = advance(None, Command("new"), now=NOW)
    for text in ("pop", "back", "yes i can", "none", "limp", "sudden", "today", "mild", "yes"):
        outcome = advance(outcome.state, TypedText(text), now=NOW)
        replies.extend(outcome.replies)
    return replies


def text_of(reply: Reply) -> list[str]:
    """A reply's text; one that carries an attachment is rendered with and without data."""
    if reply.attachment == "summary":
        return [render(reply.template, **reply.context, has_assessment=h) for h in (False, True)]
    if reply.attachment != "progress":
        return [render(reply.template, **reply.context)]
    with_data = ProgressData(
        zone="UTC",
        soreness=(SorenessPoint(NOW, 4, "assessment"), SorenessPoint(NOW, 2, "report")),
        assessments=(AssessmentMark(NOW, "HOME_CARE"),),
    )
    return [
        render(
            reply.template,
            **reply.context,
            has_data=progress_chart.has_anything(data),
            summary=progress_chart.summary(data, now=NOW),
        )
        for data in (ProgressData(zone="UTC"), with_data)
    ]


def test_every_template_is_reached_and_renders(all_replies: list[Reply]) -> None:
    rendered = {reply.template for reply in all_replies}
    assert set(template_names()) <= rendered, set(template_names()) - rendered
    for reply in all_replies:
        assert all(text.strip() for text in text_of(reply))


def test_every_reply_is_valid_telegram_html_within_the_message_limit(
    all_replies: list[Reply],
) -> None:
    seen: set[str] = set()
    for reply in all_replies:
        for text in text_of(reply):
            if text in seen:
                continue
            seen.add(text)
            plain, _ = parse_html(text)  # raises on markup Telegram would refuse
            assert len(plain) <= TELEGRAM_MESSAGE_LIMIT, reply.template


def test_every_piece_of_advice_says_it_is_not_a_diagnosis(all_replies: list[Reply]) -> None:
    for reply in all_replies:
        if reply.template in ADVICE:
            assert all("not a diagnosis" in text for text in text_of(reply))


def test_every_outcome_says_why_and_what_would_change_the_advice_once(
    all_replies: list[Reply],
) -> None:
    for reply in all_replies:
        if reply.template == "triage/detail_why.j2":
            (text,) = text_of(reply)
            assert text.startswith("<b>Why:</b>")
            assert text.count("What would change") == 1
        elif reply.template.startswith("triage/outcome_"):
            (text,) = text_of(reply)
            assert "What would change" not in text
            assert text.count("not a diagnosis") == 1


def test_a_missing_context_value_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(UndefinedError):
        render("triage/ask_location.j2")


def test_values_are_escaped_for_telegram_html() -> None:
    """Anything a runner typed is shown as text, never as markup."""
    assert environment().from_string("{{ x }}").render(x="<b>&") == "&lt;b&gt;&amp;"


def test_constant_messages_are_translated_once_and_render_as_gettext_would() -> None:
    """`ConstantMessages` folds `_("...")` at compile time: the result must be what newstyle
    gettext gives at render time (markup kept, %% formatted), and messages with variables
    must still be formatted per render."""
    env = environment()
    source = '{{ _("<b>Sure</b> 100%% & more") }}|{{ _("%(n)s steps", n=count) }}|{{ name }}'
    folded = env.from_string(source).render(count=4, name="<i>")
    assert folded == "<b>Sure</b> 100% & more|4 steps|&lt;i&gt;"
    plain = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    plain.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    assert plain.from_string(source).render(count=4, name="<i>") == folded


@pytest.mark.parametrize("path", list(CarePath))
def test_each_step_back_to_racing_is_its_own_line_on_every_path(path: CarePath) -> None:
    """A step's optional note ends in a block tag, which must not swallow the line break."""
    text = render("plan/q_racing.j2", path=path.value, tendon=True, earliest_race=None, zone="UTC")
    steps = [line[:2] for line in text.splitlines() if re.match(r"^\d\. ", line)]
    assert steps == ["1.", "2.", "3.", "4.", "5.", "6."]
