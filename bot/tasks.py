"""Stopping tasks within a bound: what a shutdown or a cancelled turn may wait for, and no more.

A cancelled task runs its cleanup (`finally` blocks: a lock released, a record written) before
it ends, and that cleanup may wait on Redis, Telegram or the database. Whoever cancels it waits
a short while for that, never for as long as those services take.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

CLEANUP_SECONDS = 1.0


async def cancel_within(
    tasks: Iterable[asyncio.Future[Any]], seconds: float = CLEANUP_SECONDS
) -> set[asyncio.Future[Any]]:
    """Cancel `tasks` and wait at most `seconds` for them to end; returns those still running."""
    pending = {task for task in tasks if not task.done()}
    for task in pending:
        task.cancel()
    if not pending:
        return set()
    _done, still = await asyncio.wait(pending, timeout=seconds)
    return still


def cancelling() -> bool:
    """Whether the running task has been asked to stop.

    A retry loop that catches a library's error checks this before trying again: a cancellation
    that landed inside the library's call may have come out as that library's error.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def unless_cancelled() -> None:
    """Re-raise a cancellation (/cancel, shutdown) that a Redis client reported as its error."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
