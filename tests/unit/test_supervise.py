"""A worker's duties are started again when they fail, and are reported down meanwhile."""

from __future__ import annotations

import asyncio

from bot.durable.supervise import Duties


class Gate:
    """A pause the test opens by hand, so nothing depends on how long anything takes."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()

    async def pause(self, seconds: float) -> None:
        self.entered.set()
        await self.opened.wait()


async def test_a_failed_duty_is_down_until_it_starts_again_then_runs_to_its_end() -> None:
    gate, failures, runs = Gate(), [], []
    duties = Duties(pause=gate.pause, on_failure=failures.append)

    async def claimer() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise ValueError("an entry it could not read")

    kept = asyncio.create_task(duties.keep("claimer", claimer))
    await gate.entered.wait()
    assert not duties.healthy() and duties.down == {"claimer"}
    assert failures == ["claimer"]
    gate.opened.set()
    await kept
    assert duties.healthy() and runs == [0, 1]


async def test_every_duty_running_is_healthy_and_cancelling_stops_it() -> None:
    duties = Duties()
    started = asyncio.Event()

    async def reader() -> None:
        started.set()
        await asyncio.Event().wait()

    kept = asyncio.create_task(duties.keep("reader", reader))
    await started.wait()
    assert duties.healthy()
    kept.cancel()
    await asyncio.gather(kept, return_exceptions=True)
    assert kept.cancelled()
