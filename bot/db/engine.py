"""Engines, sessions and migrations: the only place that knows how to reach the database."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.errors import ServiceError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

# The repository's migrations folder, found from the package so any working directory will do.
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

# What "the database is down or unreachable" looks like from SQLAlchemy and the drivers beneath it.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    OSError,  # includes ConnectionRefusedError and socket timeouts raised by asyncpg's connect
    TimeoutError,
)

# At start-up any driver error (wrong database name, bad password) means "cannot reach it".
_STARTUP_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, exc.DBAPIError)

# asyncpg waits 60 s by default for a host that drops packets; a bot should say so sooner.
_ASYNCPG_CONNECT_TIMEOUT_SECONDS = 10

# Several processes writing one SQLite file wait this long for each other's commits.
_SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine: SQLite gets WAL and foreign keys, servers get pre-ping health checks."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _create_parent_dir(parsed.database)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if parsed.get_driver_name() == "asyncpg":
        kwargs.setdefault("connect_args", {"timeout": _ASYNCPG_CONNECT_TIMEOUT_SECONDS})
    return create_async_engine(url, **kwargs)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def make_write_session_factory(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[async_sessionmaker[AsyncSession], bool]:
    """Sessions for writing, and whether this process must serialise its writes.

    SQLite has one writer at a time. A deferred transaction that reads and then writes fails
    at once with "database is locked" when another connection wrote in between (the busy
    timeout does not apply to that upgrade), so SQLite writers begin IMMEDIATE: they take the
    write lock first and queue on busy_timeout across processes, and on an asyncio lock
    inside one. Servers (PostgreSQL) take concurrent writers as they are.
    """
    engine = sessions.kw.get("bind")
    if not isinstance(engine, AsyncEngine) or engine.dialect.name != "sqlite":
        return sessions, False
    immediate = engine.execution_options(sqlite_begin="IMMEDIATE")
    return async_sessionmaker(immediate, expire_on_commit=False), True


def alembic_config(url: str) -> Config:
    """An Alembic Config built in code: the repository's migrations, this URL."""
    from alembic.config import Config  # ~0.3 s of imports, paid in the migration thread

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    # ConfigParser interpolates %, which appears in URL-encoded passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def run_migrations(url: str, revision: str = "head") -> None:
    """Upgrade the database to `revision` (blocking; from async code use `migrate`).

    Raises:
        ServiceError: the database cannot be reached, with a one-line reason.
    """
    from alembic import command

    try:
        command.upgrade(alembic_config(url), revision)
    except _STARTUP_ERRORS as error:
        raise unreachable(url, error) from error
    log.info("database at %s is at revision %s", safe_url(url), revision)


async def migrate(url: str) -> None:
    """Upgrade the database to head without blocking the event loop."""
    await asyncio.to_thread(run_migrations, url)


def safe_url(url: str) -> str:
    """The URL with its password masked, fit for logs and error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<invalid database URL>"


def unreachable(url: str, error: BaseException) -> ServiceError:
    """The ServiceError for a database that cannot be reached."""
    return ServiceError(
        "database",
        f"cannot reach the database at {safe_url(url)}: {error_reason(error)}",
        retryable=True,
    )


def error_reason(error: BaseException) -> str:
    """The driver's own words for a failure, on one line."""
    original = getattr(error, "orig", None) or error
    text = " ".join(str(original).split()) or type(original).__name__
    return text[:200]


def _create_parent_dir(database: str | None) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; busy_timeout makes writers of other processes
    # queue instead of failing. synchronous=NORMAL is safe with WAL (a power cut may lose the
    # last commits, never corrupt) and spares an fsync per ledger row. The driver's own BEGIN
    # is switched off so that _sqlite_begin can say which kind of transaction to start.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")
