"""Fixtures for the persistence tests: the same test against SQLite and against PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.db.database import Database
from bot.db.migrate import upgrade_to_head

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A plain URL to an empty database, once per backend."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A threaded Database on a freshly migrated schema."""
    database = Database.for_url(database_url)
    upgrade_to_head(database.engine)
    yield database
    database.dispose_sync()
