"""Alembic environment: async engine, the bot's metadata, batch mode so SQLite can alter tables."""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from bot.config import Settings
from bot.db.engine import make_engine
from bot.db.models import Base

config = context.config
target_metadata = Base.metadata

# Only the alembic CLI has an ini file; run_migrations() builds its Config in code, without logging.
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """The URL set by run_migrations(), else DATABASE_URL, else the settings' default."""
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    default = str(Settings.model_fields["database_url"].default)
    return os.environ.get("DATABASE_URL", default)


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        **kwargs,  # type: ignore[arg-type]
    )


def run_offline() -> None:
    """Write the SQL to stdout instead of running it (`alembic upgrade head --sql`)."""
    _configure(url=database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = make_engine(database_url(), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_on)
    finally:
        await engine.dispose()


def run_online() -> None:
    """Migrate over a connection the caller lent us, or over a fresh async engine."""
    lent = config.attributes.get("connection")
    if lent is not None:
        _run_on(lent)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    run_offline()
else:
    run_online()
