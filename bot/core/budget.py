"""Token buckets for call budgets (Telegram's flood limits); `now` is always a parameter."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """One token wanted from the bucket `key`, which refills at `rate` a second up to `burst`.

    `keep` tokens must remain after taking: a droppable call leaves them for the calls that
    must arrive. A `cost` of 0 only checks that the bucket is open (not under flood control).
    """

    key: str
    rate: float
    burst: float
    keep: float = 0.0
    cost: float = 1.0


@dataclass
class TokenBucket:
    """Tokens as of `updated`; flood control can close the bucket until `closed_until`."""

    rate: float
    burst: float
    tokens: float
    updated: float
    closed_until: float = 0.0

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last update, up to the burst."""
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait(self, cost: float, keep: float, now: float) -> float:
        """Seconds until `cost` tokens can be taken with `keep` left over (0.0: now)."""
        self.refill(now)
        if now < self.closed_until:
            return self.closed_until - now
        missing = cost + keep - self.tokens
        return 0.0 if missing <= 0 else missing / self.rate

    def close(self, seconds: float, now: float) -> None:
        """Flood control: nothing until `seconds` from now, then one call (the retry) at once."""
        self.closed_until = max(self.closed_until, now + seconds)
        self.tokens = min(1.0, self.burst)
        self.updated = self.closed_until

    def idle(self, now: float) -> bool:
        """Whether the bucket is full and open, so forgetting it changes nothing."""
        self.refill(now)
        return self.tokens >= self.burst and now >= self.closed_until


def take_all(buckets: dict[str, TokenBucket], claims: list[Claim], now: float) -> float:
    """Take every claim's cost, or nothing; 0.0 when taken, else seconds until possible."""
    for claim in claims:
        if claim.key not in buckets:
            buckets[claim.key] = TokenBucket(claim.rate, claim.burst, claim.burst, now)
    wait = max((buckets[c.key].wait(c.cost, c.keep, now) for c in claims), default=0.0)
    if wait == 0.0:
        for claim in claims:
            buckets[claim.key].tokens -= claim.cost
    return wait
