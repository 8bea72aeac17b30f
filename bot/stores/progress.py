"""Which parts of one update's answer were already sent, so that a takeover resumes it.

A worker that dies after sending the final text but before the voice note leaves its update to
another worker, which runs the handler again. The reply renderer asks this record before each
part that must arrive once (a final text part, a refusal, the voice note) and records it right
after Telegram accepted it. The update being answered travels in a contextvar, set by the worker,
so handlers stay as they are; in polling mode nothing is set and every check says "not sent".
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.stores.redis import as_text
from bot.tasks import cancelling

PROGRESS_TTL_SECONDS = 2 * 24 * 3600
MARK_PATIENCE_SECONDS = 20.0


@dataclass
class Progress:
    """The parts sent for one update, as loaded when its answer started, plus those since."""

    client: aioredis.Redis
    key: str
    sent: set[str] = field(default_factory=set)
    loaded: bool = False

    async def load(self) -> set[str]:
        """The parts recorded so far (read from Redis once per attempt)."""
        if not self.loaded:
            self.sent = {as_text(part) for part in await self.client.smembers(self.key)}
            self.loaded = True
        return self.sent

    async def mark(self, part: str) -> None:
        """Record that `part` reached Telegram, waiting a little for a Redis that restarts.

        The part was sent: forgetting it would send it twice after a takeover.
        """
        self.sent.add(part)
        delay, deadline = 0.1, time.monotonic() + MARK_PATIENCE_SECONDS
        while True:
            try:
                async with self.client.pipeline(transaction=True) as pipe:
                    pipe.sadd(self.key, part)
                    pipe.expire(self.key, PROGRESS_TTL_SECONDS)
                    await pipe.execute()
                return
            except (RedisError, OSError):
                if time.monotonic() > deadline or cancelling():
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)


current: contextvars.ContextVar[Progress | None] = contextvars.ContextVar(
    "update_progress", default=None
)


async def already_sent(part: str) -> bool:
    """Whether `part` of the update being answered reached Telegram in an earlier attempt."""
    progress = current.get()
    return progress is not None and part in await progress.load()


async def anything_sent() -> bool:
    """Whether an earlier attempt already sent a part that must not be repeated."""
    progress = current.get()
    return progress is not None and bool(await progress.load())


async def record_sent(part: str) -> None:
    """Note that `part` of the update being answered reached Telegram (no-op when polling)."""
    progress = current.get()
    if progress is not None:
        await progress.mark(part)
