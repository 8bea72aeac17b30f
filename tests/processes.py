"""Running the bot as a child process: `python -m bot` with a clean environment."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOT_PREFIXES = ("TELEGRAM_", "OPENAI_")


def bot_env(*, without: tuple[str, ...] = (), **overrides: str) -> dict[str, str]:
    """The environment for `python -m bot`: ours without TELEGRAM_/OPENAI_ variables (nor
    those starting with any prefix in `without`), PYTHONPATH at the repository root, then
    the overrides."""
    prefixes = BOT_PREFIXES + without
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return {**env, "PYTHONPATH": str(ROOT), **overrides}


def _spin() -> None:
    while True:
        pass


@contextlib.contextmanager
def busy_cpus(count: int = 2) -> Iterator[None]:
    """`count` processes spinning on the CPU beside the test (a loaded machine); killed after."""
    # spawn, not fork: the test process runs threads and an event loop a fork would copy.
    context = multiprocessing.get_context("spawn")
    spinners = [context.Process(target=_spin, daemon=True) for _ in range(count)]
    for spinner in spinners:
        spinner.start()
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.join()
