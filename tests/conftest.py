"""Shared fixtures: real databases for tests, one fresh and empty database per test.

`sqlite_url` is a file in the test's tmp_path. `postgres_url` is a new schema in the `test`
database of the PostgreSQL server at 127.0.0.1:5432 (user postgres, trust auth), selected
through the URL's search_path so the code under test sees an empty database; the schema is
dropped afterwards. Tests using it are skipped, with a reason, when the server does not answer.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

POSTGRES_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_UNREACHABLE = "PostgreSQL not reachable at 127.0.0.1:5432"


@functools.cache
def postgres_is_reachable() -> bool:
    try:
        with psycopg.connect(POSTGRES_SERVER_URL, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A plain URL to a SQLite file that does not exist yet."""
    return f"sqlite:///{tmp_path / 'ankle-bot.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A plain URL whose connections see only a fresh, empty schema of their own."""
    if not postgres_is_reachable():
        pytest.skip(POSTGRES_UNREACHABLE)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_SERVER_URL, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield f"{POSTGRES_SERVER_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_SERVER_URL, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
