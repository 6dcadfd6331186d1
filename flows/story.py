"""Reads a runner's first message, in their own words, for the facts the triage would ask.

"Rolled my ankle on a trail yesterday, outside is swollen, I can walk but limp, about 4/10"
says where it hurts, how and when it started, how it walks and how much it hurts. `read_story`
finds those facts with word lists and a few rules (no model): where (`Location`), how it
started (`Onset`), when (`Started`), swelling, walking (`WeightBearing`) and pain, returned as
the triage's own answer keys and values, and nothing for what it did not find. It never reads
a warning sign: the emergency questions are always asked. A phrase right after a negation ("not
swollen", "didn't roll it") does not count. Where a fact is graded (swelling, walking, pain)
and the story says two things, the worse one is kept, so a "can't walk" is never lost; where
it is not graded (where, how, when) two different readings leave the fact out, to be asked.
Every word list is marked `N_()`, and the runner's translations count as well as the English.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from flows.questions import (
    DAYS_PER_UNIT,
    NUMBER_WORDS,
    OUT_OF,
    Translate,
    duration_in_days,
    untranslated,
)
from flows.triage import TriageStep, started_days_ago
from flows.types import PAIN_MAX, PAIN_MIN, Location, Onset, Started, Swelling, WeightBearing
from flows.words import N_

# The only triage answers a story may settle: never a warning sign.
STORY_STEPS = (
    TriageStep.LOCATION,
    TriageStep.ONSET,
    TriageStep.STARTED,
    TriageStep.SWELLING,
    TriageStep.WEIGHT_BEARING,
    TriageStep.PAIN,
)

# --- word lists: each value and the phrases that mean it (None: looks like one, is not) --------

LOCATION_WORDS: tuple[tuple[Location | None, tuple[str, ...]], ...] = (
    (
        Location.OUTSIDE,
        (
            N_("outside"),
            N_("outer"),
            N_("lateral"),
            N_("outside of the ankle"),
            N_("outside of my ankle"),
            N_("outer ankle"),
            N_("outer side"),
            N_("outside ankle"),
        ),
    ),
    (
        Location.INSIDE,
        (
            N_("inside"),
            N_("inner"),
            N_("medial"),
            N_("inside of the ankle"),
            N_("inside of my ankle"),
            N_("inner ankle"),
            N_("inner side"),
            N_("inside ankle"),
        ),
    ),
    (
        Location.BACK,
        (
            N_("achilles"),
            N_("achilles tendon"),
            N_("back of the ankle"),
            N_("back of my ankle"),
            N_("back of the heel"),
            N_("back of my heel"),
            N_("behind the ankle"),
            N_("behind my ankle"),
            N_("at the back"),
            N_("heel cord"),
            N_("calf"),
        ),
    ),
    (
        Location.FRONT,
        (
            N_("front of the ankle"),
            N_("front of my ankle"),
            N_("at the front"),
            N_("on the front"),
            N_("top of the foot"),
            N_("top of my foot"),
            N_("anterior"),
        ),
    ),
    (
        Location.HEEL,
        (
            N_("heel"),
            N_("sole"),
            N_("arch"),
            N_("plantar"),
            N_("bottom of the foot"),
            N_("bottom of my foot"),
            N_("under the foot"),
            N_("under my foot"),
        ),
    ),
    (Location.ALL_OVER, (N_("all over"), N_("everywhere"), N_("whole ankle"), N_("whole foot"))),
    (
        None,
        (
            N_("running outside"),
            N_("ran outside"),
            N_("run outside"),
            N_("went outside"),
            N_("was outside"),
            N_("running inside"),
            N_("ran inside"),
            N_("inside out"),
            N_("in front of"),
            N_("heel strike"),
            N_("high heels"),
        ),
    ),
)

ONSET_WORDS: tuple[tuple[Onset | None, tuple[str, ...]], ...] = (
    (
        Onset.SUDDEN,
        (
            N_("rolled"),
            N_("roll"),
            N_("rolling"),
            N_("twisted"),
            N_("twist"),
            N_("twisting"),
            N_("sprained"),
            N_("sprain"),
            N_("landed"),
            N_("landing"),
            N_("fell"),
            N_("fall"),
            N_("tripped"),
            N_("slipped"),
            N_("stumbled"),
            N_("went over"),
            N_("turned my ankle"),
            N_("turned it"),
            N_("went over on it"),
            N_("stepped on"),
            N_("stepped in"),
            N_("stepped off"),
            N_("popped"),
            N_("a pop"),
            N_("snapped"),
            N_("kicked"),
            N_("suddenly"),
            N_("sudden"),
        ),
    ),
    (
        Onset.GRADUAL,
        (
            N_("gradual"),
            N_("gradually"),
            N_("slowly"),
            N_("over time"),
            N_("over weeks"),
            N_("over the weeks"),
            N_("over a few weeks"),
            N_("built up"),
            N_("building up"),
            N_("build up"),
            N_("crept up"),
            N_("creeping up"),
            N_("came on slowly"),
            N_("after long runs"),
            N_("after my long runs"),
            N_("after every run"),
            N_("overuse"),
            N_("no injury"),
            N_("no specific injury"),
            N_("nothing happened"),
            N_("niggle"),
            N_("niggling"),
            N_("more and more"),
        ),
    ),
)

STARTED_WORDS: tuple[tuple[Started | None, tuple[str, ...]], ...] = (
    (
        Started.TODAY,
        (
            N_("today"),
            N_("this morning"),
            N_("this afternoon"),
            N_("this evening"),
            N_("tonight"),
            N_("just now"),
            N_("an hour ago"),
            N_("hours ago"),
        ),
    ),
    (
        Started.DAYS_1_2,
        (N_("yesterday"), N_("last night"), N_("the day before yesterday")),
    ),
    (Started.DAYS_5_10, (N_("last week"), N_("a week ago"))),
    (
        Started.DAYS_11_42,
        (N_("a few weeks"), N_("couple of weeks"), N_("for weeks"), N_("last month")),
    ),
    (
        Started.OVER_6_WEEKS,
        (
            N_("for months"),
            N_("months ago"),
            N_("a few months"),
            N_("several months"),
            N_("last year"),
            N_("for ages"),
            N_("a long time"),
        ),
    ),
)

SWELLING_WORDS: tuple[tuple[Swelling | None, tuple[str, ...]], ...] = (
    (
        Swelling.NONE,
        (
            N_("not swollen"),
            N_("no swelling"),
            N_("isn't swollen"),
            N_("wasn't swollen"),
            N_("not really swollen"),
            N_("without swelling"),
            N_("not puffy"),
        ),
    ),
    (
        Swelling.MILD,
        (
            N_("a little swollen"),
            N_("slightly swollen"),
            N_("a bit swollen"),
            N_("bit swollen"),
            N_("mildly swollen"),
            N_("some swelling"),
            N_("a little swelling"),
            N_("a bit of swelling"),
            N_("slight swelling"),
            N_("mild swelling"),
            N_("puffy"),
        ),
    ),
    (
        Swelling.MARKED,
        (
            N_("very swollen"),
            N_("really swollen"),
            N_("badly swollen"),
            N_("so swollen"),
            N_("massively swollen"),
            N_("hugely swollen"),
            N_("extremely swollen"),
            N_("a lot of swelling"),
            N_("lots of swelling"),
            N_("massive swelling"),
            N_("huge swelling"),
            N_("severe swelling"),
            N_("like a balloon"),
            N_("ballooned"),
            N_("very puffy"),
        ),
    ),
)

WALKING_WORDS: tuple[tuple[WeightBearing | None, tuple[str, ...]], ...] = (
    (
        WeightBearing.NORMAL,
        (
            N_("walk normally"),
            N_("walking normally"),
            N_("walk fine"),
            N_("walking fine"),
            N_("walking is fine"),
            N_("walking ok"),
            N_("walk without pain"),
            N_("walking without pain"),
            N_("no limp"),
            N_("not limping"),
            N_("without a limp"),
            N_("without limping"),
        ),
    ),
    (
        WeightBearing.PAINFUL,
        (
            N_("limp"),
            N_("limping"),
            N_("limps"),
            N_("hobbling"),
            N_("hobble"),
            N_("hurts to walk"),
            N_("hurts when i walk"),
            N_("painful to walk"),
            N_("sore to walk"),
            N_("walking hurts"),
            N_("walking is painful"),
            N_("can walk but"),
            N_("can't walk without limping"),
            N_("can't walk without a limp"),
            N_("can't walk without pain"),
        ),
    ),
    (
        WeightBearing.UNABLE,
        (
            N_("can't walk"),
            N_("cannot walk"),
            N_("cant walk"),
            N_("couldn't walk"),
            N_("unable to walk"),
            N_("not able to walk"),
            N_("can't put weight"),
            N_("cannot put weight"),
            N_("can't put any weight"),
            N_("can't bear weight"),
            N_("cannot bear weight"),
            N_("unable to bear weight"),
            N_("unable to put weight"),
            N_("can't stand on it"),
            N_("cannot stand on it"),
            N_("can't take 4 steps"),
            N_("can't take a step"),
        ),
    ),
)
# A word after "can't walk" that makes it "not well" rather than "not at all" ("can't walk
# properly"): then walking is left to its own question, which asks for the 4-step test.
NOT_QUITE = (
    N_("properly"),
    N_("normally"),
    N_("well"),
    N_("far"),
    N_("fast"),
    N_("much"),
    N_("without"),
    N_("very"),
    N_("straight"),
    N_("long"),
    N_("right"),
)

# A phrase right after one of these (or after one and a softener: "didn't really roll it")
# does not count.
NEGATIONS = (
    N_("not"),
    N_("no"),
    N_("never"),
    N_("without"),
    N_("isn't"),
    N_("wasn't"),
    N_("didn't"),
    N_("don't"),
    N_("doesn't"),
    N_("haven't"),
    N_("hasn't"),
    N_("can't"),
    N_("cannot"),
    N_("nor"),
)
SOFTENERS = (N_("really"), N_("very"), N_("too"), N_("that"), N_("even"), N_("so"))
# Words that end what a negation or a pain word reaches ("not swollen but limping").
BOUNDARIES = (
    N_("but"),
    N_("and"),
    N_("though"),
    N_("although"),
    N_("however"),
    N_("yet"),
    N_("now"),
    N_("then"),
)

# Pain: "4/10", "4 out of 10", "pain 4", "pain is about 4", "about 4" at the end of a phrase.
PAIN_WORDS = (N_("pain"), N_("painful"), N_("hurts"), N_("sore"), N_("soreness"))
ABOUT = (N_("about"), N_("around"), N_("roughly"), N_("maybe"))
# "ran about 10" is a distance: "about N" after these is not a pain score.
NOT_PAIN_BEFORE_ABOUT = (N_("ran"), N_("run"), N_("running"), N_("for"), N_("after"), N_("did"))
# A number followed by one of these (or by a unit of time) is not a pain score.
OTHER_UNITS = (
    N_("km"),
    N_("k"),
    N_("kilometres"),
    N_("miles"),
    N_("mile"),
    N_("mi"),
    N_("minutes"),
    N_("min"),
    N_("hours"),
    N_("hour"),
    N_("times"),
    N_("steps"),
    N_("x"),
)

# When: a span of time counts after "for"/"since"/... or before "ago" ("3 weeks ago", "for 3
# weeks"), and not before "a week" ("3 days a week" is how often).
SINCE = (
    N_("for"),
    N_("since"),
    N_("been"),
    N_("last"),
    N_("past"),
    N_("over"),
    N_("more"),
    N_("started"),
    N_("began"),
)
AGO = (N_("ago"), N_("now"))
HOW_OFTEN = (N_("a"), N_("per"), N_("each"), N_("every"))

# --- reading ---------------------------------------------------------------------------------

# A number, a word (with its apostrophes: "can't"), or one mark of punctuation.
_TOKEN = re.compile(r"\d+|[^\W\d_]+(?:'[^\W\d_]+)*|[^\w\s]")
# Marks that join rather than end ("4/10", "pain: 4", "4-5/10").
_JOINING = frozenset({"/", "-", ":", "="})
# Words in a span of time that duration_in_days reads ("a couple of", "more than", "last").
_LONGEST_SPAN = 5


@dataclass(frozen=True)
class _Tables:
    """The word lists as token tuples, in English and in the runner's language."""

    numbers: Mapping[str, str]
    phrases: Mapping[str, tuple[tuple[tuple[str, ...], str | None], ...]]
    words: Mapping[str, frozenset[str]]


def _spoken(words: tuple[str, ...], translate: Translate) -> set[str]:
    return {w for word in words for w in (word, translate(word))}


@lru_cache(maxsize=16)
def _tables(translate: Translate) -> _Tables:
    numbers: dict[str, str] = {}
    for value, word in enumerate(NUMBER_WORDS):
        numbers[word] = numbers[_lower(translate(word))] = str(value)

    def tokens(text: str) -> tuple[str, ...]:
        return tuple(numbers.get(t, t) for t in _TOKEN.findall(_lower(text)))

    def table(lists) -> tuple[tuple[tuple[str, ...], str | None], ...]:
        found = {
            (tokens(phrase), None if value is None else str(value))
            for value, phrases in lists
            for phrase in _spoken(phrases, translate)
        }
        # Longest first: "no limp" is read before "limp", "back of the heel" before "heel".
        return tuple(
            sorted((f for f in found if f[0]), key=lambda f: (-len(f[0]), f[0], f[1] or ""))
        )

    phrases = {
        TriageStep.LOCATION: table(LOCATION_WORDS),
        TriageStep.ONSET: table(ONSET_WORDS),
        TriageStep.STARTED: table(STARTED_WORDS),
        TriageStep.SWELLING: table(SWELLING_WORDS),
        TriageStep.WEIGHT_BEARING: table(WALKING_WORDS),
    }
    word_lists = {
        "not_quite": NOT_QUITE,
        "negations": NEGATIONS,
        "softeners": SOFTENERS,
        "boundaries": BOUNDARIES,
        "pain": PAIN_WORDS,
        "about": ABOUT,
        "not_pain": NOT_PAIN_BEFORE_ABOUT,
        "units": (*OTHER_UNITS, *DAYS_PER_UNIT),
        "days": tuple(DAYS_PER_UNIT),
        "since": SINCE,
        "ago": AGO,
        "how_often": HOW_OFTEN,
    }
    words = {
        name: frozenset(t for w in _spoken(ws, translate) for t in tokens(w))
        for name, ws in word_lists.items()
    }
    out_of = tuple(sorted({tokens(w) for w in _spoken(OUT_OF, translate)}, key=len))[::-1]
    phrases["out_of"] = tuple((t, None) for t in out_of)
    return _Tables(numbers, phrases, words)


def _lower(text: str) -> str:
    return text.lower().replace("’", "'").replace("`", "'")


def read_story(text: str, translate: Translate = untranslated) -> dict[str, str]:
    """The triage answers the runner's own words settle: step id -> stored value, only for what
    was found (see the module doc); an empty dict when nothing was."""
    tables = _tables(translate)
    tokens = [tables.numbers.get(t, t) for t in _TOKEN.findall(_lower(text))]
    reader = _Reader(tokens, tables, translate)
    facts: dict[str, str] = {}
    for step, graded in (
        (TriageStep.LOCATION, None),
        (TriageStep.ONSET, None),
        (TriageStep.SWELLING, tuple(Swelling)),
        (TriageStep.WEIGHT_BEARING, tuple(WeightBearing)),
    ):
        found = reader.values(step)
        value = _one(found, graded)
        if value is not None:
            facts[str(step)] = value
    started = _one(reader.values(TriageStep.STARTED) | reader.spans_of_time(), None)
    if started is not None:
        facts[str(TriageStep.STARTED)] = started
    pains = reader.pain_scores()
    if pains:
        facts[str(TriageStep.PAIN)] = str(max(pains))
    return facts


def _one(found: set[str], graded: tuple[str, ...] | None) -> str | None:
    """One value from those found: the only one, or for a graded fact the worst."""
    if len(found) == 1:
        return next(iter(found))
    if found and graded is not None:
        return max(found, key=graded.index)
    return None


class _Reader:
    """One message's tokens and the rules that read them."""

    def __init__(self, tokens: list[str], tables: _Tables, translate: Translate) -> None:
        self.tokens = tokens
        self.tables = tables
        self.translate = translate
        self.w = tables.words

    def _boundary(self, at: int) -> bool:
        token = self.tokens[at]
        return token in self.w["boundaries"] or (
            not token[0].isalnum() and token not in _JOINING and token != "'"
        )

    def _negated(self, at: int) -> bool:
        """Whether the phrase starting at `at` follows a negation (maybe with a softener)."""
        before = at - 1
        if before >= 0 and self.tokens[before] in self.w["softeners"]:
            before -= 1
        return before >= 0 and self.tokens[before] in self.w["negations"]

    def values(self, step: str) -> set[str]:
        """The values whose phrases occur, longest phrase first, each token read once."""
        used = [False] * len(self.tokens)
        found: set[str] = set()
        for phrase, value in self.tables.phrases[step]:
            n = len(phrase)
            for at in range(len(self.tokens) - n + 1):
                if tuple(self.tokens[at : at + n]) != phrase or any(used[at : at + n]):
                    continue
                used[at : at + n] = [True] * n
                if value is None or self._negated(at):
                    continue
                after = self.tokens[at + n] if at + n < len(self.tokens) else ""
                if value == WeightBearing.UNABLE and after in self.w["not_quite"]:
                    continue
                found.add(value)
        return found

    def spans_of_time(self) -> set[str]:
        """`Started` values of spans such as "3 weeks ago", "for a couple of days", "more than
        6 weeks" (read by flows.questions.duration_in_days)."""
        found: set[str] = set()
        for end, token in enumerate(self.tokens):
            if token not in self.w["days"]:
                continue
            after = self.tokens[end + 1] if end + 1 < len(self.tokens) else ""
            if after in self.w["how_often"]:
                continue
            for start in range(max(0, end - _LONGEST_SPAN + 1), end + 1):
                span = self.tokens[start : end + 1]
                if any(self._boundary(i) for i in range(start, end + 1)):
                    continue
                days = duration_in_days(" ".join(span), self.translate)
                if days is None:
                    continue
                before = self.tokens[start - 1] if start > 0 else ""
                cued = after in self.w["ago"] or any(t in self.w["since"] for t in (before, *span))
                if cued:
                    found.add(started_days_ago(days).value)
                break
        return found

    def pain_scores(self) -> set[int]:
        """0-10 scores: "4/10", "4 out of 10", "4-5/10" (the higher), "pain is about 4",
        "about 4" at the end of a phrase."""
        t = self.tokens
        scores: set[int] = set()

        def number(at: int) -> int | None:
            if 0 <= at < len(t) and t[at].isdecimal() and PAIN_MIN <= int(t[at]) <= PAIN_MAX:
                return int(t[at])
            return None

        def out_of_ten(at: int) -> bool:
            if at < len(t) and t[at] == "/":
                return at + 1 < len(t) and t[at + 1] == "10"
            for phrase, _ in self.tables.phrases["out_of"]:
                n = len(phrase)
                if tuple(t[at : at + n]) == phrase:
                    return at + n < len(t) and t[at + n] == "10"
            return False

        def ends_there(at: int) -> bool:
            """Nothing after the number at `at` makes it a distance, a time or a count."""
            after = t[at + 1] if at + 1 < len(t) else ""
            decimal = after == "." and at + 2 < len(t) and t[at + 2].isdecimal()
            return after not in self.w["units"] and after != "/" and not decimal

        for at in range(len(t)):
            value = number(at)
            if value is None or self._is_scale_end(at):
                continue
            if out_of_ten(at + 1):
                scores.add(value)
                # "4-5/10": the lower number of a range counts too; the higher one is kept.
                if at >= 2 and t[at - 1] == "-" and number(at - 2) is not None:
                    scores.add(number(at - 2))  # type: ignore[arg-type]
                continue
            if at + 2 < len(t) and t[at + 1] == "-" and number(at + 2) is not None:
                continue  # the first of "4-5/10", read at its second number
            if not ends_there(at):
                continue
            if self._after_pain_word(at):
                scores.add(value)
            elif at >= 1 and t[at - 1] in self.w["about"]:
                before = t[at - 2] if at >= 2 else ""
                following = t[at + 1] if at + 1 < len(t) else ""
                at_the_end = not following or self._boundary(at + 1)
                if at_the_end and before not in self.w["not_pain"]:
                    scores.add(value)
        return scores

    def _is_scale_end(self, at: int) -> bool:
        """Whether the number at `at` is the 10 of "4/10" or "4 out of 10"."""
        if self.tokens[at] != "10":
            return False
        if at >= 1 and self.tokens[at - 1] == "/":
            return True
        for phrase, _ in self.tables.phrases["out_of"]:
            n = len(phrase)
            if at >= n and tuple(self.tokens[at - n : at]) == phrase:
                return True
        return False

    def _after_pain_word(self, at: int) -> bool:
        """A pain word at most 3 tokens before `at`, with no boundary between."""
        for back in range(at - 1, max(-1, at - 4), -1):
            if self.tokens[back] in self.w["pain"]:
                return True
            if self._boundary(back) and self.tokens[back] not in _JOINING:
                return False
        return False
