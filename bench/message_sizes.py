"""Message sizes: the longest message any flow sends, and how many words a home-care result
costs the runner, in every shipped locale.

Every reply of every flow is collected the way the template tests collect them (seeded random
walks through the triage by its buttons, to every disposition and care path, then every
detail button of each outcome; check-ins, escalations, reminders, plans, self-tests, runs,
the balance programme and the commands, `tests.bot.test_render`), and each is rendered in each
locale of `bot.i18n.shipped_locales()` and measured as Telegram counts it (the text without its
markup). "Words to a home-care result" are the words of every message the bot sends between
the runner's last triage answer and the end of a home-care result, before any detail is
tapped. Run it with `.venv/bin/python -m bench.message_sizes`; `tests/bench/test_message_sizes.py`
holds every locale to the limits below.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from bot import i18n, progress_chart
from bot.db.progress_store import AssessmentMark, ProgressData, SorenessPoint
from bot.render import render
from fakebotapi.telegram_html import parse_html
from flows.advice import DETAILS
from flows.dialog import ChooseAnswer, Command, advance
from flows.effects import OpenEpisode, Outcome, RecordAssessment
from flows.outcome_details import detail_replies
from flows.profile import EpisodeView, Profile
from flows.types import ButtonAction, Disposition, EpisodeStatus, Reply

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
# The limits issue 10 sets: no message over 1,000 characters, and at most 250 words reach the
# runner by default between the last answer and the end of a home-care result.
MESSAGE_LIMIT = 1000
HOME_CARE_WORDS_LIMIT = 250
WALKS = 300


@dataclass(frozen=True)
class Figures:
    locale: str
    messages: int  # distinct rendered messages measured
    longest: int  # characters, as Telegram counts them
    longest_template: str
    longest_text: str
    home_care_words: int  # the most, over every home-care result played
    home_care_template: str  # the outcome template of that result


def walk(seed: int) -> Outcome:
    """Press answer buttons at random (mostly "No" to a red flag) until the assessment ends;
    the outcome of the last answer."""
    rng = random.Random(seed)
    outcome = advance(None, Command("new"), now=NOW)
    state = outcome.state
    while not any(isinstance(e, RecordAssessment) for e in outcome.effects):
        question = outcome.replies[-1]
        answers = [b for row in question.buttons for b in row if b.action == ButtonAction.ANSWER]
        choice = rng.choice(answers)
        if len(answers) == 3 and answers[1].value == "no" and rng.random() < 0.85:
            choice = answers[1]
        outcome = advance(state, ChooseAnswer(choice.step, choice.value, question.version), now=NOW)
        state = outcome.state or state
    return outcome


def profile_after(outcome: Outcome) -> Profile:
    """The runner as loaded after an assessment's effects were applied."""
    assessment = next(e for e in outcome.effects if isinstance(e, RecordAssessment))
    opened = next(e for e in outcome.effects if isinstance(e, OpenEpisode))
    episode = EpisodeView(
        assessed_at=opened.assessed_at,
        disposition=opened.disposition,
        location=opened.location,
        care_path=opened.care_path,
        pain_at_assessment=opened.pain_at_assessment,
        phase=opened.phase,
        status=EpisodeStatus.ACTIVE,
        reasons=assessment.decision.reasons,
        answers=assessment.answers,
    )
    return Profile(runner_id=1, episode=episode, soreness=((NOW, opened.pain_at_assessment),))


def outcomes() -> list[tuple[Outcome, list[Reply]]]:
    """Each played assessment's final outcome, with every detail its buttons open."""
    played = []
    for seed in range(WALKS):
        outcome = walk(seed)
        profile = profile_after(outcome)
        assert profile.episode is not None
        details = [
            reply
            for detail in DETAILS[profile.episode.disposition]
            for reply in detail_replies(detail, profile.episode, profile, now=NOW)
        ]
        played.append((outcome, details))
    return played


def every_reply(played: list[tuple[Outcome, list[Reply]]]) -> list[Reply]:
    """Every reply of every flow (see the module doc), with the `played` assessments'."""
    from tests.bot.test_render import one_off_replies

    replies = list(one_off_replies())
    for outcome, details in played:
        replies += [*outcome.replies, *details]
    return replies


def plain_texts(reply: Reply, locale: str) -> list[str]:
    """A reply as the runner reads it in `locale`: a summary or chart reply with and without
    data, as `tests.bot.test_render.text_of` renders them."""
    contexts: list[dict[str, object]] = [{}]
    if reply.attachment == "summary":
        contexts = [{"has_assessment": h} for h in (False, True)]
    elif reply.attachment == "progress":
        with_data = ProgressData(
            zone="UTC",
            soreness=(SorenessPoint(NOW, 4, "assessment"), SorenessPoint(NOW, 2, "report")),
            assessments=(AssessmentMark(NOW, "HOME_CARE"),),
        )
        contexts = [
            {
                "has_data": progress_chart.has_anything(data),
                "summary": progress_chart.summary(data, now=NOW),
            }
            for data in (ProgressData(zone="UTC"), with_data)
        ]
    return [
        parse_html(render(reply.template, locale=locale, **reply.context, **extra))[0]
        for extra in contexts
    ]


def words(text: str) -> int:
    return len(text.split())


def measure(
    locale: str, replies: list[Reply], played: list[tuple[Outcome, list[Reply]]]
) -> Figures:
    longest, longest_template, longest_text, seen = 0, "", "", set()
    for reply in replies:
        for text in plain_texts(reply, locale):
            if text in seen:
                continue
            seen.add(text)
            if len(text) > longest:
                longest, longest_template, longest_text = len(text), reply.template, text
    most, most_template = 0, ""
    for outcome, _details in played:
        assessment = next(e for e in outcome.effects if isinstance(e, RecordAssessment))
        if assessment.decision.disposition is not Disposition.HOME_CARE:
            continue
        count = sum(words(t) for r in outcome.replies for t in plain_texts(r, locale))
        if count > most:
            most, most_template = count, outcome.replies[0].template
    return Figures(locale, len(seen), longest, longest_template, longest_text, most, most_template)


def figures() -> list[Figures]:
    played = outcomes()
    replies = every_reply(played)
    return [measure(locale, replies, played) for locale in i18n.shipped_locales()]


def main() -> int:
    for f in figures():
        print(
            f"{f.locale}: {f.messages} distinct messages; longest {f.longest} characters "
            f"({f.longest_template}); at most {f.home_care_words} words from the last answer "
            f"to the end of a home-care result"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
