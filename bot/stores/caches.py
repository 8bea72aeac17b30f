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


class _SharedJob:
    """One transcription that several turns wait for; it belongs to none of them."""

    def __init__(self, task: asyncio.Task[dict[str, str]]) -> None:
        self.task = task
        self.waiters = 0
        self.claimed = False  # whether a waiter has taken the result as its own (and paid)


class TranscriptCache(_Cache):
    """Transcripts by Telegram file_unique_id; concurrent requests for one file share one job.

    The job runs in a task of its own, not inside the turn that started it: one waiter's
    /cancel, timeout or failure leaves it running for the others, and it is cancelled only
    when nobody waits for it any more.
    """

    _in_flight: dict[str, _SharedJob]

    def __init__(
        self, client: aioredis.Redis, counters: CacheCounters, *, ttl: int, prefix: str = ""
    ) -> None:
        super().__init__(client, counters, ttl=ttl, prefix=prefix)
        self._in_flight = {}

    async def get_or_compute(
        self,
        file_unique_id: str,
        compute: Callable[[], Awaitable[tuple[dict[str, str], bool]]],
    ) -> tuple[dict[str, str], bool]:
        """(transcript, computed): the cached one, or `compute()` (→ value, may_cache) run once.

        `computed` is True for exactly one caller per computation, the one to charge for it.
        """
        key = self._prefix + transcript_key(file_unique_id)
        cached = await self._redis.get(key)
        if cached is not None:
            await self._counters.count("transcript", True)
            return dict(json.loads(cached)), False
        job = self._in_flight.get(key)
        await self._counters.count("transcript", job is not None)
        if job is None:
            job = _SharedJob(asyncio.create_task(self._compute(key, compute)))
            self._in_flight[key] = job
            job.task.add_done_callback(lambda _task: self._forget(key, job))
        job.waiters += 1
        try:
            value = await asyncio.shield(job.task)
        finally:
            job.waiters -= 1
            if not job.waiters and not job.task.done():
                job.task.cancel()
        computed, job.claimed = not job.claimed, True
        return value, computed

    async def _compute(
        self, key: str, compute: Callable[[], Awaitable[tuple[dict[str, str], bool]]]
    ) -> dict[str, str]:
        value, may_cache = await compute()
        if may_cache and self._ttl:
            await self._redis.set(key, json.dumps(value, ensure_ascii=False), ex=self._ttl)
        return value

    def _forget(self, key: str, job: _SharedJob) -> None:
        if self._in_flight.get(key) is job:
            del self._in_flight[key]
        if not job.task.cancelled():
            job.task.exception()  # retrieved: the waiters, if any, got it from their await


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
