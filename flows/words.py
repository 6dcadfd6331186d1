"""Marks the English words the flows hand to the runner (button labels, typed-answer aliases,
command descriptions, reason wording) as message ids for the catalogues.

`N_` changes nothing at run time: the flows stay pure and return English message ids; the
adapter translates them into the runner's language when it renders a reply. Babel's extractor
finds every `N_("...")` call and puts its text in the catalogue template.
"""

from __future__ import annotations


def N_(message_id: str) -> str:
    """Mark `message_id` for translation; it is translated when rendered, not here."""
    return message_id
