"""Telegram's call budget in Redis: one set of token buckets for every process of one bot.

Webhook mode runs several workers under one bot token, and Telegram's flood limits count the
token, not the process. The buckets follow bot.core.budget exactly (refill, keep, cost, flood
control), done in one Lua script per call so that takes from several processes never race;
the clock is Redis's own, the same for every machine.
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.core.budget import Claim

log = logging.getLogger(__name__)

# Every claim brings four numbers (rate, burst, keep, cost); returns the wait, as text.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait, state = 0, {}
for i, key in ipairs(KEYS) do
  local base = (i - 1) * 4
  local rate, burst = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  local keep, cost = tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
  local h = redis.call('HMGET', key, 'tokens', 'updated', 'closed')
  local tokens = tonumber(h[1]) or burst
  local updated = tonumber(h[2]) or now
  local closed = tonumber(h[3]) or 0
  if now > updated then
    tokens = math.min(burst, tokens + (now - updated) * rate)
    updated = now
  end
  local w = 0
  if now < closed then
    w = closed - now
  elseif cost + keep - tokens > 0 then
    w = (cost + keep - tokens) / rate
  end
  if w > wait then wait = w end
  state[i] = {tokens - cost, updated, closed, burst / rate + math.max(0, closed - now) + 60}
end
if wait == 0 then
  for i, key in ipairs(KEYS) do
    local s = state[i]
    redis.call('HSET', key, 'tokens', s[1], 'updated', s[2], 'closed', s[3])
    redis.call('EXPIRE', key, math.ceil(s[4]))
  end
end
return tostring(wait)
"""

# Flood control: ARGV seconds, rate, burst.
_CLOSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local seconds, rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local closed = math.max(tonumber(redis.call('HGET', KEYS[1], 'closed')) or 0, now + seconds)
redis.call('HSET', KEYS[1], 'tokens', math.min(1, burst), 'updated', closed, 'closed', closed)
redis.call('EXPIRE', KEYS[1], math.ceil(closed - now + burst / rate + 60))
return 1
"""


class RedisBudget:
    """The rate limiter's Budget (bot.tg.ratelimit) shared through Redis.

    When Redis cannot be reached, calls are let through rather than held: Telegram's own 429
    (honoured by the limiter) is then the only brake, which beats not answering at all.
    """

    def __init__(self, client: aioredis.Redis, *, prefix: str = "") -> None:
        """Keep the client; bucket keys go under `{prefix}tg:budget:`."""
        self._prefix = f"{prefix}tg:budget:"
        self._take = client.register_script(_TAKE)
        self._close = client.register_script(_CLOSE)

    async def take(self, claims: list[Claim]) -> float:
        """Take one token per claim, or none: 0.0 when taken, else seconds until possible."""
        keys = [self._prefix + claim.key for claim in claims]
        numbers = [n for c in claims for n in (c.rate, c.burst, c.keep, c.cost)]
        try:
            return float(await self._take(keys=keys, args=numbers))
        except RedisError as error:
            log.warning("shared Telegram budget unavailable (%s): call let through", error)
            return 0.0

    async def close(self, claim: Claim, seconds: float) -> None:
        """Flood control: `claim`'s bucket gives nothing for `seconds`, in every process."""
        try:
            await self._close(
                keys=[self._prefix + claim.key], args=[seconds, claim.rate, claim.burst]
            )
        except RedisError as error:
            log.warning("could not share flood control (%s)", error)
