"""Telegram's flood limits with priorities: kept messages wait, drafts and chat actions drop.

python-telegram-bot's AIORateLimiter queues every call behind one budget, so under load the
drafts and chat actions that nobody will remember hold back the answers people wait for. Here
each call is either kept (waits, in arrival order) or ephemeral (made at once if the budget can
spare it with a reserve left for kept calls, dropped otherwise).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

from telegram.error import RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter

from bot.core.budget import Claim, TokenBucket, take_all

log = logging.getLogger(__name__)

GLOBAL = "global"  # messages
ACTIONS = "actions"  # drafts and chat actions
CALLS = "calls"  # everything else: only flood control applies
# Calls that show something for a moment; the first chat action of an answer is sent as KEEP.
EPHEMERAL_METHODS = frozenset({"sendChatAction", "sendMessageDraft"})
# Calls that show something but send no message: the actions' budget, not the chat's. A
# reaction (where a voice note is: heard, writing) is one, though it is kept by default.
NON_MESSAGE_METHODS = EPHEMERAL_METHODS | {"setMessageReaction"}


class Priority(StrEnum):
    """What a call is worth; pass it as `rate_limit_args` to override the method's default."""

    KEEP = "keep"
    EPHEMERAL = "ephemeral"


class Dropped(TelegramError):
    """An ephemeral call that was not made: the budget was short or the chat is flood-controlled."""


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's published limits; short bursts are tolerated.

    About 30 messages a second, 1 a second per private chat, 20 a minute per group. Drafts and
    chat actions are not messages: they cost neither the messages' budget nor the chat's, only
    one of their own at the same rate, so 200 first signs of life never hold back an answer.
    Calls that send nothing to a chat (getFile, getUpdates) spend no budget; every call still
    honours flood control (429) when Telegram answers with it.
    """

    global_rate: float = 30.0
    global_burst: float = 15.0
    action_rate: float = 30.0
    action_burst: float = 15.0
    private_rate: float = 1.0
    private_burst: float = 3.0
    group_rate: float = 20 / 60
    group_burst: float = 4.0
    action_keep: float = 5.0  # tokens an ephemeral call leaves to kept first chat actions
    chat_keep: float = 2.0  # the final text and the voice note of an answer
    # Ephemeral calls of all active chats together may use this share of the action rate, so
    # with 200 people waiting each chat gets a draft or an action every ~27 s, not every second.
    # Measured: each call costs the bot's loop milliseconds of CPU, so fewer is faster for all.
    ephemeral_share: float = 0.25
    active_seconds: float = 10.0  # a chat with a call this recent counts as active

    def global_claim(self, keep: float = 0.0) -> Claim:
        """One message from the bot's global budget."""
        return Claim(GLOBAL, self.global_rate, self.global_burst, keep)

    def action_claim(self, keep: float = 0.0) -> Claim:
        """One draft or chat action from the bot's budget for them."""
        return Claim(ACTIONS, self.action_rate, self.action_burst, keep)

    def open_claim(self) -> Claim:
        """Nothing spent, but the call waits while Telegram's flood control closes the bot."""
        return Claim(CALLS, self.global_rate, self.global_burst, cost=0.0)

    def pool_claim(self, endpoint: str, chat_id: object) -> Claim:
        """The bot-wide budget a call spends from, by what it sends."""
        if endpoint in NON_MESSAGE_METHODS:
            return self.action_claim()
        return self.open_claim() if chat_id is None else self.global_claim()

    def chat_claim(self, chat_id: object, keep: float = 0.0) -> Claim:
        """One message in `chat_id`'s budget: negative ids and @names are groups and channels."""
        group = isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0)
        if group:
            return Claim(f"chat:{chat_id}", self.group_rate, self.group_burst, keep)
        return Claim(f"chat:{chat_id}", self.private_rate, self.private_burst, keep)


class Budget(Protocol):
    """Token buckets shared by everything that calls the Bot API with one token.

    Kept in process here; a Redis implementation (one Lua script per method) would let several
    processes share the budget.
    """

    async def take(self, claims: list[Claim]) -> float:
        """Take one token per claim, or none: 0.0 when taken, else seconds until possible."""

    async def close(self, claim: Claim, seconds: float) -> None:
        """Flood control: `claim`'s bucket gives nothing for `seconds`."""


class LocalBudget:
    """The budget of one process; full buckets are forgotten now and then."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, sweep_every: int = 1000):
        """Keep buckets by key, read time from `clock`."""
        self._buckets: dict[str, TokenBucket] = {}
        self._clock = clock
        self._sweep_every = sweep_every
        self._takes = 0

    async def take(self, claims: list[Claim]) -> float:
        """Take one token per claim, or none: 0.0 when taken, else seconds until possible."""
        now = self._clock()
        self._takes += 1
        if self._takes % self._sweep_every == 0:
            self._buckets = {k: b for k, b in self._buckets.items() if not b.idle(now)}
        return take_all(self._buckets, claims, now)

    async def close(self, claim: Claim, seconds: float) -> None:
        """Flood control: `claim`'s bucket gives nothing for `seconds`."""
        now = self._clock()
        bucket = self._buckets.setdefault(
            claim.key, TokenBucket(claim.rate, claim.burst, claim.burst, now)
        )
        bucket.close(seconds, now)


@dataclass
class _Line:
    """Kept calls waiting for one bucket, served in arrival order by one pump task."""

    queue: collections.deque[asyncio.Future[None]] = field(default_factory=collections.deque)
    pump: asyncio.Task[None] | None = None
    waiting: int = 0


class PriorityRateLimiter(BaseRateLimiter[Priority]):
    """Kept calls wait in line; ephemeral ones go at once or not at all; 429s are honoured.

    A 429 closes the budget of the chat the call was for (the whole bot's budget for calls
    without a chat): other chats keep going. Kept calls are retried after `retry_after`, up to
    `max_retries` times; an ephemeral call that meets a 429 is dropped.
    """

    def __init__(
        self,
        limits: FloodLimits | None = None,
        *,
        budget: Budget | None = None,
        max_retries: int = 5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        on_call: Callable[[str, str], None] | None = None,
    ) -> None:
        """Use `limits` over `budget`; `on_call(method, outcome)` sees every decision."""
        self.limits = limits or FloodLimits()
        self._budget = budget or LocalBudget(clock)
        self._max_retries = max_retries
        self._sleep = sleep
        self._clock = clock
        self._on_call = on_call or (lambda method, outcome: None)
        self._lines: dict[str, _Line] = {}
        self._active: dict[str, float] = {}  # chat -> its latest call
        self._last_ephemeral: dict[str, float] = {}  # chat -> its latest ephemeral call
        self._pruned = 0.0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""

    def waiting(self, key: str = GLOBAL) -> int:
        """How many kept calls wait for the bucket `key` ("global" or "chat:<id>")."""
        line = self._lines.get(key)
        return line.waiting if line else 0

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Priority | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Make the call when its priority and the budget allow; see the class docstring."""
        default = Priority.EPHEMERAL if endpoint in EPHEMERAL_METHODS else Priority.KEEP
        priority = Priority(rate_limit_args) if rate_limit_args else default
        chat_id = data.get("chat_id")
        chat = None if chat_id is None else self.limits.chat_claim(chat_id)
        per_chat = chat if endpoint not in NON_MESSAGE_METHODS else None
        pool = self.limits.pool_claim(endpoint, chat_id)
        if chat is not None:
            self._mark_active(chat.key)
        for attempt in range(self._max_retries + 1):
            if priority is Priority.KEEP:
                await self._wait_for(per_chat, pool)
            elif not await self._spare(chat, per_chat, pool):
                self._on_call(endpoint, "dropped")
                return _dropped(endpoint)
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = _seconds(error)
                self._on_call(endpoint, "flood")
                log.warning("flood control on %s: retry after %.0f s", endpoint, seconds)
                await self._budget.close(chat or pool, seconds)
                if priority is Priority.EPHEMERAL:
                    return _dropped(endpoint)
                if attempt == self._max_retries:
                    raise
                continue
            self._on_call(endpoint, "sent")
            if chat is not None and endpoint in EPHEMERAL_METHODS:
                # A kept first chat action is this chat's sign of life: drafts take turns after it.
                self._last_ephemeral[chat.key] = self._clock()
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def active_chats(self) -> int:
        """Chats with a call in the last `active_seconds`."""
        return len(self._active)

    def _mark_active(self, key: str) -> None:
        now = self._clock()
        if now - self._pruned >= 1.0:
            horizon = now - self.limits.active_seconds
            self._active = {k: t for k, t in self._active.items() if t >= horizon}
            self._last_ephemeral = {k: t for k, t in self._last_ephemeral.items() if t >= horizon}
            self._pruned = now
        self._active[key] = now

    def _fair_turn(self, key: str, pool: Claim) -> bool:
        """Whether this chat's share of the ephemeral budget allows one more call now."""
        share = pool.rate * self.limits.ephemeral_share
        if len(self._active) <= share:  # a few chats: each may have a call a second or more
            return True
        interval = len(self._active) / share
        return self._clock() - self._last_ephemeral.get(key, -float("inf")) >= interval

    async def _spare(self, chat: Claim | None, per_chat: Claim | None, pool: Claim) -> bool:
        """Take tokens for an ephemeral call only when nothing kept waits and a reserve stays.

        A message waiting for the budget stops drafts and renewals too: each call costs the
        loop CPU that the messages people keep need more.
        """
        busy = self.waiting(GLOBAL) or self.waiting(pool.key) or (chat and self.waiting(chat.key))
        if busy:
            return False
        if chat is not None and not self._fair_turn(chat.key, pool):
            return False
        keep = self.limits.action_keep if pool.key == ACTIONS else 0.0
        claims = [Claim(pool.key, pool.rate, pool.burst, keep, pool.cost)]
        if per_chat is not None:
            claims.append(Claim(per_chat.key, per_chat.rate, per_chat.burst, self.limits.chat_keep))
        elif chat is not None:  # a closed chat (flood control) takes no drafts either
            claims.append(Claim(chat.key, chat.rate, chat.burst, cost=0.0))
        if await self._budget.take(claims) > 0.0:
            return False
        if chat is not None:
            self._last_ephemeral[chat.key] = self._clock()
        return True

    async def _wait_for(self, per_chat: Claim | None, pool: Claim) -> None:
        """Wait in the chat's line (when the call counts there), then in the pool's line."""
        if per_chat is not None:
            await self._wait_in_line(per_chat)
        await self._wait_in_line(pool)

    async def _wait_in_line(self, claim: Claim) -> None:
        if not claim.cost:  # spends nothing: no line, only a closed bucket makes it wait
            while (delay := await self._budget.take([claim])) > 0:
                await self._sleep(delay)
            return
        line = self._lines.setdefault(claim.key, _Line())
        if not line.queue and await self._budget.take([claim]) == 0.0:
            self._forget(claim.key, line)
            return
        turn = asyncio.get_running_loop().create_future()
        line.queue.append(turn)
        line.waiting += 1
        if line.pump is None:
            line.pump = asyncio.create_task(self._pump(claim, line))
        try:
            await turn
        finally:
            line.waiting -= 1
            self._forget(claim.key, line)

    async def _pump(self, claim: Claim, line: _Line) -> None:
        """Hand the bucket's tokens to the waiting calls in order, as many as there are at once.

        One task wakes all the calls a refill pays for in one go: a lock handed from waiter to
        waiter let through one call per turn of the event loop, which under load was well
        below 30 a second.
        """
        try:
            while line.queue:
                if line.queue[0].done():  # its caller was cancelled while waiting
                    line.queue.popleft()
                    continue
                delay = await self._budget.take([claim])
                if delay > 0:
                    await self._sleep(delay)
                    continue
                line.queue.popleft().set_result(None)
        except asyncio.CancelledError:
            for turn in line.queue:
                turn.cancel()
            raise
        except Exception as error:  # the budget failed: every waiting call hears why
            for turn in line.queue:
                if not turn.done():
                    turn.set_exception(error)
        finally:
            line.queue.clear()
            line.pump = None
            self._forget(claim.key, line)

    def _forget(self, key: str, line: _Line) -> None:
        """Drop an idle line (a newer line for the same bucket stays)."""
        if not line.waiting and line.pump is None and self._lines.get(key) is line:
            del self._lines[key]


def _seconds(error: RetryAfter) -> float:
    value: object = error._retry_after  # the timedelta itself; the property warns about ints
    return value.total_seconds() if isinstance(value, timedelta) else float(str(value))


def _dropped(endpoint: str) -> bool:
    # Raised rather than answered with a fake `true`: a renderer must know its draft never showed.
    raise Dropped(f"{endpoint} dropped: the budget is short")
