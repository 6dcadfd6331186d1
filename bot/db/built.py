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
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound
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


def dialect_of(session: Session) -> str:
    """The name of the dialect `session` is bound to ("sqlite", "postgresql")."""
    return session.get_bind().dialect.name


def dialect_insert(session: Session, table: Any) -> Any:
    """`insert_for_dialect` for the dialect `session` is bound to."""
    return insert_for_dialect(dialect_of(session), table)


def execute_on_cursor(cursor: Any, sql: str, values: Any, dialect: Any) -> None:
    """`cursor.execute(sql, values)` on a DBAPI cursor, its errors raised as SQLAlchemy would
    (sqlalchemy.exc.IntegrityError, OperationalError ...), which is what callers catch."""
    dbapi_error = dialect.loaded_dbapi.Error
    try:
        cursor.execute(sql, values)
    except dbapi_error as error:
        raise DBAPIError.instance(sql, values, error, dbapi_error) from error


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

    def execute(self, session: Session, params: dict[str, Any]) -> Any:
        """Run the statement in `session`'s transaction. The result offers what the stores use
        of SQLAlchemy's `Result`: `rowcount`, `all`, `first`, `one_or_none`, `scalar`,
        `scalar_one` and `scalar_one_or_none`."""
        cursor, dialect = _cursor_of(session)
        if cursor is None:
            return session.execute(self.statement, params)
        if self._sqlite is None:
            self._sqlite = _SqliteForm(self.statement, dialect)
        form = self._sqlite
        execute_on_cursor(cursor, form.sql, form.parameters(params), dialect)
        rows = [form.row(raw) for raw in cursor.fetchall()] if form.returns_rows else []
        return Ran(rows, cursor.rowcount)


_CURSOR = "bot.db.built cursor"


def _cursor_of(session: Session) -> tuple[Any, Any]:
    """A DBAPI cursor on the connection of `session`'s current transaction (None when it is
    not SQLite) and the dialect; kept in `session.info` for the rest of that transaction,
    because asking the Session for its connection cost more than the statements."""
    transaction = _innermost(session)
    kept = session.info.get(_CURSOR)
    if transaction is not None and kept is not None and kept[0] is transaction:
        return kept[1], kept[2]
    # Asked of the Session once a transaction: this also begins it, or the SAVEPOINT of a
    # nested one (SQLAlchemy emits it when the connection is first asked for).
    connection = session.connection()
    dialect = connection.dialect
    # The transaction's own DBAPI connection (for aiosqlite, SQLAlchemy's adapter of it,
    # usable from `run_sync`).
    cursor = connection.connection.dbapi_connection.cursor() if dialect.name == "sqlite" else None
    session.info[_CURSOR] = (_innermost(session), cursor, dialect)
    return cursor, dialect


def _innermost(session: Session) -> Any:
    return session.get_nested_transaction() or session.get_transaction()


class Ran:
    """What a prepared statement did on SQLite, read the way SQLAlchemy's `Result` is."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def all(self) -> list[tuple[Any, ...]]:
        return self._rows

    def first(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def one_or_none(self) -> tuple[Any, ...] | None:
        if len(self._rows) > 1:
            raise MultipleResultsFound("more than one row where one or none was expected")
        return self.first()

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one_or_none(self) -> Any:
        row = self.one_or_none()
        return row[0] if row is not None else None

    def scalar_one(self) -> Any:
        if len(self._rows) != 1:
            raise NoResultFound("no row") if not self._rows else MultipleResultsFound("rows")
        return self._rows[0][0]


class _SqliteForm:
    """A statement compiled for SQLite: its SQL, where each positional parameter comes from,
    and the processors SQLAlchemy itself would apply to parameters and result columns."""

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled.positiontup is None:
            raise ValueError("a prepared statement needs positional parameters")
        if compiled.insert_prefetch or compiled.update_prefetch:
            # Column defaults computed in Python at execution: only SQLAlchemy's own
            # execution fills them in, so such a statement must go through the Session.
            raise ValueError("a prepared statement cannot fill in Python-side column defaults")
        self.sql: str = compiled.string
        self.returns_rows = bool(compiled._result_columns)
        binds = compiled.binds
        bind_processors = compiled._bind_processors
        # What the caller gives, each name once (`now` is often in a statement three times),
        # with its processor; and the positional values, those fixed in the statement already
        # processed, with where each given one goes.
        self._given: list[tuple[str, Any]] = []
        self._template: list[Any] = []
        self._fill: list[tuple[int, int]] = []
        given_index: dict[str, int] = {}
        for position, name in enumerate(compiled.positiontup):
            process = bind_processors.get(name)
            bind = binds[name]
            if not bind.required:
                self._template.append(process(bind.value) if process else bind.value)
                continue
            if name not in given_index:
                given_index[name] = len(self._given)
                self._given.append((name, process))
            self._template.append(None)
            self._fill.append((position, given_index[name]))
        processors = [
            entry.type._cached_result_processor(dialect, None) for entry in compiled._result_columns
        ]
        self._result_processors = [
            (index, process) for index, process in enumerate(processors) if process is not None
        ]

    def parameters(self, given: dict[str, Any]) -> list[Any]:
        processed = [
            process(given[name]) if process is not None else given[name]
            for name, process in self._given
        ]
        values = self._template.copy()
        for position, index in self._fill:
            values[position] = processed[index]
        return values

    def row(self, raw: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self._result_processors:
            return raw
        row = list(raw)
        for index, process in self._result_processors:
            row[index] = process(row[index])
        return tuple(row)
