"""EVENT_LOOP: which loop `python -m bot` runs on."""

from __future__ import annotations

import asyncio

from bot.__main__ import run_loop
from bot.config import Settings


async def _on_uvloop() -> int:
    return int(type(asyncio.get_running_loop()).__module__.startswith("uvloop"))


def test_the_bot_runs_on_uvloop_by_default() -> None:
    assert Settings.model_fields["event_loop"].default == "uvloop"
    assert run_loop("uvloop", _on_uvloop()) == 1


def test_event_loop_asyncio_runs_on_asyncio_s_own_loop() -> None:
    assert run_loop("asyncio", _on_uvloop()) == 0
