"""Every dialog the bot has, in one place: importing this module registers each flow.

A stored conversation names its flow; `flows.flow.FLOWS` finds it by that name once the flow's
module is imported, which this module does for all of them.
"""

from __future__ import annotations

from flows import (
    checkin,
    delete,
    readiness,
    reminders,
    run_log,
    soreness,
    story_confirm,
    triage,
)
from flows.flow import FLOWS, Flow
from flows.questions import Question

ALL: tuple[Flow, ...] = (
    triage.FLOW,
    checkin.FLOW,
    soreness.FLOW,
    reminders.FLOW,
    readiness.FLOW,
    run_log.FLOW,
    delete.FLOW,
    story_confirm.FLOW,
)
assert set(FLOWS.values()) == set(ALL), "a flow is missing from flows.registry.ALL"
# Every question of every flow, by step id (ids are unique across flows: buttons carry them bare).
QUESTIONS: dict[str, Question] = {
    step: question for flow in ALL for step, question in flow.questions.items()
}
