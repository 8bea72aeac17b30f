"""Readiness: Redis and the database both answer, checked on every GET /healthz."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import safe_url, unreachable

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 3.0


class Readiness:
    """Answers "can this process do its work right now?" for load balancers and fly checks."""

    def __init__(self, client: aioredis.Redis, engine: AsyncEngine, database_url: str) -> None:
        """Check `client` and `engine` (a small engine of its own, not the pipeline's pool)."""
        self._client = client
        self._engine = engine
        self._url = database_url
        self._checks: dict[str, Callable[[], bool]] = {}

    def watch(self, name: str, check: Callable[[], bool]) -> None:
        """Also report `check()` under `name` (a worker's duties all running)."""
        self._checks[name] = check

    async def redis_ok(self) -> bool:
        """Redis answers PING."""
        try:
            return bool(await asyncio.wait_for(self._client.ping(), CHECK_TIMEOUT_SECONDS))
        except (aioredis.RedisError, OSError, TimeoutError):
            return False

    async def database_ok(self) -> bool:
        """The database answers SELECT 1."""
        try:
            await asyncio.wait_for(self._select_one(), CHECK_TIMEOUT_SECONDS)
        except Exception as error:  # whatever the driver raises means "not ready"
            log.info("database not ready (%s): %s", safe_url(self._url), type(error).__name__)
            return False
        return True

    async def require_database(self) -> None:
        """At start: raise the one-line ServiceError when the database cannot be reached."""
        try:
            await asyncio.wait_for(self._select_one(), 15)
        except Exception as error:  # at start any driver error means "cannot reach it"
            raise unreachable(self._url, error) from error

    async def status(self) -> dict[str, bool]:
        """Each dependency's state."""
        redis_ok, database_ok = await asyncio.gather(self.redis_ok(), self.database_ok())
        own = {name: check() for name, check in self._checks.items()}
        return {"redis": redis_ok, "database": database_ok, **own}

    async def _select_one(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
