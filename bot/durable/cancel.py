"""/cancel across workers: the answer to stop may be running on another machine.

The worker that takes a /cancel asks every worker over Redis pub/sub; each replies whether it
stopped an answer of that user (a short list in Redis). The /cancel handler is unchanged: it
calls `turns.cancel(user)`, which here also says True when another worker stopped it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.tasks import cancelling
from bot.tg.ordering import UserTurns

log = logging.getLogger(__name__)

# A live worker answers in milliseconds; a loaded machine can take seconds to schedule it, and
# a late answer would have the user told "nothing to cancel" while their answer is stopped.
REPLY_TIMEOUT_SECONDS = 5.0
REPLY_TTL_SECONDS = 30


class SharedTurns(UserTurns):
    """The per-user turns of this process, plus what other workers stopped for us."""

    def __init__(self) -> None:
        """Start with nothing running and nothing stopped elsewhere."""
        super().__init__()
        self.stopped_elsewhere: set[int] = set()

    def cancel(self, user_id: int) -> bool:
        """Stop the user's answer here; True also when another worker already stopped it."""
        stopped_here = super().cancel(user_id)
        if user_id in self.stopped_elsewhere:
            self.stopped_elsewhere.discard(user_id)
            return True
        return stopped_here


class CancelBus:
    """Asks all workers to stop a user's answer, and answers such requests for this one."""

    def __init__(self, client: aioredis.Redis, turns: SharedTurns, *, prefix: str) -> None:
        """Use `client` for pub/sub and `turns` for what runs here."""
        self._client = client
        self._turns = turns
        self._channel = f"{prefix}cancel"
        self._prefix = prefix

    async def stop_elsewhere(self, user_id: int) -> None:
        """Before a /cancel runs here: stop the user's answer wherever it runs."""
        reply = f"{self._prefix}cancel:reply:{uuid.uuid4().hex}"
        message = json.dumps({"user": user_id, "reply": reply})
        try:
            receivers = int(await self._client.publish(self._channel, message))
            log.info("asked %d worker(s) to stop an answer", receivers)
            for _ in range(receivers):
                answer = await self._client.blpop([reply], timeout=REPLY_TIMEOUT_SECONDS)
                if answer is None:
                    break  # a worker that does not answer in time stopped nothing
                if answer[1] == b"1":
                    self._turns.stopped_elsewhere.add(user_id)
                    break
        except RedisError as error:
            log.warning("could not ask the other workers to cancel: %s", error)

    async def listen(self) -> None:
        """Answer cancel requests until cancelled (a background task of the worker)."""
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self._answer(message["data"])
            except (RedisError, OSError) as error:
                if cancelling():
                    raise asyncio.CancelledError from error
                log.warning("cancel channel lost, listening again: %s", error)
                await asyncio.sleep(1.0)

    async def _answer(self, data: bytes) -> None:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            request = json.loads(data)
            # UserTurns.cancel, not SharedTurns.cancel: only what runs in this process counts.
            stopped = UserTurns.cancel(self._turns, int(request["user"]))
            if stopped:
                log.info("stopped an answer at another worker's request")
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.rpush(str(request["reply"]), "1" if stopped else "0")
                pipe.expire(str(request["reply"]), REPLY_TTL_SECONDS)
                await pipe.execute()
