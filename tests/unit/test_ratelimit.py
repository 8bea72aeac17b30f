"""The priority rate limiter on a manual clock: kept calls wait, ephemeral ones are dropped."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.core.budget import Claim, TokenBucket, take_all
from bot.tg.ratelimit import Dropped, FloodLimits, PriorityRateLimiter

PRIVATE, OTHER, GROUP = 11, 12, -100


class ManualClock:
    """Time moves only when the test says so; sleepers wake in deadline order."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._ids = itertools.count()
        self.slept = asyncio.Event()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._ids), future))
        self.slept.set()
        await future

    def wake_next(self) -> None:
        deadline, _, future = heapq.heappop(self._sleepers)
        self.now = max(self.now, deadline)
        future.set_result(None)


class Api:
    """Records the calls that reached 'Telegram' with the clock's time; can answer 429 first."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.made: list[tuple[float, str, Any]] = []
        self.floods: dict[Any, int] = {}

    def call(self, method: str, chat_id: Any) -> Any:
        async def callback() -> Any:
            if retry_after := self.floods.pop(chat_id, 0):
                raise RetryAfter(retry_after)
            self.made.append((self.clock.now, method, chat_id))
            return True if method in ("sendChatAction", "sendMessageDraft") else {"ok": 1}

        return callback


async def outcome(rate_limiter: PriorityRateLimiter, api: Api, method: str, chat_id: Any) -> str:
    try:
        await send(rate_limiter, api, method, chat_id)
    except Dropped:
        return "dropped"
    return "sent"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def limiter(clock: ManualClock, **limits: float) -> tuple[PriorityRateLimiter, Api, list[str]]:
    outcomes: list[str] = []
    rate_limiter = PriorityRateLimiter(
        FloodLimits(**limits),
        clock=clock,
        sleep=clock.sleep,
        on_call=lambda method, outcome: outcomes.append(f"{method}:{outcome}"),
    )
    return rate_limiter, Api(clock), outcomes


async def send(
    rate_limiter: PriorityRateLimiter, api: Api, method: str, chat_id: Any, priority: Any = None
) -> Any:
    return await rate_limiter.process_request(
        api.call(method, chat_id), (), {}, method, {"chat_id": chat_id}, priority
    )


async def test_kept_messages_wait_their_turn_and_all_arrive(clock: ManualClock) -> None:
    rate_limiter, api, _ = limiter(clock, global_rate=2, global_burst=1, private_burst=10)
    tasks = [asyncio.create_task(send(rate_limiter, api, "sendMessage", PRIVATE)) for _ in range(4)]
    while not all(task.done() for task in tasks):
        await clock.slept.wait()
        clock.slept.clear()
        clock.wake_next()
        await asyncio.wait(tasks, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
    assert [time for time, _, _ in api.made] == [0.0, 0.5, 1.0, 1.5]


async def test_after_a_stall_every_message_the_refill_pays_for_goes_at_once(
    clock: ManualClock,
) -> None:
    rate_limiter, api, _ = limiter(clock, global_rate=10, global_burst=10)
    for chat in range(100, 110):
        await send(rate_limiter, api, "sendMessage", chat)
    tasks = [asyncio.create_task(send(rate_limiter, api, "sendVoice", c)) for c in range(100, 110)]
    await clock.slept.wait()
    assert rate_limiter.waiting() == 10
    clock.now = 1.0  # the loop was busy for a second: ten tokens came meanwhile
    clock.wake_next()
    await asyncio.gather(*tasks)
    assert [time for time, method, _ in api.made if method == "sendVoice"] == [1.0] * 10
    assert [chat for _, method, chat in api.made if method == "sendVoice"] == list(range(100, 110))


async def test_a_message_cancelled_while_waiting_gives_its_turn_to_the_next(
    clock: ManualClock,
) -> None:
    rate_limiter, api, _ = limiter(clock, global_rate=1, global_burst=1)
    await send(rate_limiter, api, "sendMessage", PRIVATE)
    cancelled = asyncio.create_task(send(rate_limiter, api, "sendMessage", OTHER))
    kept = asyncio.create_task(send(rate_limiter, api, "sendMessage", 13))
    await clock.slept.wait()
    cancelled.cancel()
    clock.wake_next()
    await kept
    assert [(time, chat) for time, _, chat in api.made] == [(0.0, PRIVATE), (1.0, 13)]
    assert rate_limiter.waiting() == 0


async def test_drafts_are_dropped_not_queued_when_the_budget_is_short(clock: ManualClock) -> None:
    rate_limiter, api, outcomes = limiter(clock, action_rate=1, action_burst=4, action_keep=2)
    results = [await outcome(rate_limiter, api, "sendMessageDraft", c) for c in range(21, 25)]
    # Every call answers at once; only two reached the API, and the reserve of two is left for
    # the messages people keep.
    assert results == ["sent", "sent", "dropped", "dropped"]
    assert [method for _, method, _ in api.made] == ["sendMessageDraft"] * 2
    assert outcomes.count("sendMessageDraft:dropped") == 2
    await send(rate_limiter, api, "sendMessage", PRIVATE)
    await send(rate_limiter, api, "sendVoice", PRIVATE)
    assert [method for _, method, _ in api.made][2:] == ["sendMessage", "sendVoice"]
    assert clock.now == 0.0  # the kept ones did not wait


async def test_nothing_ephemeral_goes_while_a_kept_message_waits(clock: ManualClock) -> None:
    rate_limiter, api, _ = limiter(clock, global_rate=1, global_burst=1)
    await send(rate_limiter, api, "sendMessage", PRIVATE)
    waiting = asyncio.create_task(send(rate_limiter, api, "sendVoice", OTHER))
    await clock.slept.wait()
    assert rate_limiter.waiting() == 1
    assert await outcome(rate_limiter, api, "sendChatAction", OTHER) == "dropped"
    clock.wake_next()
    await waiting
    assert [method for _, method, _ in api.made] == ["sendMessage", "sendVoice"]


async def test_a_dropped_message_preview_raises_dropped(clock: ManualClock) -> None:
    rate_limiter, api, _ = limiter(clock, group_burst=2, chat_keep=2)
    with pytest.raises(Dropped):
        await send(rate_limiter, api, "editMessageText", GROUP, "ephemeral")
    assert api.made == []


async def test_a_group_gets_its_own_budget(clock: ManualClock) -> None:
    rate_limiter, api, _ = limiter(clock, group_rate=1 / 3, group_burst=2)
    tasks = [asyncio.create_task(send(rate_limiter, api, "sendMessage", GROUP)) for _ in range(3)]
    await clock.slept.wait()
    await send(rate_limiter, api, "sendMessage", PRIVATE)  # another chat is not held back
    clock.wake_next()
    await asyncio.gather(*tasks)
    assert [(time, chat) for time, _, chat in api.made] == [
        (0.0, GROUP),
        (0.0, GROUP),
        (0.0, PRIVATE),
        (3.0, GROUP),
    ]


async def test_flood_control_is_honoured_for_that_chat_only(clock: ManualClock) -> None:
    rate_limiter, api, outcomes = limiter(clock)
    api.floods[PRIVATE] = 7
    retried = asyncio.create_task(send(rate_limiter, api, "sendMessage", PRIVATE))
    await clock.slept.wait()
    assert outcomes == ["sendMessage:flood"]
    await send(rate_limiter, api, "sendMessage", OTHER)  # another chat goes on at once
    assert await outcome(rate_limiter, api, "sendMessageDraft", PRIVATE) == "dropped"
    clock.wake_next()
    await retried
    assert [(time, chat) for time, _, chat in api.made] == [(0.0, OTHER), (7.0, PRIVATE)]


async def test_an_ephemeral_call_meeting_flood_control_is_not_retried(clock: ManualClock) -> None:
    rate_limiter, api, outcomes = limiter(clock)
    api.floods[PRIVATE] = 3
    assert await outcome(rate_limiter, api, "sendChatAction", PRIVATE) == "dropped"
    assert api.made == []
    assert outcomes == ["sendChatAction:flood"]


async def test_the_first_chat_action_can_be_kept(clock: ManualClock) -> None:
    rate_limiter, api, _ = limiter(clock, action_rate=1, action_burst=1, action_keep=0)
    await send(rate_limiter, api, "sendChatAction", PRIVATE, "keep")
    first_sign = asyncio.create_task(send(rate_limiter, api, "sendChatAction", OTHER, "keep"))
    await clock.slept.wait()
    clock.wake_next()
    assert await first_sign is True
    assert [(time, chat) for time, _, chat in api.made] == [(0.0, PRIVATE), (1.0, OTHER)]


async def test_chat_actions_and_file_downloads_do_not_wait_for_messages(clock: ManualClock) -> None:
    # Telegram's ~30 a second counts messages: 200 first signs of life and 200 getFile calls
    # must not push the answers back.
    rate_limiter, api, _ = limiter(clock, global_rate=1, global_burst=1)
    await send(rate_limiter, api, "sendMessage", PRIVATE)
    waiting = asyncio.create_task(send(rate_limiter, api, "sendVoice", OTHER))
    await clock.slept.wait()
    await send(rate_limiter, api, "sendChatAction", 13, "keep")
    await rate_limiter.process_request(api.call("getFile", None), (), {}, "getFile", {}, None)
    assert [method for _, method, _ in api.made] == ["sendMessage", "sendChatAction", "getFile"]
    assert clock.now == 0.0 and not waiting.done()
    clock.wake_next()
    await waiting


async def test_reactions_spend_the_actions_budget_not_the_chats_messages(
    clock: ManualClock,
) -> None:
    rate_limiter, api, _ = limiter(clock, private_rate=1, private_burst=1, action_keep=0)
    await send(rate_limiter, api, "sendMessage", PRIVATE)
    waiting = asyncio.create_task(send(rate_limiter, api, "sendMessage", PRIVATE))
    await clock.slept.wait()
    # Kept, yet not in the chat's line: it is not a message.
    assert await outcome(rate_limiter, api, "setMessageReaction", PRIVATE) == "sent"
    assert [method for _, method, _ in api.made] == ["sendMessage", "setMessageReaction"]
    assert clock.now == 0.0 and not waiting.done()
    clock.wake_next()
    await waiting


async def test_flood_control_on_a_call_without_a_chat_is_waited_out(clock: ManualClock) -> None:
    rate_limiter, api, outcomes = limiter(clock)
    api.floods[None] = 4
    call = asyncio.create_task(
        rate_limiter.process_request(api.call("getFile", None), (), {}, "getFile", {}, None)
    )
    await clock.slept.wait()
    clock.wake_next()
    await call
    assert [(time, method) for time, method, _ in api.made] == [(4.0, "getFile")]
    assert outcomes == ["getFile:flood", "getFile:sent"]


@pytest.mark.parametrize(
    ("tokens", "cost", "keep", "wait"),
    [(3.0, 1.0, 0.0, 0.0), (0.5, 1.0, 0.0, 0.25), (2.5, 1.0, 2.0, 0.25), (0.0, 0.0, 0.0, 0.0)],
    ids=["a token is there", "half a token refills in 1/4 s", "the reserve counts", "a check"],
)
def test_token_bucket_wait(tokens: float, cost: float, keep: float, wait: float) -> None:
    bucket = TokenBucket(rate=2.0, burst=4.0, tokens=tokens, updated=10.0)
    assert bucket.wait(cost, keep, now=10.0) == pytest.approx(wait)


def test_taking_from_several_buckets_is_all_or_nothing() -> None:
    buckets = {"chat:1": TokenBucket(1.0, 3.0, 0.0, 0.0)}
    claims = [Claim("global", 30.0, 10.0), Claim("chat:1", 1.0, 3.0)]
    assert take_all(buckets, claims, now=0.0) == pytest.approx(1.0)
    assert buckets["global"].tokens == 10.0
    assert take_all(buckets, claims, now=1.0) == 0.0
    assert (buckets["global"].tokens, buckets["chat:1"].tokens) == (9.0, 0.0)


async def test_with_many_chats_active_each_gets_a_fair_turn_at_drafts(clock: ManualClock) -> None:
    # Three active chats share half of 3 calls/s: one ephemeral call per chat every 2 s.
    rate_limiter, api, _ = limiter(
        clock, action_rate=3, action_burst=100, action_keep=0, ephemeral_share=0.5
    )
    for chat in (PRIVATE, OTHER, 13):
        await send(rate_limiter, api, "sendMessage", chat)
    assert rate_limiter.active_chats() == 3
    assert await outcome(rate_limiter, api, "sendMessageDraft", PRIVATE) == "sent"
    assert await outcome(rate_limiter, api, "sendMessageDraft", PRIVATE) == "dropped"
    clock.now = 2.0
    assert await outcome(rate_limiter, api, "sendMessageDraft", PRIVATE) == "sent"
    drafts = [time for time, method, _ in api.made if method == "sendMessageDraft"]
    assert drafts == [0.0, 2.0]
