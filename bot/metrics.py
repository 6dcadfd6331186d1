"""What an operator counts: the Prometheus metrics of one bot process, in one registry.

The inbox and outbox code makes tiny calls here (`UPDATES_RECEIVED.inc()` and so on); the
webhook server's `/metrics` writes the registry in Prometheus text format, after setting the
gauges that are read from the database at scrape time (inbox lag, due backlog). A registry of
its own, rather than prometheus_client's global one, keeps the output to these names and lets a
test read a value without the library's process and platform collectors. Counters are per
process: with several workers, Prometheus sums them across the scraped processes.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry(auto_describe=True)

UPDATES_RECEIVED = Counter(
    "ankle_updates_received",
    "Telegram updates stored in the inbox (redeliveries not counted)",
    registry=REGISTRY,
)
UPDATES_APPLIED = Counter(
    "ankle_updates_applied",
    "Stored updates applied (state and replies committed)",
    registry=REGISTRY,
)
UPDATES_SET_ASIDE = Counter(
    "ankle_updates_set_aside",
    "Stored updates given up on (unreadable, or failed every try)",
    registry=REGISTRY,
)
# result: sent, retry_after (Telegram's 429), refused (blocked, chat gone), failed (other).
SENDS = Counter(
    "ankle_sends", "Bot API send attempts from the outbox, by result", ["result"], registry=REGISTRY
)
INBOX_LAG = Gauge(
    "ankle_inbox_lag_seconds",
    "Age of the oldest update stored and not yet applied (0 when none)",
    registry=REGISTRY,
)
DUE_BACKLOG = Gauge(
    "ankle_due_backlog",
    "Messages due now and not yet sent (queued replies and scheduled follow-ups)",
    registry=REGISTRY,
)
SCHEDULER_TICK_AGE = Gauge(
    "ankle_scheduler_last_tick_age_seconds",
    "Seconds since this process's scheduler last finished a pass (-1: it runs none)",
    registry=REGISTRY,
)

SEND_RESULTS = ("sent", "retry_after", "refused", "failed")
for _result in SEND_RESULTS:
    # Every result appears from the start (at 0), so a rate over it is defined at once.
    SENDS.labels(result=_result)


def count_send(verdict: str | None) -> None:
    """Count one send attempt by the outbox's verdict on it (None: sent)."""
    result = {None: "sent", "wait": "retry_after", "refused": "refused"}.get(verdict, "failed")
    SENDS.labels(result=result).inc()


def exposition() -> tuple[bytes, str]:
    """The registry in Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def value(name: str, **labels: str) -> float:
    """A sample's current value (0 when absent): for tests and the benchmark."""
    found = REGISTRY.get_sample_value(name, labels or None)
    return found if found is not None else 0.0
