"""Several `python -m bot` processes (web, workers) sharing one Redis and one database."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import redis

from tests.emulators import BotApiEmulator, OpenAIEmulator
from tests.processes import bot_env

SECRET = "test-secret_0123456789"
HOOK_PATH = "/telegram/hook-for-tests"
GROUP = "workers"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotProcess:
    """One running `python -m bot ...`, its /healthz port and its log file."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    metrics_port: int = 0  # METRICS_PORT: /metrics is not on the public port

    @property
    def pid(self) -> int:
        """The process id (workers name their consumer host:pid:...)."""
        return self.process.pid

    def logs(self) -> str:
        """Everything it wrote so far."""
        return self.log.read_text(errors="replace")


@dataclass
class Cluster:
    """Start and stop web and worker processes pointed at the emulators, Redis and a database."""

    bot_api: BotApiEmulator
    openai_api: OpenAIEmulator
    redis_url: str
    prefix: str
    database_url: str
    workdir: Path
    web_port: int = field(default_factory=free_port)
    extra: dict[str, str] = field(default_factory=dict)
    processes: list[BotProcess] = field(default_factory=list)

    @property
    def webhook_url(self) -> str:
        """Where the web process listens for Telegram."""
        return f"http://127.0.0.1:{self.web_port}{HOOK_PATH}"

    def env(self, **overrides: str) -> dict[str, str]:
        """The environment every process of this cluster shares, plus `overrides`."""
        values = {
            "TELEGRAM_BOT_TOKEN": self.bot_api.token,
            "TELEGRAM_API_URL": self.bot_api.base_url,
            "OPENAI_API_KEY": "sk-test-key",
            "OPENAI_BASE_URL": self.openai_api.base_url,
            "REDIS_URL": self.redis_url,
            "REDIS_PREFIX": self.prefix,
            "DATABASE_URL": self.database_url,
            "ASR_BACKEND": "openai",
            "TTS_BACKEND": "espeak",
            "STREAM_EDIT_INTERVAL_SECONDS": "0.2",
            "OPENAI_RETRY_BUDGET_SECONDS": "4",
            "WEBHOOK_URL": self.webhook_url,
            "WEBHOOK_SECRET": SECRET,
            "WORKER_CLAIM_SECONDS": "2",
            "LOG_LEVEL": "INFO",
            **self.extra,
            **overrides,
        }
        without = ("WEBHOOK_", "WORKER_", "PORT", "MAX_UPDATE", "STALE_", "METRICS_")
        return bot_env(without=without, **values)

    def start(self, command: str, **overrides: str) -> BotProcess:
        """Start `python -m bot <command>` ("web", "worker" or "run")."""
        port = self.web_port if command in ("web", "run") else free_port()
        metrics_port = int(overrides.pop("METRICS_PORT", None) or free_port())
        name = f"{command}-{len(self.processes)}"
        log = self.workdir / f"{name}.log"
        env = self.env(PORT=str(port), METRICS_PORT=str(metrics_port), **overrides)
        with log.open("wb") as sink:  # a file, not a pipe: a full pipe would block the bot
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", command],
                cwd=self.workdir,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        started = BotProcess(name, process, port, log, metrics_port)
        self.processes.append(started)
        return started

    async def healthy(self, process: BotProcess, timeout: float = 90) -> None:  # noqa: ASYNC109
        """Wait until the process answers 200 on /healthz."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                if process.process.poll() is not None:
                    raise AssertionError(f"{process.name} exited:\n{process.logs()[-3000:]}")
                try:
                    url = f"http://127.0.0.1:{process.port}/healthz"
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"{process.name} not healthy:\n{process.logs()[-3000:]}")
                await asyncio.sleep(0.1)

    async def start_all(self, *commands: str, **overrides: str) -> list[BotProcess]:
        """Start several processes at once and wait until each is healthy."""
        started = [self.start(command, **overrides) for command in commands]
        for process in started:
            await self.healthy(process)
        return started

    async def stop(self, process: BotProcess, timeout: float = 30) -> int:  # noqa: ASYNC109
        """SIGTERM, then the exit code (AssertionError when it takes longer than `timeout`)."""
        if process.process.poll() is None:
            process.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(process.process.wait, timeout)
        except subprocess.TimeoutExpired:
            process.process.kill()
            raise AssertionError(
                f"{process.name} ignored SIGTERM:\n{process.logs()[-12000:]}"
            ) from None

    def kill(self, process: BotProcess) -> None:
        """kill -9."""
        process.process.kill()
        process.process.wait()

    async def close(self) -> None:
        """Stop whatever still runs."""
        for process in self.processes:
            if process.process.poll() is None:
                process.process.kill()
                await asyncio.to_thread(process.process.wait)

    def by_pid(self, pid: int) -> BotProcess:
        """The process with this pid."""
        return next(p for p in self.processes if p.pid == pid)


class QueueView:
    """What the stream in Redis looks like, read directly (the test's own client)."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.stream = f"{prefix}updates"
        self.parked_stream = f"{prefix}updates:parked"
        self.prefix = prefix

    def length(self) -> int:
        """Entries not finished (finished ones are deleted)."""
        return int(self.client.xlen(self.stream))

    def pending(self) -> int:
        """Entries held by some worker."""
        try:
            return int(self.client.xpending(self.stream, GROUP)["pending"])
        except redis.ResponseError:
            return 0

    def holders(self) -> dict[int, int]:
        """update_id -> pid of the worker holding it now."""
        holders: dict[int, int] = {}
        try:
            pending = self.client.xpending_range(self.stream, GROUP, "-", "+", 1000)
        except redis.ResponseError:
            return holders
        for item in pending:
            entries = self.client.xrange(self.stream, item["message_id"], item["message_id"])
            if entries:
                update_id = int(entries[0][1][b"id"])
                holders[update_id] = int(item["consumer"].decode().split(":")[1])
        return holders

    def drained(self) -> bool:
        """Nothing stored, nothing pending: every update was finished and acknowledged."""
        return self.length() == 0 and self.pending() == 0

    def parked(self) -> list[dict[str, Any]]:
        """The parked (poison) entries."""
        return [
            {k.decode(): v.decode() for k, v in fields.items()}
            for _, fields in self.client.xrange(self.parked_stream)
        ]

    def done(self, update_id: int) -> bool:
        """Whether a worker marked the update answered."""
        return bool(self.client.exists(f"{self.prefix}update:done:{update_id}"))

    def close(self) -> None:
        """Close the client."""
        self.client.close()


async def metrics_of(process: BotProcess) -> str:
    """The /metrics text a process serves on its METRICS_PORT."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{process.metrics_port}/metrics") as response,
    ):
        return await response.text()


def metric(text: str, name: str) -> float:
    """The value of one unlabelled sample in a Prometheus text page."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in metrics")


def update_json(bot_api: BotApiEmulator, update_id: int) -> dict[str, Any]:
    """An update as the emulator delivered it (from its log of deliveries' bodies)."""
    for update in bot_api.delivered_bodies:
        if update["update_id"] == update_id:
            return json.loads(json.dumps(update))
    raise KeyError(update_id)


def metric_sum(text: str, name: str) -> float:
    """The sum of every sample of one metric, whatever its labels."""
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith((name + " ", name + "{"))
    )


@dataclass
class OwnRedis:
    """A redis-server of the test's own, with the append-only file on, that it can restart."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        """Start it (again, on the same port and files) and wait until it answers."""
        self.directory.mkdir(parents=True, exist_ok=True)
        # appendfsync always: an update is on disk before the receiver answers 200.
        self.process = subprocess.Popen(  # noqa: ASYNC220 - starts at once, waited for below
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.directory), "--appendonly", "yes"),
                *("--appendfsync", "always", "--save", ""),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.05)
        client.close()

    async def stop(self) -> None:
        """SIGTERM: Redis writes what it has and exits."""
        if self.process is not None:
            self.process.terminate()
            await asyncio.to_thread(self.process.wait, 20)
            self.process = None
