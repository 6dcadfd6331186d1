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
