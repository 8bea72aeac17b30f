"""A Redis restart in the middle of an answer loses nothing (web + two workers, AOF on).

The update interrupted by Redis is resumed from its progress record once Redis is back, by the
worker that held it or by another; every voice note gets its text and its voice reply, once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cluster import BotProcess, Cluster, OwnRedis, QueueView
from tests.conftest import sample
from tests.emulators import BotApiEmulator, OpenAIEmulator
from tests.emulators.bot_state import BotMessage

CHAT = "/chat/completions"
SPEECH = "/audio/speech"
USER = 8201


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[OwnRedis]:
    """A Redis of this test's own, to restart in the middle of the run."""
    server = OwnRedis(tmp_path / "redis")
    await server.start()
    yield server
    await server.stop()


def replies(bot_api: BotApiEmulator, message_id: int, kind: str) -> list[BotMessage]:
    """The bot's messages of `kind` replying to one of the user's messages."""
    return [
        m
        for m in bot_api.chat_messages(USER)
        if m.reply_to_message_id == message_id and m.kind == kind
    ]


def interrupted(workers: list[BotProcess], update_id: int) -> bool:
    """Whether a worker's answer to `update_id` ran into the outage."""
    lines = ("redis unavailable", f"update {update_id} interrupted by Redis")
    return any(line in w.logs() for w in workers for line in lines)


async def answered_once(
    bot_api: BotApiEmulator, queue_url: str, prefix: str, notes: list[int]
) -> None:
    """Wait until every update is finished; then each note has one text and one voice reply."""
    queue = QueueView(queue_url, prefix)
    try:
        await bot_api.wait_for(queue.drained, timeout=120)
    finally:
        queue.close()
    for note in notes:
        assert len(replies(bot_api, note, "text")) == 1, f"one text reply to {note}"
        assert len(replies(bot_api, note, "voice")) == 1, f"one voice reply to {note}"


async def test_redis_restarted_while_an_answer_streams_every_voice_note_is_answered_once(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, cluster: Cluster, own_redis: OwnRedis
) -> None:
    cluster.redis_url = own_redis.url
    openai_api.reply_with("A short spoken answer.")
    openai_api.hold(CHAT)  # the first voice note's answer stops after its first words
    _web, *workers = await cluster.start_all("web", "worker", "worker")
    voice = sample("en_1.ogg")
    notes = [bot_api.send_voice(USER, voice, duration=3) for _ in range(2)]
    await openai_api.wait_for(lambda: openai_api.held == 1, timeout=60)
    await bot_api.wait_for(lambda: bot_api.pending_updates() == 0, timeout=30)

    await own_redis.stop()
    openai_api.release(CHAT)
    await bot_api.wait_for(lambda: any("Error 111" in w.logs() for w in workers), timeout=60)
    await own_redis.start()

    await answered_once(bot_api, own_redis.url, cluster.prefix, notes)


async def test_redis_restarted_while_the_voice_is_made_the_voice_reply_still_arrives_once(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, cluster: Cluster, own_redis: OwnRedis
) -> None:
    cluster.redis_url = own_redis.url
    # The speech endpoint's request can be held mid-voice; a Realtime session's cannot.
    cluster.extra = {"TTS_BACKEND": "openai", "TTS_FALLBACKS": "", "TTS_MODEL": "gpt-4o-mini-tts"}
    openai_api.reply_with("A short spoken answer.")
    openai_api.delay_next(SPEECH, 5)  # the first voice note's voice takes a while
    _web, *workers = await cluster.start_all("web", "worker", "worker")
    voice = sample("en_1.ogg")
    notes = [bot_api.send_voice(USER, voice, duration=3)]
    first = int(bot_api.updates[-1]["update_id"])
    notes.append(bot_api.send_voice(USER, voice, duration=3))
    await openai_api.wait_for(lambda: len(openai_api.speech_requests()) == 1, timeout=60)

    await own_redis.stop()  # while the voice is being made
    await openai_api.wait_for(lambda: bool(openai_api.speech_requests()[0].status), timeout=30)
    await bot_api.wait_for(lambda: interrupted(workers, first), timeout=60)
    await own_redis.start()

    await answered_once(bot_api, own_redis.url, cluster.prefix, notes)
