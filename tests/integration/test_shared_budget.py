"""Webhook workers share one Telegram budget in Redis: two limiters, one token's flood limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.stores.budget import RedisBudget
from bot.tg.ratelimit import Dropped, FloodLimits, PriorityRateLimiter
from tests.conftest import RedisKeyspace

# Five calls for the whole bot and no refill worth speaking of within a test.
LIMITS = FloodLimits(action_rate=0.001, action_burst=5, action_keep=0, ephemeral_share=1000)


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.Redis.from_url(redis_url)
    yield connection
    await connection.aclose()


def worker(client: aioredis.Redis, keyspace: RedisKeyspace) -> PriorityRateLimiter:
    return PriorityRateLimiter(LIMITS, budget=RedisBudget(client, prefix=keyspace.prefix))


async def chat_action(limiter: PriorityRateLimiter, chat_id: int) -> str:
    async def call() -> Any:
        return True

    try:
        await limiter.process_request(call, (), {}, "sendChatAction", {"chat_id": chat_id}, None)
    except Dropped:
        return "dropped"
    return "sent"


async def test_two_workers_together_spend_one_budget_not_one_each(
    client: aioredis.Redis, redis_keyspace: RedisKeyspace
) -> None:
    one, two = worker(client, redis_keyspace), worker(client, redis_keyspace)
    outcomes = [await chat_action((one, two)[n % 2], 100 + n) for n in range(10)]
    assert outcomes == ["sent"] * 5 + ["dropped"] * 5


async def test_flood_control_met_by_one_worker_closes_the_chat_for_the_other(
    client: aioredis.Redis, redis_keyspace: RedisKeyspace
) -> None:
    one, two = worker(client, redis_keyspace), worker(client, redis_keyspace)
    budget = RedisBudget(client, prefix=redis_keyspace.prefix)
    await budget.close(LIMITS.chat_claim(7), 60)
    assert await chat_action(one, 7) == "dropped"
    assert await chat_action(two, 7) == "dropped"
    assert await chat_action(two, 8) == "sent", "other chats keep going"
