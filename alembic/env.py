"""Alembic environment for the bot's database.

The database is, in order of precedence: a connection handed over by the bot in
`config.attributes["connection"]` (see `bot.db.migrate.upgrade_to_head`), `-x url=...` on the
command line, the DATABASE_URL environment variable, or `sqlite:///ankle-bot.db`. Plain URLs
are accepted (`bot.db.engine.normalize_url` picks the driver). SQLite migrations use batch mode,
because SQLite can alter little in place, and run with foreign keys suspended so that rebuilding
a parent table cannot cascade-delete its children.
"""

from __future__ import annotations

import os
from logging.config import fileConfig
from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from bot.db.engine import make_engine, normalize_url
from bot.db.migrate import assert_foreign_keys_hold, foreign_keys_suspended, migration_lock
from bot.db.models import Base
from bot.db.types import UTCDateTime

DEFAULT_URL = "sqlite:///ankle-bot.db"

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """The URL given with `-x url=...`, else DATABASE_URL, else the default SQLite file."""
    return (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("DATABASE_URL")
        or DEFAULT_URL
    )


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render `UTCDateTime` as the column type it creates, so migrations import no app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure_options(dialect_name: str) -> dict[str, Any]:
    is_sqlite = dialect_name == "sqlite"
    return {
        "target_metadata": target_metadata,
        "compare_type": True,
        "render_item": render_item,
        "render_as_batch": is_sqlite,
        # Our SQLite engine emits its own BEGIN, so SQLite DDL is transactional too: a failed
        # upgrade leaves the database as it was.
        "transactional_ddl": True if is_sqlite else None,
    }


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (`alembic upgrade head --sql`)."""
    url = normalize_url(database_url())
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **configure_options(make_url(url).get_backend_name()),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_on(connection: Connection) -> None:
    with foreign_keys_suspended(connection):
        context.configure(connection=connection, **configure_options(connection.dialect.name))
        with context.begin_transaction():
            context.run_migrations()
            assert_foreign_keys_hold(connection)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations_on(connection)
        return
    engine = make_engine(database_url())
    try:
        # The same lock the bot takes at start-up: `alembic upgrade` by hand may meet a bot
        # process migrating the same database.
        with migration_lock(engine), engine.connect() as connection:
            run_migrations_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
