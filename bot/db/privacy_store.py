"""A runner's right to their data: export everything stored about them, or delete it all.

Both work from `Base.metadata` rather than a list of models, so a table added later is exported
and deleted without anyone remembering to: every table either is `runners`, has a `runner_id`
column, or is declared operational (`OPERATIONAL_TABLES`: the bot's own machinery, keyed by chat
rather than by runner, which the runtime prunes); `runner_tables` refuses any other table (the
tests call it on the whole schema). The export holds the runner's own data, not the bot's
bookkeeping about it: the columns in `NOT_EXPORTED` (lock versions, leases, error texts,
idempotency keys, attempt counts) are left out, and their rows are still deleted whole. It is
plain JSON-ready data, datetimes as ISO 8601 with their UTC offset and dates as ISO dates.
Deleting the runner's row would be enough where foreign keys are enforced (ON DELETE CASCADE
everywhere), but each table is also cleared explicitly, children before parents, so nothing is
left behind on a connection with foreign keys off. Like the other store
modules, functions take the `Session` first, pass time in, and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Column, MetaData, Table, delete, select
from sqlalchemy.orm import Session

from bot.db.models import Base, Runner

EXPORT_FORMAT = "ankle-bot-export/1"

# Tables of the runtime (updates received, messages to deliver, group notices), keyed by chat and
# not by runner: neither exported nor deleted here. The runtime prunes them once they are done.
# The send limit's tables hold a chat id and a time at most, forgotten a minute after its
# last message (bot.db.send_limit_store).
OPERATIONAL_TABLES = frozenset(
    {"inbox_updates", "outbox_messages", "group_notices", "send_lanes", "send_chat_pace"}
)

# Columns left out of the export, by table: the bot's bookkeeping, not the runner's data. Any
# column not named here is exported, so a new column of runner data needs no change here, and a
# new internal column needs an entry. The tests check that every name here exists.
NOT_EXPORTED: Mapping[str, frozenset[str]] = {
    # The optimistic-locking counter.
    "conversations": frozenset({"version"}),
    # Telegram's refusal text when the bot could not reach the runner.
    "runner_schedules": frozenset({"reason"}),
    # A follow-up is exported as what it is, when it was due, where it is and when it was sent;
    # the rest (who held it and until when, retries, keys, payload, error texts such as
    # tracebacks, row stamps) is the scheduler's.
    "scheduled_messages": frozenset(
        {
            "id",
            "runner_id",
            "attempts",
            "idempotency_key",
            "payload",
            "claimed_by",
            "claimed_until",
            "last_error",
            "created_at",
            "updated_at",
        }
    ),
}


class UnreachableTable(LookupError):
    """A table whose rows cannot be told apart by runner: it can be neither exported nor
    deleted for one runner."""


def runner_tables(metadata: MetaData = Base.metadata) -> list[tuple[Table, Column[Any]]]:
    """Every table of the schema with the column that names the runner a row belongs to,
    parents first; the `OPERATIONAL_TABLES` are left out.

    Raises `UnreachableTable` for any other table that is not `runners` and has no `runner_id`
    column.
    """
    found = []
    for table in metadata.sorted_tables:
        if table.name in OPERATIONAL_TABLES:
            continue
        if table.name == Runner.__tablename__:
            column = table.c.id
        elif "runner_id" in table.c:
            column = table.c.runner_id
        else:
            raise UnreachableTable(f"table {table.name!r} has no runner_id column")
        found.append((table, column))
    return found


def export_runner(session: Session, *, runner_id: int, now: datetime) -> dict[str, Any]:
    """Every row the database holds about the runner, ready for `json.dumps`, without the
    bookkeeping columns of `NOT_EXPORTED`.

    `{"format": "ankle-bot-export/1", "exported_at": ..., "runner_id": ..., "tables": {name:
    [row, ...]}}`, with every table of `runner_tables` present (an empty list when the runner
    has no rows in it) and each table's rows in primary key order. An unknown runner gets every
    table empty.
    """
    tables: dict[str, list[dict[str, Any]]] = {}
    for table, column in runner_tables():
        left_out = NOT_EXPORTED.get(table.name, frozenset())
        exported = [c for c in table.columns if c.name not in left_out]
        rows = session.execute(
            select(*exported).where(column == runner_id).order_by(*table.primary_key.columns)
        ).mappings()
        tables[table.name] = [_jsonable_row(row) for row in rows]
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _jsonable(now),
        "runner_id": runner_id,
        "tables": tables,
    }


def delete_runner(session: Session, *, runner_id: int) -> int:
    """Delete every row of the runner, the runner last; how many rows were deleted."""
    deleted = 0
    # Children before parents, so no foreign key is ever left pointing at a deleted row.
    for table, column in reversed(runner_tables()):
        deleted += session.execute(delete(table).where(column == runner_id)).rowcount
    return deleted


# --- helpers -------------------------------------------------------------------------------------


def _jsonable_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _jsonable(value) for name, value in row.items()}


def _jsonable(value: Any) -> Any:
    # datetime before date: a datetime is a date too.
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value
