"""Every dialog the bot has, in one place: importing this module registers each flow.

A stored conversation names its flow; `flows.flow.FLOWS` finds it by that name once the flow's
module is imported, which this module does for all of them.
"""

from __future__ import annotations

from flows import checkin, delete, readiness, reminders, run_log, soreness, triage
from flows.flow import FLOWS, Flow

ALL: tuple[Flow, ...] = (
    triage.FLOW,
    checkin.FLOW,
    soreness.FLOW,
    reminders.FLOW,
    readiness.FLOW,
    run_log.FLOW,
    delete.FLOW,
)
assert set(FLOWS.values()) == set(ALL), "a flow is missing from flows.registry.ALL"
