"""Runner scripts the tests share, worked out from the flows rather than counted by hand.

How many red-flag questions a path asks depends on the routes table; a test that spelled the
count out would break whenever a question is added. `nos_to_the_end` plays the answers given
and then "no" until the triage ends, and says how many "no" answers that took.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flows.dialog import advance
from flows.events import Command, TypedText
from flows.types import DONE

_NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
_ENOUGH = 100


def nos_to_the_end(*answers: str) -> int:
    """How many "no" answers follow `answers` (typed, in order) until the triage ends."""
    state = advance(None, Command("new"), now=_NOW).state
    for text in answers:
        state = advance(state, TypedText(text), now=_NOW).state or state
        assert state.step != DONE, f"the triage ended at {text!r}"
    for count in range(1, _ENOUGH):
        state = advance(state, TypedText("no"), now=_NOW).state or state
        if state.step == DONE:
            return count
    raise AssertionError("the triage did not end on 'no' answers")


# A sudden outside sprain, walking with a limp, pain 4: home care when every sign is "no"
# (the first answer is the checklist's "None of these").
SPRAIN = ("none", "limp", "outside", "sudden", "1-2 days ago", "mild", "4")
SPRAIN_NOS = nos_to_the_end(*SPRAIN)
# A gradual mid-portion Achilles problem of months, the same, walking normally, pain 3: S5 (not
# improving).
GRADUAL = (
    "none",
    "normal",
    "back",
    "gradual",
    "cord",
    "more than 6 weeks ago",
    "same",
    "none",
    "3",
)
GRADUAL_NOS = nos_to_the_end(*GRADUAL)
