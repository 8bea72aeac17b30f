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
import logging
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.stores.redis import as_text
from bot.tasks import cancelling

log = logging.getLogger(__name__)

PROGRESS_TTL_SECONDS = 2 * 24 * 3600
MARK_PATIENCE_SECONDS = 20.0


@dataclass
class Progress:
    """The parts sent for one update, as loaded when its answer started, plus those since."""

    client: aioredis.Redis
    key: str
    sent: set[str] = field(default_factory=set)
    loaded: bool = False
    # A worker's update is resumed after a Redis outage (it waits for Redis rather than lose
    # what it sent); polling answers through an outage, without the record, as it always did.
    resumable: bool = True

    async def load(self) -> set[str]:
        """The parts recorded so far (read from Redis once per attempt)."""
        if not self.loaded:
            try:
                self.sent = {as_text(part) for part in await self.client.smembers(self.key)}
            except (RedisError, OSError):
                if self.resumable:
                    raise
                log.warning("progress record unreadable; answering as if nothing was sent")
            self.loaded = True
        return self.sent

    async def mark(self, part: str) -> None:
        """Record that `part` reached Telegram, waiting a little for a Redis that restarts.

        The part was sent: forgetting it would send it twice after a takeover.
        """
        self.sent.add(part)
        patience = MARK_PATIENCE_SECONDS if self.resumable else 0.0
        delay, deadline = 0.1, time.monotonic() + patience
        while True:
            try:
                async with self.client.pipeline(transaction=True) as pipe:
                    pipe.sadd(self.key, part)
                    pipe.expire(self.key, PROGRESS_TTL_SECONDS)
                    await pipe.execute()
                return
            except (RedisError, OSError) as error:
                if not self.resumable:
                    log.warning("part %s sent, not recorded (Redis: %s)", part, error)
                    return
                if time.monotonic() > deadline or cancelling():
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def flush(self) -> None:
        """Write every part known as sent (some perhaps only here, Redis being away then)."""
        if self.sent:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.sadd(self.key, *self.sent)
                pipe.expire(self.key, PROGRESS_TTL_SECONDS)
                await pipe.execute()


current: contextvars.ContextVar[Progress | None] = contextvars.ContextVar(
    "update_progress", default=None
)


def resumable() -> bool:
    """Whether the update being answered is resumed after a Redis outage (webhook workers).

    Such an update must not end with "my memory store is not answering": the outage is raised
    to the worker, which answers the rest once Redis is back.
    """
    progress = current.get()
    return progress is not None and progress.resumable


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
