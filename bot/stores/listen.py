"""Text answers that may still be spoken on demand (the "🔊" button), for one day.

What is kept is the text as it would be spoken: masked, its placeholders already read as "the
private value" (bot.privacy), so no personal value is ever stored here, and only for as long
as the button works.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import redis.asyncio as aioredis

from bot.stores.redis import as_text

LISTEN_TTL_SECONDS = 24 * 3600  # the button works for a day


@dataclass(frozen=True)
class Saved:
    """An answer waiting to be spoken: whose it is, its speakable text and its language."""

    owner: int
    text: str
    language: str


class ListenStore:
    """One Redis hash per answer, under a random token that the button carries."""

    def __init__(
        self, client: aioredis.Redis, *, prefix: str = "", ttl: int = LISTEN_TTL_SECONDS
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl = ttl

    def _key(self, token: str) -> str:
        return f"{self._prefix}listen:{token}"

    async def save(self, owner: int, text: str, language: str) -> str:
        """Keep a speakable answer for a day; return the token for its button."""
        token = secrets.token_hex(8)
        key = self._key(token)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"owner": str(owner), "text": text, "language": language})
            pipe.expire(key, self._ttl)
            await pipe.execute()
        return token

    async def get(self, token: str) -> Saved | None:
        """The saved answer, or None when it was spoken already or is older than a day."""
        raw = await self._redis.hgetall(self._key(token))
        if not raw:
            return None
        data = {as_text(k): as_text(v) for k, v in raw.items()}
        return Saved(owner=int(data["owner"]), text=data["text"], language=data["language"])

    async def forget(self, token: str) -> None:
        """The answer was spoken: its button is done."""
        await self._redis.delete(self._key(token))
