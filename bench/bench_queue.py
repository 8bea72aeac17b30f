"""What the durable queue costs per update: storing it, taking it, finishing it (Redis Streams).

Run by hand: `python -m bench.bench_queue [REDIS_URL]` (default redis://127.0.0.1:6379/0).
Prints a Markdown table. Keys go under a prefix of their own and are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable

import aiohttp
import redis.asyncio as aioredis

from bot.durable.health import Readiness
from bot.durable.queue import UpdateQueue
from bot.durable.receiver import SECRET_HEADER, Receiver, build_web_app, serve
from bot.metrics import Metrics
from bot.stores.progress import Progress

COUNT = 500
SECRET = "bench-secret"  # noqa: S105 - the local emulator's, for this run only


def update(number: int) -> dict[str, object]:
    """A typed message from one of 20 users."""
    user = 1000 + number % 20
    return {
        "update_id": 500_000 + number,
        "message": {
            "message_id": number,
            "date": int(time.time()),
            "chat": {"id": user, "type": "private", "first_name": "Bench"},
            "from": {"id": user, "is_bot": False, "first_name": "Bench", "language_code": "en"},
            "text": f"message number {number}",
        },
    }


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


def row(what: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"| {what} | {statistics.median(samples):.2f} | {p95:.2f} |"


async def main(url: str) -> None:
    client = aioredis.Redis.from_url(url)
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    queue = UpdateQueue(client, prefix=prefix)
    await queue.ensure_group()
    consumer = "bench-worker"
    store, take, finish, post = [], [], [], []
    try:
        for n in range(COUNT):
            store.append(await timed(lambda n=n: queue.store(update(n))))
        for _ in range(COUNT):
            started = time.perf_counter()
            (entry,) = await queue.read(consumer, 1, 100)
            await queue.is_done(entry.update_id)
            await queue.wait_turn(entry)
            await queue.begin_attempt(entry.update_id)
            await Progress(client, queue.progress_key(entry.update_id)).load()
            take.append((time.perf_counter() - started) * 1000)
            finish.append(await timed(lambda entry=entry: queue.finish(consumer, entry)))

        # The receiver over HTTP, as Telegram sees it: POST -> stored -> 200.
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        app = build_web_app(
            readiness=Readiness(client, None, ""),  # type: ignore[arg-type]
            metrics=Metrics(),
            queue=queue,
            receiver=Receiver(queue, secret=SECRET, metrics=Metrics()),
            path="/hook",
        )
        runner = await serve(app, port, host="127.0.0.1")
        async with aiohttp.ClientSession() as session:
            for n in range(COUNT, 2 * COUNT):

                async def post_one(n: int = n) -> None:
                    async with session.post(
                        f"http://127.0.0.1:{port}/hook",
                        json=update(n),
                        headers={SECRET_HEADER: SECRET},
                    ) as response:
                        assert response.status == 200

                post.append(await timed(post_one))
        await runner.cleanup()
        memory = await client.memory_usage(queue.stream) or 0
        length = await client.xlen(queue.stream)
    finally:
        keys = [key async for key in client.scan_iter(f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()

    print(f"{COUNT} updates from 20 users, Redis at {url.split('@')[-1]}, milliseconds\n")
    print("| step (per update) | median | p95 |\n| --- | --- | --- |")
    print(row("store: dedup + turn + XADD (one Lua script)", store))
    print(row("take: XREADGROUP + done? + turn + attempt + progress", take))
    print(row("finish: done + turn + XACK + XDEL (one Lua script)", finish))
    total = [a + b + c for a, b, c in zip(store, take, finish, strict=True)]
    print(row("all queue work for one update", total))
    print(row("webhook POST to 200 over HTTP (aiohttp, stored)", post))
    print(f"\nstream memory with {length} unfinished entries: {memory / max(length, 1):.0f} B each")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/0"))
