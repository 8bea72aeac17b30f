"""A worker's long-running duties (reader, claimer, heartbeat), restarted when one fails.

Whatever one entry or one bad moment throws, the duty starts again after a pause instead of
dying quietly while the process keeps saying it is healthy; /healthz reports 503 meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

RESTART_SECONDS = 1.0


class Duties:
    """Runs duties under supervision and knows which ones are down right now."""

    def __init__(
        self,
        *,
        pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        """Wait with `pause` before a restart; tell `on_failure` the duty's name (metrics)."""
        self._pause = pause
        self._on_failure = on_failure
        self._down: set[str] = set()

    @property
    def down(self) -> frozenset[str]:
        """The duties that failed and have not started again yet."""
        return frozenset(self._down)

    def healthy(self) -> bool:
        """Whether every duty is running."""
        return not self._down

    async def keep(self, name: str, duty: Callable[[], Awaitable[None]]) -> None:
        """Run `duty()` until it returns; start it again each time it raises."""
        while True:
            try:
                await duty()
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # whatever it was, the duty must come back
                log.exception("the %s failed; starting it again in %.0f s", name, RESTART_SECONDS)
                self._down.add(name)
                if self._on_failure is not None:
                    self._on_failure(name)
            try:
                await self._pause(RESTART_SECONDS)
            finally:
                self._down.discard(name)
