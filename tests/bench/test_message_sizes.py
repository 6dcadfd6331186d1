"""Every reply of every flow, in every shipped locale, fits a phone (issue 10, item 4): no
message over 1,000 characters, at most 250 words from the last triage answer to the end of a
home-care result, and no jargon or brackets inside brackets (`bench.message_sizes`)."""

from __future__ import annotations

import re

import pytest

from bench import message_sizes
from bot import i18n
from flows.types import Reply

# Words a runner should not have to look up; a technical name may follow the plain words.
JARGON = re.compile(
    r"gastrocnemius|soleus|eversion|inversion|proprioception|plyometric|"
    r"International Ankle Consortium|\bLSI\b|Stop if: Stop if",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def corpus() -> tuple[list, list[Reply]]:
    played = message_sizes.outcomes()
    return played, message_sizes.every_reply(played)


@pytest.mark.parametrize("locale", i18n.shipped_locales())
def test_every_message_fits_the_limits(locale: str, corpus) -> None:
    played, replies = corpus
    figures = message_sizes.measure(locale, replies, played)
    assert figures.longest <= message_sizes.MESSAGE_LIMIT, (
        figures.longest_template,
        figures.longest_text,
    )
    assert 0 < figures.home_care_words <= message_sizes.HOME_CARE_WORDS_LIMIT


def nested_brackets(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
            if depth > 1:
                return True
        elif ch == ")":
            depth = max(depth - 1, 0)
    return False


def test_no_message_has_jargon_or_brackets_inside_brackets(corpus) -> None:
    _played, replies = corpus
    found = set()
    for reply in replies:
        for text in message_sizes.plain_texts(reply, i18n.SOURCE_LOCALE):
            if JARGON.search(text) or nested_brackets(text):
                found.add((reply.template, (JARGON.search(text) or [text[:80]])[0]))
    assert found == set()


def test_the_checks_find_what_they_look_for() -> None:
    assert nested_brackets("a (b (c) d)") and not nested_brackets("a (b) (c)")
    assert JARGON.search("Loads the soleus")
