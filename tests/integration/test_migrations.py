"""Migrations: upgrade to head matches the models exactly, and downgrade to base undoes it all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from bot.db.engine import alembic_config, make_engine, migrate
from bot.db.models import Base
from tests.postgres import POSTGRES_URL, fresh_postgres_database

TABLES = {"users", "usage_events", "admin_actions"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def empty_database_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    """A database with no tables at all, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        return
    async with fresh_postgres_database(POSTGRES_URL) as url:
        yield url


async def schema_of(url: str) -> tuple[set[str], list[tuple]]:
    """(table names, autogenerate's differences between the models and this database)."""
    engine = make_engine(url)

    def inspect_sync(connection) -> tuple[set[str], list[tuple]]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
        return tables, compare_metadata(context, Base.metadata)

    try:
        async with engine.connect() as connection:
            return await connection.run_sync(inspect_sync)
    finally:
        await engine.dispose()


async def test_upgrade_to_head_matches_the_models(empty_database_url: str) -> None:
    await migrate(empty_database_url)
    tables, differences = await schema_of(empty_database_url)
    assert tables == TABLES
    assert differences == []


async def test_upgrade_twice_is_harmless(empty_database_url: str) -> None:
    await migrate(empty_database_url)
    await migrate(empty_database_url)
    assert (await schema_of(empty_database_url))[1] == []


async def test_downgrade_to_base_removes_every_table(empty_database_url: str) -> None:
    await migrate(empty_database_url)
    await asyncio.to_thread(command.downgrade, alembic_config(empty_database_url), "base")
    tables, _ = await schema_of(empty_database_url)
    assert tables == set()


def test_the_migration_history_is_one_line_of_date_prefixed_files() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(scripts.get_heads()) == 1
    assert all(
        script.path.rsplit("/", 1)[-1][:14].replace("_", "").isdigit()
        for script in scripts.walk_revisions()
    )


async def seconds_recorded(url: str, column: str) -> list[float]:
    """The values of one usage_events column, read without the models."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text(f"SELECT {column} FROM usage_events"))  # noqa: S608
            return [float(value) for (value,) in rows]
    finally:
        await engine.dispose()


async def test_renaming_audio_seconds_to_voice_seconds_keeps_the_seconds_recorded(
    empty_database_url: str,
) -> None:
    config = alembic_config(empty_database_url)
    await asyncio.to_thread(command.upgrade, config, "1a2b3c4d5e6f")
    engine = make_engine(empty_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO users (id) VALUES (7)"))
            await connection.execute(
                text(
                    "INSERT INTO usage_events (user_id, kind, audio_seconds) "
                    "VALUES (7, 'transcription', 90.5)"
                )
            )
    finally:
        await engine.dispose()

    await migrate(empty_database_url)
    assert await seconds_recorded(empty_database_url, "voice_seconds") == [90.5]
    await asyncio.to_thread(command.downgrade, config, "1a2b3c4d5e6f")
    assert await seconds_recorded(empty_database_url, "audio_seconds") == [90.5]
