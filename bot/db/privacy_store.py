"""A runner's right to their data: export everything stored about them, or delete it all.

Both work from `Base.metadata` rather than a list of models, so a table added later is exported
and deleted without anyone remembering to: every table either is `runners` or has a `runner_id`
column, and `runner_tables` refuses a table that has neither (the tests call it on the whole
schema). The export is plain JSON-ready data, datetimes as ISO 8601 with their UTC offset and
dates as ISO dates. Deleting the runner's row would be enough where foreign keys are enforced
(ON DELETE CASCADE everywhere), but each table is also cleared explicitly, children before
parents, so nothing is left behind on a connection with foreign keys off. Like the other store
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


class UnreachableTable(LookupError):
    """A table whose rows cannot be told apart by runner: it can be neither exported nor
    deleted for one runner."""


def runner_tables(metadata: MetaData = Base.metadata) -> list[tuple[Table, Column[Any]]]:
    """Every table of the schema with the column that names the runner a row belongs to,
    parents first.

    Raises `UnreachableTable` for a table that is not `runners` and has no `runner_id` column.
    """
    found = []
    for table in metadata.sorted_tables:
        if table.name == Runner.__tablename__:
            column = table.c.id
        elif "runner_id" in table.c:
            column = table.c.runner_id
        else:
            raise UnreachableTable(f"table {table.name!r} has no runner_id column")
        found.append((table, column))
    return found


def export_runner(session: Session, *, runner_id: int, now: datetime) -> dict[str, Any]:
    """Every row the database holds about the runner, ready for `json.dumps`.

    `{"format": "ankle-bot-export/1", "exported_at": ..., "runner_id": ..., "tables": {name:
    [row, ...]}}`, with every table present (an empty list when the runner has no rows in it)
    and each table's rows in primary key order. An unknown runner gets every table empty.
    """
    tables: dict[str, list[dict[str, Any]]] = {}
    for table, column in runner_tables():
        rows = session.execute(
            select(table).where(column == runner_id).order_by(*table.primary_key.columns)
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
