"""Usage rows that a database outage refused, kept and written again once it is back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.errors import ServiceError

log = logging.getLogger(__name__)

Row = dict[str, Any]
# Seconds between attempts while the database stays down (the last one repeats).
RETRY_SCHEDULE_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
# A bound, so a database down for days cannot eat the memory; past it rows are counted lost.
MAX_ROWS = 100_000


class UsageBacklog:
    """A queue of ledger rows, drained by one background task that retries with backoff.

    A quota check during the outage fails anyway (the database is down), so rows written a
    little late change no decision; they are never dropped while the process lives. At
    shutdown one last attempt is made; whatever still cannot be written is logged and
    counted as lost.
    """

    def __init__(
        self,
        write: Callable[[Sequence[Row]], Awaitable[None]],
        *,
        on_change: Callable[[int], None] | None = None,
        on_lost: Callable[[int], None] | None = None,
        schedule: Sequence[float] = RETRY_SCHEDULE_SECONDS,
    ) -> None:
        """Keep the batch writer and the metric hooks (backlog size, rows lost)."""
        self._write = write
        self._rows: deque[Row] = deque()
        self._on_change = on_change or (lambda _size: None)
        self._on_lost = on_lost or (lambda _count: None)
        self._schedule = tuple(schedule)
        self._task: asyncio.Task[None] | None = None
        self._drained = asyncio.Event()
        self._drained.set()

    def __len__(self) -> int:
        """Rows waiting for the database."""
        return len(self._rows)

    def add(self, row: Row) -> None:
        """Keep a row the database refused; the drain task writes it when it can."""
        if len(self._rows) >= MAX_ROWS:
            log.error("usage backlog full: one usage row lost")
            self._on_lost(1)
            return
        self._rows.append(row)
        self._drained.clear()
        self._on_change(len(self._rows))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="usage-backlog")

    async def wait_drained(self) -> None:
        """Return once every kept row is written."""
        await self._drained.wait()

    async def aclose(self) -> None:
        """Stop retrying; try once more, and count what still cannot be written as lost."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._rows and not await self._flush():
            log.error("usage backlog: %d rows lost at shutdown", len(self._rows))
            self._on_lost(len(self._rows))
            self._rows.clear()

    async def _drain(self) -> None:
        attempt = 0
        while self._rows:
            await asyncio.sleep(self._schedule[min(attempt, len(self._schedule) - 1)])
            if await self._flush():
                attempt = 0
            else:
                attempt += 1
        self._drained.set()

    async def _flush(self) -> bool:
        batch = list(self._rows)
        try:
            await self._write(batch)
        except ServiceError as error:
            if error.retryable:
                log.warning("usage backlog: %d rows wait for the database (%s)", len(batch), error)
                return False
            # Not an outage: the same rows would fail forever, so they are reported, not retried.
            log.error("usage backlog: %d rows refused by the database (%s)", len(batch), error)
            self._on_lost(len(batch))
        for _ in batch:
            self._rows.popleft()
        log.info("usage backlog: %d rows written late", len(batch))
        self._on_change(len(self._rows))
        return True
