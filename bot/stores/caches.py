"""Redis caches that save paying twice: transcripts, context-free answers, synthesized speech.

Every value stored here is already anonymized; the callers decide what may be cached.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis

from bot.core.cache_keys import answer_key, speech_key, transcript_key
from bot.stores.redis import as_bytes, as_text
from bot.tts.base import Speech

T = TypeVar("T")
CacheEvent = Callable[..., None]


class CacheCounters:
    """Hit and miss counts kept in Redis for /stats, and forwarded to the metrics."""

    def __init__(
        self, client: aioredis.Redis, on_event: CacheEvent | None = None, *, prefix: str = ""
    ) -> None:
        self._redis = client
        self._key = f"{prefix}cache:stats"
        self._on_event = on_event

    async def count(self, cache: str, hit: bool) -> None:
        """Count one lookup."""
        await self._redis.hincrby(self._key, f"{cache}:{'hit' if hit else 'miss'}", 1)
        if self._on_event:
            self._on_event(cache, hit=hit)

    async def totals(self) -> dict[str, int]:
        """{'answer:hit': n, 'answer:miss': m, ...}."""
        raw = await self._redis.hgetall(self._key)
        return {as_text(k): int(v) for k, v in raw.items()}


class _Cache:
    """What every cache holds: the client, the hit counters, a lifetime (0 = off), a key prefix."""

    def __init__(
        self, client: aioredis.Redis, counters: CacheCounters, *, ttl: int, prefix: str = ""
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._counters = counters
        self._ttl = ttl


class TranscriptCache(_Cache):
    """Transcripts by Telegram file_unique_id; concurrent requests for one file share one job."""

    _in_flight: dict[str, asyncio.Future[dict[str, str]]]

    def __init__(
        self, client: aioredis.Redis, counters: CacheCounters, *, ttl: int, prefix: str = ""
    ) -> None:
        super().__init__(client, counters, ttl=ttl, prefix=prefix)
        self._in_flight = {}

    async def get_or_compute(
        self,
        file_unique_id: str,
        compute: Callable[[], Awaitable[tuple[dict[str, str], bool]]],
    ) -> dict[str, str]:
        """The cached transcript, or `compute()` (→ value, may_cache) run once for all waiters."""
        key = self._prefix + transcript_key(file_unique_id)
        cached = await self._redis.get(key)
        if cached is not None:
            await self._counters.count("transcript", True)
            return dict(json.loads(cached))
        if key in self._in_flight:
            await self._counters.count("transcript", True)
            return await asyncio.shield(self._in_flight[key])
        await self._counters.count("transcript", False)
        future: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            value, may_cache = await compute()
            if may_cache and self._ttl:
                await self._redis.set(key, json.dumps(value, ensure_ascii=False), ex=self._ttl)
            future.set_result(value)
            return value
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # mark retrieved: waiters, if any, get it from await
            raise
        finally:
            del self._in_flight[key]


class AnswerCache(_Cache):
    """Answers to context-free, impersonal questions, shared between users."""

    async def get(
        self, *, question: str, language: str, model: str, system_prompt: str
    ) -> str | None:
        """The cached answer, or None."""
        key = self._prefix + answer_key(
            question=question, language=language, model=model, system_prompt=system_prompt
        )
        value = await self._redis.get(key)
        await self._counters.count("answer", value is not None)
        return as_text(value) if value is not None else None

    async def put(
        self, *, question: str, language: str, model: str, system_prompt: str, answer: str
    ) -> None:
        """Store an answer the caller has checked with is_cacheable."""
        if not self._ttl:
            return
        key = self._prefix + answer_key(
            question=question, language=language, model=model, system_prompt=system_prompt
        )
        await self._redis.set(key, answer.encode(), ex=self._ttl)


class SpeechCache(_Cache):
    """Synthesized sentences by text, language and voice (the SpeechCacheProtocol of bot.speech)."""

    async def get(self, text: str, language: str, voice_id: str) -> Speech | None:
        """The cached clip, or None."""
        raw = await self._redis.hgetall(
            self._prefix + speech_key(text=text, language=language, voice=voice_id)
        )
        await self._counters.count("speech", bool(raw))
        if not raw:
            return None
        return Speech(
            audio=as_bytes(raw[b"audio"]),
            format=as_text(raw[b"format"]),
            backend=as_text(raw[b"backend"]),
        )

    async def put(self, text: str, language: str, voice_id: str, speech: Speech) -> None:
        """Store a clip."""
        if not self._ttl:
            return
        key = self._prefix + speech_key(text=text, language=language, voice=voice_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={"audio": speech.audio, "format": speech.format, "backend": speech.backend},
            )
            pipe.expire(key, self._ttl)
            await pipe.execute()
