"""Every turn's frame: a slot among MAX_CONCURRENT_TURNS, the user's lock, outages answered."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.exceptions import RedisError

from bot.errors import CredentialsRejected, ServiceError, refusal_key
from bot.events import AssistantEvent, Refused, Spoken
from bot.metrics import Metrics
from bot.requests import Sender
from bot.stores import progress
from bot.stores.locks import Locks
from bot.stores.redis import redis_error
from bot.tasks import unless_cancelled

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnGuard:
    """Runs one user's turn at a time, and a bounded number of turns at once.

    Args:
        slots: MAX_CONCURRENT_TURNS slots, shared by every turn of this process.
        locks: each user's lock, held across processes.
        metrics: the turns waiting for a slot.
    """

    slots: asyncio.Semaphore
    locks: Locks
    metrics: Metrics

    async def run(
        self, sender: Sender, events: AsyncIterator[AssistantEvent]
    ) -> AsyncIterator[AssistantEvent]:
        """One user's turn, start to finish, under that user's lock (held across processes).

        The lock spans the quota check and the recording of the usage, so several messages
        of one user on several workers never all pass a check that only one of them should.
        A Redis or database outage ends the turn with a short message, never a crash.
        """
        try:
            # A slot first: the first come are answered first, and a crowd waits here, after
            # its first sign of life, instead of slowing every turn already under way.
            async with self._slot() as slot, self.locks.hold(f"user:{sender.user_id}"):
                async for event in events:
                    if isinstance(event, Spoken):
                        # The voice note is made: what is left is waiting for Telegram's
                        # budget, which is no work for this process; the next turn may start.
                        slot.release()
                    yield event
        except RedisError as error:
            unless_cancelled()
            if progress.resumable():  # a worker answers the rest once Redis is back
                raise
            log.error("redis unavailable: %s", type(error).__name__)
            yield Refused(refusal_key(redis_error(error)))
        except CredentialsRejected:
            raise  # the operator's to fix: the error boundary says so, once
        except ServiceError as error:
            log.error("turn failed: %s", error)
            yield Refused(refusal_key(error))

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[Slot]:
        """One of MAX_CONCURRENT_TURNS slots, waited for in arrival order."""
        self.metrics.turns_waiting.inc()
        try:
            await self.slots.acquire()
        finally:
            self.metrics.turns_waiting.dec()
        slot = Slot(self.slots)
        try:
            yield slot
        finally:
            slot.release()


@dataclass
class Slot:
    """A turn's slot, given back once: when the work is done or, at the latest, at the end."""

    slots: asyncio.Semaphore
    held: bool = True

    def release(self) -> None:
        """Give the slot back (again is nothing)."""
        if self.held:
            self.held = False
            self.slots.release()
