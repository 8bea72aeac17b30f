"""UserTurns: one update at a time per user, in order, remembering only users being answered."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Literal

import pytest

from bot.tg.ordering import Pacer, PerUserUpdateProcessor, UserTurns


async def test_a_users_lock_is_kept_while_an_update_waits_and_dropped_after_the_last() -> None:
    turns = UserTurns()
    started, release = asyncio.Event(), asyncio.Event()
    answered: list[int] = []

    async def answer(number: int) -> None:
        started.set()
        await release.wait()
        answered.append(number)

    first = asyncio.create_task(turns.run(1, answer(1)))
    second = asyncio.create_task(turns.run(1, answer(2)))
    await started.wait()
    assert turns.busy_users == 1, "the second update waits on the first one's lock"
    release.set()
    await asyncio.gather(first, second)
    assert answered == [1, 2]
    assert turns.busy_users == 0


async def test_many_users_answered_one_after_another_leave_no_lock_behind() -> None:
    turns = UserTurns()

    async def answer() -> None:
        return None

    for user_id in range(1000):
        await turns.run(user_id, answer())
    assert turns.busy_users == 0


async def test_an_update_that_fails_or_is_cancelled_leaves_no_lock_behind() -> None:
    turns = UserTurns()
    started = asyncio.Event()

    async def fail() -> None:
        raise ValueError("the handler failed")

    async def hang() -> None:
        started.set()
        await asyncio.Event().wait()

    with pytest.raises(ValueError, match="the handler failed"):
        await turns.run(1, fail())
    hanging = asyncio.create_task(turns.run(2, hang()))
    await started.wait()
    assert turns.cancel(2)
    await hanging
    assert turns.busy_users == 0


async def test_at_most_per_turn_updates_begin_in_one_turn_of_the_event_loop() -> None:
    loop = asyncio.get_running_loop()
    ticks = 0

    def tick() -> None:
        nonlocal ticks
        ticks += 1
        loop.call_soon(tick)

    loop.call_soon(tick)
    pacer = Pacer(per_turn=3)
    began: list[int] = []

    async def update() -> None:
        await pacer.turn()
        began.append(ticks)

    await asyncio.gather(*(update() for _ in range(10)))
    per_turn = Counter(began)
    assert sum(per_turn.values()) == 10, "every update begins"
    assert max(per_turn.values()) == 3 and len(per_turn) == 4


class WatchedEvent(asyncio.Event):
    """An Event that says when someone began waiting on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waited = asyncio.Event()

    async def wait(self) -> Literal[True]:
        self.waited.set()
        return await super().wait()


async def test_updates_begin_only_once_the_process_has_warmed_up() -> None:
    ready = WatchedEvent()
    processor = PerUserUpdateProcessor(UserTurns(), ready=ready)
    ran: list[str] = []

    async def handle() -> None:
        ran.append("handled")

    update = asyncio.create_task(processor.do_process_update(object(), handle()))
    await ready.waited.wait()
    assert ran == []
    ran.append("warm")
    ready.set()
    await update
    assert ran == ["warm", "handled"]
