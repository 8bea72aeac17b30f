"""Locks in Redis that hold across processes and machines, released on every path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from redis.exceptions import LockError, RedisError

from bot.errors import ServiceError
from bot.stores.redis import redis_error

log = logging.getLogger(__name__)

# No turn takes this long; past it a lock is no longer renewed and expires by its timeout.
MAX_HOLD_SECONDS = 900.0
# The longest a release may take (Redis hanging); then it is left to expire or to its holder.
RELEASE_TIMEOUT_SECONDS = 2.0


class Locks:
    """Named locks (redis-py's Lock: SET NX PX with a token, released only by its holder).

    A holder that dies frees its lock after `timeout` seconds; a live holder renews it every
    third of that, so a long turn keeps what a dead worker would give up. A lock that could
    not be released (Redis went away while it was held, and came back with its data) is
    released by its own holder before the next use of that name, instead of blocking it.
    """

    def __init__(
        self, client: aioredis.Redis, *, prefix: str = "", timeout: float = 15.0, wait: float = 60.0
    ) -> None:
        """Keep the client; `wait` is the longest anyone queues for a lock."""
        self._redis = client
        self._prefix = prefix
        self._timeout = timeout
        self._wait = wait
        self._unreleased: dict[str, tuple[aioredis.lock.Lock, bytes]] = {}
        self._renewers: set[asyncio.Task[None]] = set()  # kept referenced until they stop

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        """Hold lock `name` for the body of the `async with`.

        Raises:
            ServiceError: stage "redis": Redis is unreachable, or the lock stayed taken for
                longer than `wait` (retryable in both cases).
        """
        if stale := self._unreleased.get(name):
            old, token = stale
            try:
                await old.do_release(token)  # token-checked: frees it only if still ours
            except LockError:
                pass  # expired, or taken since by someone else
            except RedisError as error:
                raise redis_error(error) from error
            del self._unreleased[name]
        lock = self._redis.lock(
            f"{self._prefix}lock:{name}", timeout=self._timeout, blocking_timeout=self._wait
        )
        try:
            acquired = await lock.acquire()
        except RedisError as error:
            raise redis_error(error) from error
        if not acquired:
            raise ServiceError("redis", f"lock {name} stayed busy", retryable=True)
        done = asyncio.Event()
        renew = asyncio.create_task(self._renew(lock, done), name=f"renew-lock-{name}")
        try:
            yield
        finally:
            # Told, not cancelled, and not awaited: redis-py may turn a cancellation that lands
            # mid-command into a RedisError, and a renewer that swallowed it would hold this
            # finally (and the turn) for as long as it renews. It stops at its next wake-up;
            # a renewal racing the release below fails its token check and changes nothing.
            done.set()
            self._renewers.add(renew)
            renew.add_done_callback(self._renewers.discard)
            token = lock.local.token
            try:
                # Bounded: a cancelled turn's cleanup must not wait out a hanging Redis. An
                # unreleased lock expires, or its holder frees it before the next use.
                await asyncio.wait_for(lock.release(), RELEASE_TIMEOUT_SECONDS)
            except LockError:
                pass  # it had expired: nobody holds it in our name
            except (RedisError, TimeoutError):
                if token is not None:
                    self._unreleased[name] = (lock, token)

    async def _renew(self, lock: aioredis.lock.Lock, done: asyncio.Event) -> None:
        # Bounded: a holder that is stuck (or forgotten) lets the lock expire in the end.
        deadline = asyncio.get_running_loop().time() + MAX_HOLD_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self._timeout / 3)
            if done.is_set():
                return
            try:
                await lock.reacquire()
            except (LockError, RedisError) as error:
                log.warning("could not renew a lock: %s", type(error).__name__)
