"""Webhook mode on several processes: a web receiver and workers sharing Redis and a database.

Every test runs real `python -m bot web` / `python -m bot worker` processes against the Bot API
emulator (which POSTs updates to the webhook like Telegram) and the OpenAI emulator. Nothing is
proved by sleeping: each test waits until the queue in Redis is drained (every update finished
and acknowledged), then counts what the users received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.cluster import (
    SECRET,
    Cluster,
    QueueView,
    metric,
    metric_sum,
    metrics_of,
    update_json,
)
from tests.conftest import RedisKeyspace, sample
from tests.emulators import BotApiEmulator, OpenAIEmulator
from tests.emulators.bot_state import BotMessage
from tests.postgres import POSTGRES_URL, fresh_postgres_database

USERS = (1101, 1102, 1103)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database: what several machines share."""
    async with fresh_postgres_database(POSTGRES_URL) as url:
        yield url


@pytest.fixture
async def cluster(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    redis_url: str,
    redis_keyspace: RedisKeyspace,
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    """Processes started by the test; all killed afterwards."""
    running = Cluster(
        bot_api,
        openai_api,
        redis_url,
        redis_keyspace.prefix,
        f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        tmp_path,
    )
    yield running
    await running.close()


@pytest.fixture
def queue(redis_url: str, redis_keyspace: RedisKeyspace) -> Iterator[QueueView]:
    """The test's own view of the stream in Redis."""
    view = QueueView(redis_url, redis_keyspace.prefix)
    yield view
    view.close()


def answers(bot_api: BotApiEmulator, chat: int, message_id: int, kind: str) -> list[BotMessage]:
    """The bot's messages of `kind` replying to one of the user's messages."""
    return [
        m
        for m in bot_api.chat_messages(chat)
        if m.reply_to_message_id == message_id and m.kind == kind
    ]


async def drained(bot_api: BotApiEmulator, queue: QueueView, timeout: float = 60) -> None:  # noqa: ASYNC109
    """Wait until Telegram has nothing left to deliver and every stored update is finished."""
    await bot_api.wait_for(lambda: bot_api.pending_updates() == 0 and queue.drained(), timeout)


async def test_a_burst_from_several_users_is_answered_once_each_in_order(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    cluster: Cluster,
    queue: QueueView,
    postgres_url: str,
) -> None:
    cluster.database_url = postgres_url  # several machines share PostgreSQL
    openai_api.reply_with(lambda body: f"Answer to: {body['messages'][-1]['content']}")
    _web, *workers = await cluster.start_all("web", "worker", "worker")
    calls = bot_api.calls_to("setWebhook")
    assert len(calls) == 1, "only the web process sets the webhook"
    assert calls[0].params["url"] == cluster.webhook_url
    assert calls[0].params["secret_token"] == SECRET

    voice = sample("en_1.ogg")
    sent: dict[int, list[tuple[int, str]]] = {user: [] for user in USERS}
    for round_number in range(4):
        for user in USERS:
            if round_number == 2:
                sent[user].append((bot_api.send_voice(user, voice, duration=3), "voice"))
            else:
                text = f"user {user} message {round_number}"
                sent[user].append((bot_api.send_text(user, text), "text"))
    await drained(bot_api, queue)

    for user in USERS:
        finals = []
        for number, (message_id, kind) in enumerate(sent[user]):
            texts = answers(bot_api, user, message_id, "text")
            assert len(texts) == 1, f"one final text for {kind} {message_id} of {user}"
            finals.append(texts[0])
            if kind == "voice":
                assert len(answers(bot_api, user, message_id, "voice")) == 1, "one voice note"
            else:
                assert f"message {number}" in (texts[0].text or ""), "each answered on its own"
        in_chat = [m.reply_to_message_id for m in bot_api.chat_messages(user) if m in finals]
        assert in_chat == [mid for mid, _ in sent[user]], "answers come in the order written"
    assert not bot_api.calls_to("deleteWebhook"), "nothing deletes the webhook"
    for worker in workers:
        assert metric_sum(await metrics_of(worker), "updates_total") > 0, "both workers answered"


async def test_forged_and_repeated_deliveries(
    bot_api: BotApiEmulator, cluster: Cluster, queue: QueueView
) -> None:
    web, _worker = await cluster.start_all("web", "worker")
    message_id = bot_api.send_text(USERS[0], "hello once")
    await drained(bot_api, queue)
    first = update_json(bot_api, bot_api.deliveries[-1].update_id)
    assert len(answers(bot_api, USERS[0], message_id, "text")) == 1

    forged = {**first, "update_id": first["update_id"] + 1000}
    async with aiohttp.ClientSession() as session:
        async with session.post(cluster.webhook_url, json=forged) as response:
            assert response.status == 401, "no secret: refused"
        headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        async with session.post(cluster.webhook_url, json=forged, headers=headers) as response:
            assert response.status == 403, "a wrong secret: refused"
    assert queue.length() == 0 and not queue.done(forged["update_id"]), "nothing stored"

    # Telegram sends an update again when our 200 got lost on the way.
    assert await bot_api.post_update(first) == 200
    after = bot_api.send_text(USERS[0], "and a second message")
    await drained(bot_api, queue)
    assert len(answers(bot_api, USERS[0], after, "text")) == 1
    assert len(answers(bot_api, USERS[0], message_id, "text")) == 1, "the repeat is answered once"
    page = await metrics_of(web)
    assert metric(page, "queue_length") == 0


def last_update_id(bot_api: BotApiEmulator) -> int:
    """The update_id of the update just pushed (read before anything awaits)."""
    return int(bot_api.updates[-1]["update_id"])


async def test_a_worker_killed_mid_answer_leaves_it_to_another_exactly_once(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, cluster: Cluster, queue: QueueView
) -> None:
    openai_api.chunk_delay = 0.3  # the answer streams for several seconds
    openai_api.reply_with(" ".join(f"word{n}" for n in range(25)) + ".")
    _web, *workers = await cluster.start_all("web", "worker", "worker")
    message_id = bot_api.send_text(USERS[0], "a question answered slowly")
    update_id = last_update_id(bot_api)
    other = bot_api.send_text(USERS[1], "meanwhile, another user")
    await bot_api.wait_for(lambda: len(bot_api.drafts(USERS[0])) >= 2, timeout=30)
    victim = cluster.by_pid(queue.holders()[update_id])
    cluster.kill(victim)  # kill -9 in the middle of the stream
    survivor = next(w for w in workers if w is not victim)

    await drained(bot_api, queue)
    assert len(answers(bot_api, USERS[0], message_id, "text")) == 1, "one complete answer"
    assert "word24" in (answers(bot_api, USERS[0], message_id, "text")[0].text or "")
    assert len(answers(bot_api, USERS[1], other, "text")) == 1
    assert metric(await metrics_of(survivor), "queue_claims_total") >= 1


async def test_a_takeover_after_the_text_was_sent_sends_only_the_voice(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, cluster: Cluster, queue: QueueView
) -> None:
    cluster.extra = {"TTS_BACKEND": "openai", "TTS_FALLBACKS": "", "TTS_TIMEOUT_SECONDS": "60"}
    openai_api.reply_with("A short spoken answer.")
    openai_api.delay_next("/audio/speech", 120)  # the first worker dies waiting for its voice
    _web, *_workers = await cluster.start_all("web", "worker", "worker")
    message_id = bot_api.send_voice(USERS[2], sample("en_1.ogg"), duration=3)
    update_id = last_update_id(bot_api)
    await bot_api.wait_for(lambda: answers(bot_api, USERS[2], message_id, "text"), timeout=30)
    cluster.kill(cluster.by_pid(queue.holders()[update_id]))

    await drained(bot_api, queue)
    assert len(answers(bot_api, USERS[2], message_id, "text")) == 1, "the text is not repeated"
    assert len(answers(bot_api, USERS[2], message_id, "voice")) == 1, "the voice note comes once"
