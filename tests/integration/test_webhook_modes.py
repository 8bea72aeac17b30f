"""Starting the webhook modes: required settings, one process doing both, health, migrations."""

from __future__ import annotations

import asyncio
import fcntl
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.db.engine import make_engine
from bot.db.migrations import ADVISORY_LOCK_KEY
from tests.cluster import Cluster
from tests.emulators import BotApiEmulator
from tests.postgres import POSTGRES_URL, TcpProxy, fresh_postgres_database
from tests.processes import bot_env

WEBHOOK_VARIABLES = ("WEBHOOK_", "PORT", "REDIS_", "DATABASE_URL")


def run_bot(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` to completion, with only the given settings."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=bot_env(
            without=WEBHOOK_VARIABLES,
            TELEGRAM_BOT_TOKEN="123:abc",
            OPENAI_API_KEY="sk-test",
            **env,
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        pytest.param(
            ("web",),
            {"WEBHOOK_URL": "http://127.0.0.1:1/hook", "REDIS_URL": "redis://127.0.0.1:1"},
            "error: WEBHOOK_SECRET is not set; webhook mode needs it "
            "(1-256 characters: letters, digits, _ and -)",
            id="web without WEBHOOK_SECRET",
        ),
        pytest.param(
            (),
            {"WEBHOOK_URL": "http://127.0.0.1:1/hook"},
            "error: WEBHOOK_SECRET is not set; webhook mode needs it "
            "(1-256 characters: letters, digits, _ and -)",
            id="one process with WEBHOOK_URL but no WEBHOOK_SECRET",
        ),
        pytest.param(
            ("web",),
            {"WEBHOOK_SECRET": "s3cret", "REDIS_URL": "redis://127.0.0.1:1"},
            "error: WEBHOOK_URL is not set; `python -m bot web` receives updates there",
            id="web without WEBHOOK_URL",
        ),
        pytest.param(
            ("worker",),
            {},
            "error: REDIS_URL is not set; `python -m bot worker` processes share one Redis",
            id="worker without REDIS_URL",
        ),
        pytest.param(
            ("web",),
            {"WEBHOOK_URL": "http://h/x", "WEBHOOK_SECRET": "has spaces"},
            "error: WEBHOOK_SECRET is invalid: Value error, use 1-256 characters: "
            "letters, digits, _ and -",
            id="a secret Telegram would refuse",
        ),
    ],
)
def test_a_webhook_mode_without_its_settings_exits_at_once_with_one_line(
    args: tuple[str, ...], env: dict[str, str], line: str
) -> None:
    result = run_bot(*args, **env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [line]


async def healthz(port: int) -> int:
    """The status of GET /healthz on a local port."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return response.status


@pytest.mark.parametrize("redis_kind", ["REDIS_URL", "embedded"])
async def test_one_process_with_webhook_url_receives_and_answers(
    bot_api: BotApiEmulator, cluster: Cluster, redis_kind: str
) -> None:
    cluster.extra = {"MAX_UPDATE_AGE_SECONDS": "60", "STALE_UPDATES": "skip"}
    if redis_kind == "embedded":
        cluster.redis_url = ""  # one machine: the embedded Redis under data/
    (bot,) = await cluster.start_all("run")
    assert bot_api.calls_to("setWebhook")[0].params["url"] == cluster.webhook_url
    assert await healthz(bot.port) == 200
    old = bot_api.send_text(1201, "sent an hour ago")
    bot_api.updates[-1]["message"]["date"] -= 3600
    fresh = bot_api.send_text(1201, "sent now")
    # One user's updates are finished in order: once the fresh one is answered, the old one
    # was finished before it.
    await bot_api.wait_for(
        lambda: any(m.reply_to_message_id == fresh for m in bot_api.chat_messages(1201)), 60
    )
    assert await cluster.stop(bot) == 0
    replies = [m.reply_to_message_id for m in bot_api.chat_messages(1201) if m.kind == "text"]
    assert replies == [fresh], "the stale update was skipped, the fresh one answered"
    assert old not in replies
    assert not bot_api.calls_to("getUpdates"), "no polling in webhook mode"
    assert not bot_api.calls_to("deleteWebhook"), "not even on shutdown"


@pytest.mark.postgres
async def test_healthz_says_503_while_the_database_is_away(
    bot_api: BotApiEmulator, cluster: Cluster
) -> None:
    async with fresh_postgres_database(POSTGRES_URL) as url:
        host, port = "127.0.0.1", int(url.split("@")[1].split("/")[0].split(":")[1])
        proxy = TcpProxy((host, port))
        await proxy.start()
        cluster.database_url = url.replace(f":{port}/", f":{proxy.port}/")
        web, worker = await cluster.start_all("web", "worker")
        await proxy.cut()
        assert await healthz(web.port) == 503
        assert await healthz(worker.port) == 503
        await proxy.restore()
        await bot_api.wait_for(lambda: True)
        for process in (web, worker):
            for _ in range(50):  # pool_pre_ping reconnects on the next check
                if await healthz(process.port) == 200:
                    break
                await asyncio.sleep(0.1)
            assert await healthz(process.port) == 200
        await cluster.close()
        await proxy.cut()


def start_migrating(url: str, count: int = 4) -> list[subprocess.Popen[bytes]]:
    """`python -m bot migrate` in `count` processes at once."""
    env = bot_env(without=WEBHOOK_VARIABLES, TELEGRAM_BOT_TOKEN="123:abc", DATABASE_URL=url)
    return [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "migrate"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


async def exit_codes(processes: list[subprocess.Popen[bytes]]) -> list[int]:
    """Wait for each process; their exit codes."""
    return [await asyncio.to_thread(p.wait, 60) for p in processes]


@pytest.mark.postgres
async def test_processes_migrating_postgresql_at_once_take_turns() -> None:
    async with fresh_postgres_database(POSTGRES_URL) as url:
        engine = make_engine(url)
        async with engine.connect() as holder, engine.connect() as observer:
            # Hold the migration lock ourselves: all four must queue behind it...
            await holder.execute(text(f"SELECT pg_advisory_lock({ADVISORY_LOCK_KEY})"))
            await holder.commit()
            processes = start_migrating(url)
            waiting = text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )

            async def queued() -> int:
                count = (await observer.execute(waiting)).scalar_one()
                await observer.commit()
                return int(count)

            for _ in range(600):
                if await queued() == len(processes):
                    break
                await asyncio.sleep(0.1)
            assert await queued() == len(processes), "each process waits for the lock"
            assert all(p.poll() is None for p in processes), "none migrated past the lock"
            # ...and, released at once, they migrate one after the other without an error.
            await holder.execute(text(f"SELECT pg_advisory_unlock({ADVISORY_LOCK_KEY})"))
            await holder.commit()
            assert await exit_codes(processes) == [0, 0, 0, 0]
        await engine.dispose()
        await assert_at_head(url)


async def test_processes_migrating_one_sqlite_file_at_once_take_turns(tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"
    lock_path = tmp_path / "fresh.db.migrate.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        processes = start_migrating(f"sqlite+aiosqlite:///{database}")
        inode = f":{os.stat(lock_path).st_ino} "

        def blocked() -> int:  # /proc/locks marks a waiting lock with "->"
            lines = Path("/proc/locks").read_text().splitlines()
            return sum(1 for line in lines if "->" in line and inode in line)

        for _ in range(600):
            if blocked() == len(processes):
                break
            await asyncio.sleep(0.1)
        assert blocked() == len(processes), "each process waits for the lock"
        assert all(p.poll() is None for p in processes)
        fcntl.flock(lock, fcntl.LOCK_UN)
    assert await exit_codes(processes) == [0, 0, 0, 0]
    await assert_at_head(f"sqlite+aiosqlite:///{database}")


async def assert_at_head(url: str) -> None:
    """One row in alembic_version: the schema was built once."""
    engine = make_engine(url)
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    await engine.dispose()
    assert len(rows) == 1
