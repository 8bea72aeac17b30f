"""The voice-loop benchmark's harness: the real bot in its own process, people, and what they saw.

The bot runs exactly as `python -m bot` runs, in a child process pointed at the emulators, so
its memory and event loop are its own: peak memory is its VmHWM, the longest stall comes from
its Prometheus gauge. Every time is read from the Bot API emulator's call log (wall clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import statistics
import sys
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.bot_state import Call
from tests.emulators.openai_api import OpenAIEmulator

ROOT = Path(__file__).parents[1]
PREVIEW_METHODS = ("sendMessageDraft", "sendMessage", "editMessageText")
SIGN_METHODS = ("sendChatAction", *PREVIEW_METHODS)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_url() -> str | None:
    """The Redis server at 127.0.0.1:6379 when one answers (else the bot embeds its own)."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
        return "redis://127.0.0.1:6379/0"
    return None


@dataclass
class BotProcess:
    """`python -m bot` in a child process, with the environment a deployment would give it."""

    bot_api: BotApiEmulator
    openai_api: OpenAIEmulator
    data_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    prefix: str = field(default_factory=lambda: f"bench:{uuid.uuid4().hex[:10]}:")
    process: asyncio.subprocess.Process | None = None
    metrics_port: int = 0
    startup_seconds: float = 0.0
    wrapper: list[str] = field(default_factory=list)  # e.g. a profiler: ["py-spy", "record", ...]

    def env(self) -> dict[str, str]:
        """The bot's settings: emulators, a fresh key prefix, SQLite in the data dir."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "OPENAI"))}
        env.update(
            TELEGRAM_BOT_TOKEN=self.bot_api.token,
            TELEGRAM_API_URL=self.bot_api.base_url,
            OPENAI_API_KEY="sk-bench",
            OPENAI_BASE_URL=self.openai_api.base_url,
            REDIS_PREFIX=self.prefix,
            DATABASE_URL=f"sqlite+aiosqlite:///{self.data_dir / 'bot.db'}",
            DATA_DIR=str(self.data_dir),
            ASR_BACKEND="openai",
            TTS_BACKEND="openai",
            TTS_FALLBACKS="",
            METRICS_PORT=str(self.metrics_port),
            LOG_LEVEL="WARNING",
        )
        if url := redis_url():
            env["REDIS_URL"] = url
        env.update(self.extra_env)
        return env

    async def start(self) -> float:
        """Start the bot; seconds from the process start to its first getUpdates."""
        self.metrics_port = free_port()
        polls = len(self.bot_api.calls_to("getUpdates"))
        started = time.time()
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.wrapper, sys.executable, "-m", "bot", cwd=ROOT, env=self.env(), stderr=log
            )
        await self.bot_api.wait_for(
            lambda: (
                len(self.bot_api.calls_to("getUpdates")) > polls
                or self.process is None
                or self.process.returncode is not None
            ),
            timeout=120,
        )
        if self.process.returncode is not None:
            raise RuntimeError(f"the bot exited with {self.process.returncode}")
        first_poll = self.bot_api.calls_to("getUpdates")[polls]
        self.startup_seconds = first_poll.time - started
        return self.startup_seconds

    @property
    def log_path(self) -> Path:
        """Where the bot's log (stderr) goes."""
        return self.data_dir / f"bot-{self.prefix.strip(':').replace(':', '-')}.log"

    def log_lines(self, needle: str) -> int:
        """How many lines of the bot's log contain `needle`."""
        return sum(needle in line for line in self.log_path.read_text().splitlines())

    def log_summary(self, top: int = 4) -> list[str]:
        """The most frequent warning and error messages in the bot's log, with counts."""
        counts: Counter[str] = Counter()
        for line in self.log_path.read_text().splitlines():
            match = re.search(r'"level": "(WARNING|ERROR)".*?"message": "([^"]{0,90})', line)
            if match:
                counts[f"{match.group(1)} {match.group(2)}"] += 1
        return [f"{n} × {message}" for message, n in counts.most_common(top)]

    def peak_memory_mb(self) -> float:
        """The bot's peak resident memory so far (VmHWM)."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else float("nan")

    def cpu_seconds(self) -> float:
        """CPU time the bot and its finished children (ffmpeg) used so far."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")

    def metric(self, name: str) -> float:
        """One unlabelled value from the bot's /metrics."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        match = re.search(rf"^{name} ([0-9.eE+-]+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else float("nan")

    async def stop(self) -> None:
        """SIGTERM, as a deployment stops it, and wait for the exit."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        if url := redis_url():
            import redis.asyncio as redis

            client = redis.Redis.from_url(url)
            keys = [key async for key in client.scan_iter(f"{self.prefix}*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()


@dataclass
class Person:
    """Someone who asks one question; `question` and `answer` are unique to them."""

    user_id: int
    chat_id: int
    question: str
    answer: str
    sent_at: float = 0.0
    message_id: int = 0


@dataclass
class Trace:
    """When a person saw each stage, in seconds after they sent their message (None: never)."""

    first_sign: float | None
    transcript: float | None
    first_words: float | None
    second_preview: float | None
    whole: float | None
    voice: float | None


def _text(call: Call) -> str:
    return str(call.params.get("text") or "")


def _reply_to(call: Call) -> int | None:
    reply = call.params.get("reply_parameters")
    if isinstance(reply, dict) and reply.get("message_id") is not None:
        return int(reply["message_id"])
    value = call.params.get("reply_to_message_id")
    return int(value) if value is not None else None


def trace(person: Person, calls: list[Call], *, group: bool) -> Trace:
    """What `person` saw, from the calls made to their chat (in a group: replies to them)."""
    mine = [c for c in calls if int(c.params.get("chat_id") or 0) == person.chat_id]
    if group:  # other members' answers share the chat: theirs carry other questions
        mine = [
            c
            for c in mine
            if c.method == "sendChatAction"
            or person.answer in _text(c)
            or person.question in _text(c)
            or _reply_to(c) == person.message_id
        ]

    def first(predicate: Any) -> float | None:
        return next((c.time - person.sent_at for c in mine if predicate(c)), None)

    marker = person.answer[:4]
    previews = [
        c
        for c in mine
        if c.method in PREVIEW_METHODS
        and (c.method == "sendMessageDraft" or marker in _text(c) or person.question in _text(c))
    ]
    return Trace(
        first_sign=first(lambda c: c.method in SIGN_METHODS),
        transcript=first(lambda c: c.method in PREVIEW_METHODS and person.question in _text(c)),
        first_words=first(lambda c: c.method in PREVIEW_METHODS and marker in _text(c)),
        second_preview=previews[1].time - person.sent_at if len(previews) > 1 else None,
        whole=first(lambda c: c.method in PREVIEW_METHODS[1:] and person.answer in _text(c)),
        voice=first(
            lambda c: c.method == "sendVoice" and (not group or _reply_to(c) == person.message_id)
        ),
    )


def calls_by_method(calls: list[Call], chats: set[int]) -> Counter[str]:
    """Calls that name one of `chats`, by method."""
    return Counter(c.method for c in calls if int(c.params.get("chat_id") or 0) in chats)


def percentile(values: list[float], share: float) -> float:
    """The `share` quantile (nearest rank) of `values`; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def median(values: list[float]) -> float:
    """The median, NaN for none."""
    return statistics.median(values) if values else float("nan")
