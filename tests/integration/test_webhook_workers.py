"""Webhook mode on several processes: a web receiver and workers sharing Redis and a database.

Every test runs real `python -m bot web` / `python -m bot worker` processes against the Bot API
emulator (which POSTs updates to the webhook like Telegram) and the OpenAI emulator. Nothing is
proved by sleeping: each test waits until the queue in Redis is drained (every update finished
and acknowledged), then counts what the users received.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis

from bot.i18n import t
from tests.cluster import (
    SECRET,
    Cluster,
    OwnRedis,
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
from tests.processes import busy_cpus

USERS = (1101, 1102, 1103)
# A worker stopped with SHUTDOWN_GRACE_SECONDS is gone this much later at most, busy machine or not.
STOP_MARGIN_SECONDS = 6.0


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database: what several machines share."""
    async with fresh_postgres_database(POSTGRES_URL) as url:
        yield url


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


def shorter_for_later_messages(body: dict[str, Any]) -> str:
    """Earlier messages get longer answers, so answering out of order would show."""
    question = str(body["messages"][-1]["content"])
    match = re.search(r"message (\d)", question)
    padding = " and so on" * (4 - int(match[1])) * 4 if match else ""
    return f"Answer to: {question}{padding}."


@pytest.mark.postgres
async def test_a_burst_from_several_users_is_answered_once_each_in_order(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    cluster: Cluster,
    queue: QueueView,
    postgres_url: str,
) -> None:
    cluster.database_url = postgres_url  # several machines share PostgreSQL
    openai_api.reply_with(shorter_for_later_messages)
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
        assert "DATABASE_URL is SQLite" not in worker.logs(), "PostgreSQL: no warning"


async def test_forged_and_repeated_deliveries(
    bot_api: BotApiEmulator, cluster: Cluster, queue: QueueView
) -> None:
    web, worker = await cluster.start_all("web", "worker")
    assert "DATABASE_URL is SQLite: workers on several machines need PostgreSQL" in worker.logs()
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
    assert await cluster.stop(web) == 0, "the receiver stops cleanly on SIGTERM"
    assert not bot_api.calls_to("deleteWebhook")


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
    cluster.extra = {
        "TTS_BACKEND": "openai",
        "TTS_MODEL": "gpt-4o-mini-tts",
        "TTS_FALLBACKS": "",
        "TTS_TIMEOUT_SECONDS": "60",
    }
    openai_api.reply_with("A short spoken answer.")
    openai_api.delay_next("/audio/speech", 120)  # the first worker dies waiting for its voice
    _web, *_workers = await cluster.start_all("web", "worker", "worker")
    message_id = bot_api.send_voice(USERS[2], sample("en_1.ogg"), duration=3)
    update_id = last_update_id(bot_api)
    await bot_api.wait_for(lambda: answers(bot_api, USERS[2], message_id, "text"), timeout=30)
    # The worker has sent the text and is waiting for its (delayed) voice: now it dies.
    await bot_api.wait_for(lambda: len(openai_api.speech_requests()) == 1, timeout=30)
    cluster.kill(cluster.by_pid(queue.holders()[update_id]))

    await drained(bot_api, queue)
    assert len(answers(bot_api, USERS[2], message_id, "text")) == 1, "the text is not repeated"
    assert len(answers(bot_api, USERS[2], message_id, "voice")) == 1, "the voice note comes once"


def long_or_short(body: dict[str, object]) -> str:
    """A long streamed answer to a message that asks for one, else a short one."""
    messages = body["messages"]
    assert isinstance(messages, list)
    if "long" in str(messages[-1]["content"]):
        return " ".join(f"part{n}" for n in range(30)) + " end."
    return "Short answer."


async def test_sigterm_finishes_the_answer_in_hand_then_exits_0(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, cluster: Cluster, queue: QueueView
) -> None:
    openai_api.chunk_delay = 0.1  # about 3 s of streaming
    openai_api.reply_with(long_or_short)
    _web, worker = await cluster.start_all("web", "worker")
    message_id = bot_api.send_text(USERS[0], "a long answer please")
    await bot_api.wait_for(lambda: len(bot_api.drafts(USERS[0])) >= 2, timeout=30)
    assert await cluster.stop(worker) == 0
    # No worker is left: the queue is drained only if the stopped one finished its answer.
    await drained(bot_api, queue, timeout=5)
    assert len(answers(bot_api, USERS[0], message_id, "text")) == 1


async def test_sigterm_past_the_grace_period_hands_the_answer_back(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, cluster: Cluster, queue: QueueView
) -> None:
    openai_api.chunk_delay = 0.25  # about 8 s of streaming, longer than the grace period
    openai_api.reply_with(long_or_short)
    cluster.extra = {"SHUTDOWN_GRACE_SECONDS": "1"}
    _web, *_workers = await cluster.start_all("web", "worker", "worker")
    long_id = bot_api.send_text(USERS[0], "a long answer please")
    update_id = last_update_id(bot_api)
    short_id = bot_api.send_text(USERS[1], "a short one")
    await bot_api.wait_for(lambda: len(bot_api.drafts(USERS[0])) >= 2, timeout=30)
    holder = cluster.by_pid(queue.holders()[update_id])
    assert await cluster.stop(holder) == 0
    assert "handed back" in holder.logs(), holder.logs()

    await drained(bot_api, queue)
    assert len(answers(bot_api, USERS[0], long_id, "text")) == 1
    assert "end." in (answers(bot_api, USERS[0], long_id, "text")[0].text or "")
    assert len(answers(bot_api, USERS[1], short_id, "text")) == 1


async def test_sigterm_on_a_busy_machine_hands_the_answer_back_within_the_grace_period(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, cluster: Cluster, queue: QueueView
) -> None:
    openai_api.chunk_delay = 0.25  # about 8 s of streaming, longer than the grace period
    openai_api.reply_with(long_or_short)
    cluster.extra = {"SHUTDOWN_GRACE_SECONDS": "1"}
    _web, *_workers = await cluster.start_all("web", "worker", "worker")
    with busy_cpus(2):
        long_id = bot_api.send_text(USERS[0], "a long answer please")
        update_id = last_update_id(bot_api)
        await bot_api.wait_for(lambda: len(bot_api.drafts(USERS[0])) >= 2, timeout=60)
        holder = cluster.by_pid(queue.holders()[update_id])
        started = time.monotonic()
        assert await cluster.stop(holder) == 0
        took = time.monotonic() - started
        assert "handed back" in holder.logs(), holder.logs()
        assert took < 1 + STOP_MARGIN_SECONDS, f"exited {took:.1f} s after SIGTERM"
        await drained(bot_api, queue, timeout=90)
    [answer] = answers(bot_api, USERS[0], long_id, "text")
    assert "end." in (answer.text or "")


def refused_or_fine(body: dict[str, object]) -> str:
    """The answer Telegram will refuse to the message that fails, a plain one to the others."""
    messages = body["messages"]
    assert isinstance(messages, list)
    if "fails" in str(messages[-1]["content"]):
        return "An answer Telegram refuses three times."
    return "A fine answer."


def is_refused_answer(params: dict[str, Any]) -> bool:
    """Whether a sendMessage carries the answer Telegram refuses."""
    return "Telegram refuses" in str(params.get("text"))


async def test_a_poison_update_is_parked_with_an_apology_and_the_queue_moves_on(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, cluster: Cluster, queue: QueueView
) -> None:
    openai_api.reply_with(refused_or_fine)
    _web, worker = await cluster.start_all("web", "worker")
    # Every attempt's answer fails, and only that: were an attempt lost otherwise on a slow
    # machine (a timeout), a planned failure must not fall on the apology or the next answer.
    bot_api.fail_next("sendMessage", status=500, times=3, when=is_refused_answer)
    poison = bot_api.send_text(USERS[0], "this one fails")
    update_id = last_update_id(bot_api)
    after = bot_api.send_text(USERS[0], "this one works")
    await drained(bot_api, queue)

    parked = queue.parked()
    assert [int(p["id"]) for p in parked] == [update_id]
    assert "failed 3 times" in parked[0]["reason"]
    assert f"update {update_id} parked" in worker.logs()
    # The apology replies to the message it is for (in its forum topic, if any): nothing else does.
    [apology] = answers(bot_api, USERS[0], poison, "text")
    assert apology.text == "Sorry, something went wrong on my side. Please try again in a moment."
    assert len(answers(bot_api, USERS[0], after, "text")) == 1, "the next message is answered"
    page = await metrics_of(worker)
    assert metric(page, "queue_parked_total") == 1
    assert metric(page, "queue_redeliveries_total") == 2


async def test_updates_older_than_the_limit_get_a_short_note(
    bot_api: BotApiEmulator, cluster: Cluster, queue: QueueView
) -> None:
    cluster.extra = {"MAX_UPDATE_AGE_SECONDS": "60"}
    await cluster.start_all("web", "worker")
    old = bot_api.send_text(USERS[0], "sent while the bot was down")
    bot_api.updates[-1]["message"]["date"] -= 3600  # an hour ago
    fresh = bot_api.send_text(USERS[0], "sent just now")
    await drained(bot_api, queue)
    notes = answers(bot_api, USERS[0], old, "text")
    assert [n.text for n in notes] == [t("stale_update", "en")]
    assert len(answers(bot_api, USERS[0], fresh, "text")) == 1


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[OwnRedis]:
    """A Redis of this test's own, to restart in the middle of the run."""
    server = OwnRedis(tmp_path / "redis")
    await server.start()
    yield server
    await server.stop()


async def test_a_redis_restart_loses_nothing_that_was_answered_200(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, cluster: Cluster, own_redis: OwnRedis
) -> None:
    openai_api.chunk_delay = 0.1  # answers take a few seconds: Redis goes while they run
    openai_api.reply_with(long_or_short)
    cluster.redis_url = own_redis.url
    queue = QueueView(own_redis.url, cluster.prefix)
    web, _worker = await cluster.start_all("web", "worker")
    before = {
        user: bot_api.send_text(user, f"a long answer before the restart, {user}") for user in USERS
    }
    await bot_api.wait_for(lambda: len(bot_api.accepted()) == len(USERS), timeout=30)

    assert not any(answers(bot_api, u, m, "text") for u, m in before.items()), "none answered yet"
    await own_redis.stop()
    refused_before = len([d for d in bot_api.deliveries if d.status >= 500])
    during = {user: bot_api.send_text(user, f"while Redis is down, {user}") for user in USERS}
    await bot_api.wait_for(
        lambda: len([d for d in bot_api.deliveries if d.status >= 500]) > refused_before,
        timeout=30,
    )
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{web.port}/healthz") as response,
    ):
        assert response.status == 503, "not ready without Redis"
    await own_redis.start()

    await drained(bot_api, queue)
    for sent in (before, during):
        for user, message_id in sent.items():
            assert len(answers(bot_api, user, message_id, "text")) == 1, (user, message_id)
    queue.close()


async def test_sigterm_while_redis_hangs_still_exits_0_within_30_s(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, cluster: Cluster, own_redis: OwnRedis
) -> None:
    openai_api.chunk_delay = 0.25
    openai_api.reply_with(long_or_short)
    cluster.redis_url = own_redis.url
    cluster.extra = {"SHUTDOWN_GRACE_SECONDS": "1"}
    _web, worker = await cluster.start_all("web", "worker")
    bot_api.send_text(USERS[0], "a long answer please")
    await bot_api.wait_for(lambda: len(bot_api.drafts(USERS[0])) >= 2, timeout=30)
    pauser = redis.Redis.from_url(own_redis.url)
    pauser.execute_command("CLIENT", "PAUSE", "45000", "ALL")  # every command now hangs
    pauser.close()
    started = time.monotonic()
    assert await cluster.stop(worker, timeout=30) == 0, "an answer in hand, Redis hanging"
    assert time.monotonic() - started < 30


async def test_cancel_stops_an_answer_running_on_another_worker(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, cluster: Cluster, queue: QueueView
) -> None:
    openai_api.reply_with(long_or_short)
    # The answer's stream is held after its first chunk until the /cancel has been answered:
    # it is in progress on the busy worker however long the machine takes to start the other.
    openai_api.hold("/chat/completions")
    # A worker that holds one update at a time: the /cancel must go to the other one.
    _web, _busy = await cluster.start_all("web", "worker", WORKER_CONCURRENCY="1")
    long_id = bot_api.send_text(USERS[0], "a long answer please")
    await openai_api.wait_for(lambda: openai_api.held == 1, timeout=60)
    (other,) = await cluster.start_all("worker")
    cancel_id = bot_api.send_text(USERS[0], "/cancel")
    await bot_api.wait_for(
        lambda: any(m.kind == "text" for m in bot_api.chat_messages(USERS[0])), timeout=60
    )
    openai_api.release("/chat/completions")  # an answer still running would now complete
    await drained(bot_api, queue)
    texts = [m.text for m in bot_api.chat_messages(USERS[0]) if m.kind == "text"]
    assert texts == [t("cancel_done", "en")], "stopped, and said so"
    assert not answers(bot_api, USERS[0], long_id, "text"), "the long answer never completed"
    assert metric_sum(await metrics_of(other), "updates_total") == 1, "the other one took /cancel"
    assert cancel_id
