"""A process of its own for encoding speech, so the encoder never holds the event loop's GIL.

The Realtime voice hands the bot raw PCM, and every sentence of every answer is encoded to
Opus here. In worker threads that encoding needs the GIL for most of its frames: with 64
answers being spoken at once the event loop waited for it (stalls of 0.6-1.4 s, profiled
with `py-spy --gil`). One worker process does the same work beside the loop instead.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from bot.errors import ServiceError

log = logging.getLogger(__name__)
T = TypeVar("T")


def _ready() -> bool:
    """Load the encoder's libraries in the worker (its first task)."""
    import bot.voice_out  # noqa: F401 - numpy, PyAV, pydub: ~0.3 s, once per worker

    return True


class EncoderProcess:
    """One worker process, started at first use, started again if it dies.

    Args:
        stage: the stage a dead worker is reported as (ServiceError's stage).
    """

    def __init__(self, stage: str) -> None:
        """Start nothing yet."""
        self._stage = stage
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()  # the warm-up thread may start it while the loop does

    def start(self) -> None:
        """Start the worker and load its libraries in the background, unless it runs already.

        Blocks ~15 ms here; the worker's own start-up (~1 s) runs beside.
        """
        with self._lock:
            if self._executor is not None:
                return
        self._pool().submit(_ready)

    async def run(self, function: Callable[..., T], *args: object, **kwargs: object) -> T:
        """`function(*args, **kwargs)` in the worker; it and its arguments must pickle.

        Raises:
            ServiceError: the worker died (it is replaced for the next call); retryable.
        """
        call = functools.partial(function, *args, **kwargs)
        executor = self._pool()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, call)
        except BrokenProcessPool as error:
            log.warning("%s: the encoder process died; starting another", self._stage)
            if self._executor is executor:
                self._executor = None
            raise ServiceError(self._stage, "encoder process died", retryable=True) from error

    def close(self) -> None:
        """Stop the worker without waiting for it (at shutdown)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                # spawn: a fork of this threaded process could inherit a held lock.
                context = multiprocessing.get_context("spawn")
                self._executor = ProcessPoolExecutor(max_workers=1, mp_context=context)
            return self._executor
