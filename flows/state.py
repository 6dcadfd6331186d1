"""Where a runner's conversation stands between two messages: the flow it is in, its step, the
answers so far and a version (stored as the `conversations` row, restored for every event)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from flows.types import DONE, FlowName


@dataclass(frozen=True, slots=True)
class DialogState:
    """Where a runner is: the flow and step, answers so far, steps asked before, and a version.

    `version` increases with every stored change; buttons carry it, so a button from an earlier
    question (or a double tap) is recognised as stale and changes nothing. `flow` comes last,
    with a default, because the flows build states positionally.
    """

    step: str
    answers: Mapping[str, str] = field(default_factory=dict)
    history: tuple[str, ...] = ()
    version: int = 0
    started_at: datetime | None = None
    # The dialog this conversation is in (its steps are that flow's step enum, or DONE).
    flow: FlowName = FlowName.TRIAGE

    @property
    def active(self) -> bool:
        return self.step != DONE
