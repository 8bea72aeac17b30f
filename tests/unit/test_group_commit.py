"""Group commit's scheduling, with a writer in memory standing for the database."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.db.group_commit import TASK_NAME, GroupCommit
from bot.errors import ServiceError


class Ledger:
    """One list per transaction; `gate` holds a transaction open until set."""

    def __init__(self) -> None:
        self.transactions: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def write(self, items: Sequence[int]) -> list[int]:
        await self.gate.wait()
        if any(item < 0 for item in items):
            raise ServiceError("database", "refused", retryable=False)
        self.transactions.append(list(items))
        return [item * 10 for item in items]


async def test_what_arrives_during_a_write_shares_the_next_transaction() -> None:
    ledger = Ledger()
    commit = GroupCommit(ledger.write)
    ledger.gate.clear()
    first = asyncio.create_task(commit.add(1))
    await asyncio.sleep(0)  # the first transaction is open, waiting on the gate
    rest = [asyncio.create_task(commit.add(n)) for n in (2, 3, 4)]
    ledger.gate.set()
    assert await asyncio.gather(first, *rest) == [10, 20, 30, 40]
    assert ledger.transactions == [[1], [2, 3, 4]]


async def test_an_item_the_database_refuses_is_written_alone_and_costs_the_others_nothing() -> None:
    ledger = Ledger()
    commit = GroupCommit(ledger.write)
    outcomes = await asyncio.gather(
        commit.add(1), commit.add(-1), commit.add(2), return_exceptions=True
    )
    assert outcomes[0] == 10 and outcomes[2] == 20
    assert isinstance(outcomes[1], ServiceError) and not outcomes[1].retryable
    assert ledger.transactions == [[1], [2]]


async def test_a_writer_cancelled_mid_write_answers_every_waiter_with_a_retryable_error() -> None:
    ledger = Ledger()
    commit = GroupCommit(ledger.write)
    ledger.gate.clear()
    waiters = [asyncio.create_task(commit.add(n)) for n in (1, 2)]
    await asyncio.sleep(0)
    [writer] = [task for task in asyncio.all_tasks() if task.get_name() == TASK_NAME]
    writer.cancel()  # as asyncio.run does with the tasks left at shutdown
    for waiter in waiters:
        with pytest.raises(ServiceError) as caught:
            await asyncio.wait_for(waiter, timeout=10)
        assert caught.value.retryable
