"""Writes done together: what arrives while a write is under way shares the next transaction.

With 64 turns at once, one transaction per ledger row or new user queued every turn behind the
others on the database's one writer (0.9-2 s before a turn could go on). One transaction per
batch costs about what one write did. A batch that the database refuses for a reason other
than an outage is written again item by item, so one bad item never costs the others theirs.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.errors import ServiceError

TASK_NAME = "group-commit"  # the batches' writer, a task of no turn
Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """Writes items in batches through `write`: one transaction and one result per item each.

    One batch is written at a time; what arrives meanwhile waits for the next.
    """

    def __init__(self, write: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]]) -> None:
        """Keep the batch writer; nothing runs until the first item."""
        self._write = write
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._task: asyncio.Task[None] | None = None

    async def add(self, item: Item) -> Result:
        """Write `item` with whatever else is waiting; its result once it is committed.

        A caller cancelled while waiting leaves its item to be written all the same.

        Raises:
            ServiceError: the database refused the item (retryable when it is an outage).
        """
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._task is None or self._task.done():
            writing: list[tuple[Item, asyncio.Future[Result]]] = []  # its open transaction's
            # The batches belong to no turn: no caller's context variables (its user, its
            # update) travel into them.
            self._task = asyncio.create_task(
                self._drain(writing), name=TASK_NAME, context=contextvars.Context()
            )
            self._task.add_done_callback(functools.partial(self._interrupted, writing))
        return await future

    async def aclose(self) -> None:
        """Wait for the rows already handed over (at shutdown)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _drain(self, writing: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        while self._pending:
            writing[:], self._pending = self._pending, []
            outcomes = await self._commit([item for item, _ in writing])
            for (_, future), outcome in zip(writing, outcomes, strict=True):
                if future.done():  # its caller was cancelled
                    continue
                if isinstance(outcome, Failed):
                    future.set_exception(outcome.error)
                else:
                    future.set_result(outcome)
            writing.clear()

    def _interrupted(
        self, writing: list[tuple[Item, asyncio.Future[Result]]], task: asyncio.Task[None]
    ) -> None:
        """A writer cancelled (at shutdown, perhaps before it began) leaves nobody waiting.

        Its waiters get an outage's answer, which sends a usage row to the backlog.
        """
        if not task.cancelled():
            return
        left = list(writing)
        if task is self._task:  # no newer writer took the rows that came since
            left, self._pending = [*left, *self._pending], []
        for _, future in left:
            if not future.done():
                future.set_exception(ServiceError("database", "write interrupted", retryable=True))

    async def _commit(self, items: Sequence[Item]) -> Sequence[Result | Failed]:
        """One outcome per item: its result when written, else the error that refused it."""
        try:
            return await self._write(items)
        except ServiceError as error:
            if error.retryable or len(items) == 1:
                return [Failed(error)] * len(items)
            return [await self._one(item) for item in items]  # find the item that was refused
        except Exception as error:  # each waiter raises it as its own
            return [Failed(error)] * len(items)

    async def _one(self, item: Item) -> Result | Failed:
        try:
            [result] = await self._write([item])
        except Exception as error:  # handed to the item's waiter
            return Failed(error)
        return result


@dataclass(frozen=True)
class Failed:
    """An item the database refused, and why."""

    error: Exception
