"""Who is admitted to the update stream: one user's flood is refused, others never are.

Against a real Redis, through `UpdateQueue.store` (what both the webhook receiver and polling
call before an update is confirmed to Telegram).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.durable.queue import Admission, UpdateQueue
from tests.conftest import RedisKeyspace

_ids = itertools.count(1)


def message(user: int, text: str = "hello") -> dict[str, object]:
    """A private message update with a fresh update_id."""
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "A"},
            "text": text,
        },
    }


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """An asyncio client of the test Redis."""
    connection = aioredis.Redis.from_url(redis_url)
    yield connection
    await connection.aclose()


async def test_past_the_queue_cap_a_user_is_told_once_and_admitted_again_when_one_is_answered(
    client: aioredis.Redis, redis_keyspace: RedisKeyspace
) -> None:
    queue = UpdateQueue(client, prefix=redis_keyspace.prefix, admission=Admission(max_queued=2))
    first, second = [await queue.store(message(1)) for _ in range(2)]
    told, dropped = [await queue.store(message(1)) for _ in range(2)]
    other = await queue.store(message(2))

    assert first.entry and second.entry and (first.entry.turn, second.entry.turn) == (1, 2)
    assert told.stored and told.refused == "queue" and told.entry and told.entry.turn == 0
    assert not dropped.stored and dropped.refused == "queue", "told once, then dropped"
    assert other.stored and not other.refused, "another user is never held back"
    await queue.finish("test", first.entry)
    again = await queue.store(message(1))
    assert again.stored and not again.refused and again.entry and again.entry.turn == 3


async def test_past_the_rate_a_user_is_refused_until_the_window_ends(
    client: aioredis.Redis, redis_keyspace: RedisKeyspace
) -> None:
    admission = Admission(per_minute=3, window_seconds=1)
    queue = UpdateQueue(client, prefix=redis_keyspace.prefix, admission=admission)
    admitted = [await queue.store(message(1)) for _ in range(3)]
    for stored in admitted:
        assert stored.entry is not None
        await queue.finish("test", stored.entry)
    refused = await queue.store(message(1))
    assert refused.refused == "rate"

    deadline = time.monotonic() + 30
    while (await queue.store(message(1))).refused:
        assert time.monotonic() < deadline, "still refused long after the window"
        await asyncio.sleep(0.2)


async def test_cancel_and_repeated_deliveries_are_never_counted_as_a_flood(
    client: aioredis.Redis, redis_keyspace: RedisKeyspace
) -> None:
    queue = UpdateQueue(client, prefix=redis_keyspace.prefix, admission=Admission(1, 1))
    update = message(1)
    assert (await queue.store(update)).stored
    repeated = await queue.store(update)
    assert not repeated.stored and not repeated.refused, "a repeated delivery is no flood"
    cancel = await queue.store(message(1, "/cancel"))
    assert cancel.stored and not cancel.refused, "/cancel always gets through"
