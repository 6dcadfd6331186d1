"""/language: the runner picks the language the bot writes in, or goes back to Telegram's.

The bot starts in the language Telegram reports for the runner (`language_code`). /language
shows every shipped language as a button, each named in its own language so a runner finds
theirs whatever they read now, plus "Automatic" to follow Telegram again. The choice is a
setting (`ChangeSettings`); the adapter writes every reply after it in the chosen language,
including the confirmation and the question the runner was in the middle of.
"""

from __future__ import annotations

from datetime import datetime

from flows.effects import ChangeSettings, Outcome
from flows.flow import with_current_question
from flows.profile import Profile
from flows.replies import info
from flows.state import DialogState
from flows.types import Button, ButtonAction, Reply
from flows.words import N_

# The button value that clears the runner's choice: Telegram's language counts again.
AUTOMATIC = "auto"
AUTOMATIC_LABEL = N_("Automatic")
# Each language in its own words: the same in every language, so not in the catalogue. A
# shipped locale missing here is shown by its code.
NAMES = {"en": "English", "de": "Deutsch", "es": "Español"}
# The current choice, ticked.
CHOSEN_LABEL = N_("✓ %(name)s")
PER_ROW = 2


def name_of(locale: str) -> str:
    return NAMES.get(locale, locale)


def show(profile: Profile) -> Outcome:
    """The language buttons, the runner's current choice ticked. They are the last message
    (the question under way comes back once a language is chosen), so that the terminal
    chat's numbered choices are theirs."""
    choices = [*profile.languages, AUTOMATIC]
    chosen = profile.language if profile.language in profile.languages else AUTOMATIC
    buttons = []
    for value in choices:
        label = AUTOMATIC_LABEL if value == AUTOMATIC else name_of(value)
        if value == chosen:
            button = Button(CHOSEN_LABEL, ButtonAction.LANGUAGE, "", value, (("name", label),))
        else:
            button = Button(label, ButtonAction.LANGUAGE, "", value)
        buttons.append(button)
    rows = tuple(tuple(buttons[i : i + PER_ROW]) for i in range(0, len(buttons), PER_ROW))
    return Outcome(
        replies=(Reply("care/language.j2", {"automatic": chosen == AUTOMATIC}, buttons=rows),)
    )


def from_argument(profile: Profile, argument: str) -> str | None:
    """The choice typed after the command (`/language de`, `/language Deutsch`, `/language
    auto`), or None when it names no shipped language."""
    wanted = argument.strip().lower()
    for value in (*profile.languages, AUTOMATIC):
        if wanted in {value.lower(), name_of(value).lower()}:
            return value
    return None


def command(state: DialogState | None, profile: Profile, argument: str, now: datetime) -> Outcome:
    """`/language`: the buttons; `/language de`: that choice at once."""
    chosen = from_argument(profile, argument) if argument else None
    if chosen is None:
        return show(profile)
    return choose(state, profile, chosen, now=now)


def choose(state: DialogState | None, profile: Profile, value: str, *, now: datetime) -> Outcome:
    """Store the runner's choice; a language the bot does not ship is an unreadable button."""
    if value != AUTOMATIC and value not in profile.languages:
        return with_current_question(state, info("triage/unreadable.j2", kind="button"), now=now)
    locale = None if value == AUTOMATIC else value
    done = with_current_question(
        state, info("care/language_set.j2", automatic=locale is None), now=now
    )
    return Outcome(
        state=done.state,
        replies=done.replies,
        effects=(ChangeSettings({"chosen_locale": locale}),),
    )
