"""Migrations that never race: one process applies them while the others wait, then find head.

PostgreSQL: a session-level advisory lock, held on a connection of its own while Alembic runs.
SQLite: an exclusive file lock beside the database file (processes sharing a SQLite file share
a machine, so a file lock reaches them all).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.db.engine import make_engine, migrate, run_migrations, unreachable

log = logging.getLogger(__name__)

# Any constant of our own: pg_advisory_lock keys are one bigint per database.
ADVISORY_LOCK_KEY = 0x766E615F6D6967  # "vna_mig"


async def migrate_exclusively(url: str) -> None:
    """Upgrade the database to head, one process at a time."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        await _with_advisory_lock(url)
    elif parsed.get_backend_name() == "sqlite" and _is_file(parsed.database):
        await asyncio.to_thread(_with_file_lock, url, Path(str(parsed.database)))
    else:
        await migrate(url)


def migrate_exclusively_blocking(url: str) -> None:
    """The same for synchronous callers (`python -m bot migrate`)."""
    asyncio.run(migrate_exclusively(url))


async def _with_advisory_lock(url: str) -> None:
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        try:
            connection = await engine.connect()
        except Exception as error:  # whatever keeps us from the server: the one-line reason
            raise unreachable(url, error) from error
        try:
            await connection.execute(
                text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
            await connection.commit()
            try:
                await migrate(url)
            finally:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
                await connection.commit()
        finally:
            await connection.close()
    finally:
        await engine.dispose()


def _with_file_lock(url: str, database: Path) -> None:
    lock_path = database.expanduser().with_name(database.name + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            run_migrations(url)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _is_file(database: str | None) -> bool:
    return bool(database) and database != ":memory:" and not str(database).startswith("file:")
