"""Conversation memory in Redis: masked turns per conversation, bounded and expiring when idle."""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from bot.core.prompt import Turn


class ConversationStore:
    """Each conversation (a user in private, a chat in groups) is one Redis list of turns."""

    def __init__(
        self, client: aioredis.Redis, *, max_turns: int, idle_ttl_seconds: int, prefix: str = ""
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._max_turns = max_turns
        self._ttl = idle_ttl_seconds

    def _key(self, conversation: str) -> str:
        return f"{self._prefix}conv:{conversation}"

    async def load(self, conversation: str) -> list[Turn]:
        """The remembered turns, oldest first."""
        raw = await self._redis.lrange(self._key(conversation), 0, -1)
        turns = []
        for item in raw:
            data = json.loads(item)
            turns.append(Turn(user=data["u"], assistant=data["a"]))
        return turns

    async def append(self, conversation: str, turn: Turn) -> None:
        """Add a turn atomically (one MULTI/EXEC), keep the newest turns, refresh the idle timer."""
        key = self._key(conversation)
        value = json.dumps({"u": turn.user, "a": turn.assistant}, ensure_ascii=False)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, value)
            pipe.ltrim(key, -self._max_turns, -1)
            pipe.expire(key, self._ttl)
            await pipe.execute()

    async def reset(self, conversation: str) -> None:
        """Forget the conversation."""
        await self._redis.delete(self._key(conversation))

    async def has_context(self, conversation: str) -> bool:
        """Whether anything is remembered for this conversation."""
        return bool(await self._redis.exists(self._key(conversation)))
