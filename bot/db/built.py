"""Helpers for the statements the stores build once (at import, or once per dialect).

Building a SQLAlchemy statement, and the ORM's handling of one built on a mapped class, cost
more Python than SQLite takes to run it; so the hot path's statements are built once, on the
tables, with bind parameters for what changes. Two things still cost at every call and are
avoided here: an IN list (SQLAlchemy expands it into parameters at each execution, so
`one_of` spells a fixed list as ORs of equalities) and the dialect's own INSERT class for
ON CONFLICT (`insert_for_dialect` picks it by name, so a statement can be cached per dialect).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def one_of(column: Any, values: Iterable[str]) -> ColumnElement[bool]:
    """`column IN (values)` for a list fixed when the statement is built, without the IN
    list's per-call expansion."""
    return or_(*(column == value for value in values))


def insert_for_dialect(dialect: str, table: Any) -> Any:
    """The dialect's INSERT (with its ON CONFLICT clauses, spelt the same on both) by name."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for {dialect}")


def dialect_insert(session: Session, table: Any) -> Any:
    """`insert_for_dialect` for the dialect `session` is bound to."""
    return insert_for_dialect(session.get_bind().dialect.name, table)


class Prepared:
    """A Core statement built once whose SQLite execution skips SQLAlchemy's per-call machinery.

    Through `Session.execute`, SQLAlchemy spent about 40 µs of Python on each of the hot path's
    statements (looking up the compiled form, building an execution context, processing
    parameters, wrapping the cursor), against under 10 µs for SQLite to run it; an update runs
    about eight. On SQLite the statement is compiled once, by SQLAlchemy, and run on the
    transaction's own DBAPI connection with the compiled form's own parameter and result
    processors (JSON, booleans, UTC timestamps), so values go in and come out exactly as
    through the Session. Other databases go through `Session.execute` unchanged: PostgreSQL's
    time is the server's, not this Python's.
    """

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._sqlite: _SqliteForm | None = None

    def rows(self, session: Session, params: dict[str, Any]) -> list[Any]:
        """Every row the statement returns (a SELECT, or RETURNING)."""
        cursor = self._cursor(session)
        if cursor is None:
            return list(session.execute(self.statement, params))
        form = self._form(session)
        cursor.execute(form.sql, form.parameters(params))
        return [form.row(raw) for raw in cursor.fetchall()]

    def first(self, session: Session, params: dict[str, Any]) -> Any | None:
        """The first row, or None."""
        rows = self.rows(session, params)
        return rows[0] if rows else None

    def count(self, session: Session, params: dict[str, Any]) -> int:
        """How many rows an UPDATE or DELETE changed."""
        cursor = self._cursor(session)
        if cursor is None:
            return session.execute(self.statement, params).rowcount
        form = self._form(session)
        cursor.execute(form.sql, form.parameters(params))
        return cursor.rowcount

    def _cursor(self, session: Session) -> Any | None:
        connection = session.connection()
        if connection.dialect.name != "sqlite":
            return None
        # The transaction's own DBAPI connection: SQLAlchemy has already begun it.
        return connection.connection.driver_connection.cursor()

    def _form(self, session: Session) -> _SqliteForm:
        if self._sqlite is None:
            self._sqlite = _SqliteForm(self.statement, session.get_bind().dialect)
        return self._sqlite


class _SqliteForm:
    """A statement compiled for SQLite: its SQL, where each positional parameter comes from,
    and the processors SQLAlchemy itself would apply to parameters and result columns."""

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled.positiontup is None:
            raise ValueError("a prepared statement needs positional parameters")
        self.sql: str = compiled.string
        binds = compiled.binds
        bind_processors = compiled._bind_processors
        # (name, whether the caller gives it, else its value fixed in the statement, processor)
        self._slots = [
            (name, binds[name].required, binds[name].value, bind_processors.get(name))
            for name in compiled.positiontup
        ]
        self._result_processors = [
            entry.type._cached_result_processor(dialect, None) for entry in compiled._result_columns
        ]

    def parameters(self, given: dict[str, Any]) -> list[Any]:
        values = []
        for name, required, fixed, process in self._slots:
            value = given[name] if required else fixed
            values.append(process(value) if process is not None else value)
        return values

    def row(self, raw: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            process(value) if process is not None else value
            for process, value in zip(self._result_processors, raw, strict=True)
        )
