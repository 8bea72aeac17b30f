"""Poison in webhook mode: what a sender with the secret, or a damaged stream, can throw at us.

Real `python -m bot web` / `python -m bot worker` processes, as in test_webhook_workers.py. A
bad body is refused with a 4xx at the door; a bad entry that got into the stream anyway is
parked with its reason; neither ever stops a worker from answering everyone else.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.cluster import SECRET, BotProcess, Cluster, QueueView
from tests.conftest import RedisKeyspace
from tests.emulators import BotApiEmulator, OpenAIEmulator

USER, OTHER = 1201, 1202
GROUP = "workers"


@pytest.fixture
def queue(redis_url: str, redis_keyspace: RedisKeyspace) -> Iterator[QueueView]:
    """The test's own view of the stream in Redis."""
    view = QueueView(redis_url, redis_keyspace.prefix)
    yield view
    view.close()


def a_message(update_id: int, sender: object, text: str = "hello") -> dict[str, object]:
    """An update as Telegram sends it, with `sender` as from.id."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": OTHER, "type": "private", "first_name": "Test"},
            "from": {"id": sender, "is_bot": False, "first_name": "Test"},
            "text": text,
        },
    }


def entry(update: str, update_id: str, user: str, turn: str = "0") -> dict[str, str]:
    """Fields of a stream entry as the receiver writes them (here: written by hand)."""
    return {"update": update, "id": update_id, "user": user, "turn": turn, "at": "0"}


async def post(cluster: Cluster, body: bytes, secret: str = SECRET) -> int:
    """POST raw bytes to the webhook with the secret; the HTTP status."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(cluster.webhook_url, data=body, headers=headers) as response,
    ):
        return response.status


async def health(process: BotProcess) -> tuple[int, dict[str, bool]]:
    """The status and body of GET /healthz."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{process.port}/healthz") as response,
    ):
        return response.status, await response.json()


async def test_unreadable_entries_are_parked_and_never_stop_the_worker(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, cluster: Cluster, queue: QueueView
) -> None:
    openai_api.reply_with("An answer.")
    (_web,) = await cluster.start_all("web")
    held = bot_api.send_text(USER, "held by a worker that died")
    await bot_api.wait_for(lambda: queue.length() == 1, timeout=30)
    # A worker that died holding a readable entry and a damaged one: the claimer meets both.
    queue.client.xadd(queue.stream, entry("{", "not a number", "someone"))
    queue.client.xreadgroup(GROUP, "ghost:1:dead", {queue.stream: ">"}, count=10)
    # New entries the reader meets: a user id that is not a number (stored by an older
    # receiver), and an update Telegram would never send, from a sender knowing the secret.
    readable = json.dumps(a_message(900001, OTHER))
    queue.client.xadd(queue.stream, entry(readable, "900001", "someone", turn="1"))
    assert await post(cluster, json.dumps(a_message(900002, "someone")).encode()) == 200

    (worker,) = await cluster.start_all("worker")
    await bot_api.wait_for(lambda: len(queue.parked()) == 3 and queue.drained(), timeout=60)
    reasons = {p["id"]: p["reason"] for p in queue.parked()}
    assert set(reasons) == {"not a number", "900001", "900002"}
    assert all(reason for reason in reasons.values()), reasons
    assert [m.reply_to_message_id for m in bot_api.chat_messages(USER)] == [held]

    assert worker.process.poll() is None, "the worker is still running"
    assert await health(worker) == (200, {"redis": True, "database": True, "worker": True})
    after = bot_api.send_text(USER, "and the next message")
    await bot_api.wait_for(
        lambda: after in [m.reply_to_message_id for m in bot_api.chat_messages(USER)], timeout=30
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"update_id": 1e400}', id="an update_id too large for a number"),
        pytest.param(b'{"update_id": 1.5}', id="an update_id that is not whole"),
        pytest.param(b'{"update_id": true}', id="an update_id that is a truth value"),
        pytest.param(
            b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            id="JSON nested 100,000 deep",
        ),
        pytest.param(b"[1, 2]", id="not an object"),
        pytest.param(b"\xff\xfe", id="not text"),
    ],
)
async def test_a_body_that_is_no_update_gets_400(
    cluster: Cluster, queue: QueueView, body: bytes
) -> None:
    (web,) = await cluster.start_all("web")
    assert await post(cluster, body) == 400
    assert queue.length() == 0
    assert (await health(web))[0] == 200


async def raw_post(cluster: Cluster, secret: bytes) -> int:
    """POST an update with a secret header of raw bytes (an HTTP client would refuse them)."""
    url = urlsplit(cluster.webhook_url)
    body = json.dumps(a_message(900003, OTHER)).encode()
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(
        b"POST " + url.path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        b"X-Telegram-Bot-Api-Secret-Token: " + secret + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("секрет".encode(), id="UTF-8 letters"),
        pytest.param(b"\xff\xfe-latin-1", id="bytes that are not UTF-8"),
        pytest.param(SECRET.encode() + "é".encode(), id="the secret and one letter more"),
    ],
)
async def test_a_secret_that_is_not_ascii_gets_403(
    cluster: Cluster, queue: QueueView, secret: bytes
) -> None:
    await cluster.start_all("web")
    assert await raw_post(cluster, secret) == 403
    assert queue.length() == 0
