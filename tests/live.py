"""A live-voice client for tests and the benchmark: signed initData, paced PCM, the messages."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import av

from bot.live.auth import sign_init_data

FIXTURES = Path(__file__).parent / "fixtures"
IN_RATE = 16_000
FRAME_BYTES = IN_RATE * 2 // 50  # 20 ms, as a browser's worklet would send


@cache
def pcm_of(name: str, *, rate: int = IN_RATE, silence_after: float = 1.5) -> bytes:
    """A sample from tests/fixtures as 16-bit mono PCM, with a pause after it."""
    out = bytearray()
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    with av.open(str(FIXTURES / name)) as container:
        for frame in container.decode(audio=0):
            for piece in resampler.resample(frame):
                out += piece.to_ndarray().tobytes()
    for piece in resampler.resample(None):
        out += piece.to_ndarray().tobytes()
    return bytes(out) + b"\0" * int(2 * rate * silence_after)


def init_data(
    token: str, user_id: int, *, language: str = "en", auth_date: float | None = None
) -> str:
    """initData as a Telegram client passes it, signed with `token`."""
    user = {"id": user_id, "first_name": "Live", "last_name": "Tester", "language_code": language}
    fields = {
        "query_id": f"AAH{user_id}",
        "user": json.dumps(user, separators=(",", ":")),
        "auth_date": str(int(auth_date if auth_date is not None else time.time())),
    }
    return sign_init_data(fields, bot_token=token)


@dataclass
class LiveClient:
    """One WebSocket to /live/ws: what it received, in order, with the time it arrived."""

    ws: aiohttp.ClientWebSocketResponse
    messages: list[dict[str, Any]] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    first_audio_at: float | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None

    @property
    def close_code(self) -> int | None:
        """The code the server closed with."""
        return self.ws.close_code

    def start(self) -> None:
        """Read in the background."""
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.messages.append({**json.loads(message.data), "at": time.perf_counter()})
            elif message.type == aiohttp.WSMsgType.BINARY:
                if self.first_audio_at is None:
                    self.first_audio_at = time.perf_counter()
                self.audio += message.data
                self.messages.append({"type": "audio", "bytes": len(message.data)})
            self._changed.set()
        self.closed.set()
        self._changed.set()

    def of_type(self, kind: str, **fields: Any) -> list[dict[str, Any]]:
        """The messages of one type (with these values, e.g. `final=True` for transcripts)."""
        return [
            m
            for m in self.messages
            if m["type"] == kind and all(m.get(k) == v for k, v in fields.items())
        ]

    async def wait_for(
        self,
        kind: str,
        count: int = 1,
        timeout: float = 60,  # noqa: ASYNC109
        **fields: Any,
    ) -> dict[str, Any]:
        """The `count`-th message of `kind` (AssertionError with what came, after `timeout`)."""
        deadline = time.monotonic() + timeout
        while len(self.of_type(kind, **fields)) < count:
            if self.closed.is_set():
                raise AssertionError(f"closed ({self.close_code}) before {kind}: {self.summary()}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind} within {timeout} s: {self.summary()}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                pass
        return self.of_type(kind, **fields)[count - 1]

    async def wait_closed(self, timeout: float = 60) -> int | None:  # noqa: ASYNC109
        """Wait until the server closes; its close code."""
        await asyncio.wait_for(self.closed.wait(), timeout)
        return self.close_code

    def summary(self) -> str:
        """What came so far, audio runs collapsed."""
        kinds: list[str] = []
        for m in self.messages:
            label = (
                m["type"]
                if m["type"] == "audio"
                else json.dumps({k: v for k, v in m.items() if k != "at"}, ensure_ascii=False)
            )
            if not (kinds and label == "audio" and kinds[-1] == "audio"):
                kinds.append(label)
        return " | ".join(kinds)

    async def send(self, message: dict[str, Any]) -> None:
        """A text frame."""
        await self.ws.send_str(json.dumps(message))

    async def speak(self, pcm: bytes, *, frame_bytes: int = FRAME_BYTES) -> float:
        """Send `pcm` in frames at real-time pace; returns when the last frame was sent."""
        started = time.perf_counter()
        for index, offset in enumerate(range(0, len(pcm), frame_bytes)):
            due = started + index * frame_bytes / (2 * IN_RATE)
            if (ahead := due - time.perf_counter()) > 0:
                await asyncio.sleep(ahead)
            await self.ws.send_bytes(pcm[offset : offset + frame_bytes])
        return time.perf_counter()

    async def close(self) -> None:
        """Close from this side."""
        await self.ws.close()
        if self.reader is not None:
            await self.reader


async def connect(
    session: aiohttp.ClientSession, root: str, hello: str | None, *, ready: bool = True
) -> LiveClient:
    """Open /live/ws, say hello with `hello` as initData, and (by default) wait for ready."""
    ws = await session.ws_connect(f"{root}/live/ws", max_msg_size=0)
    client = LiveClient(ws)
    client.start()
    if hello is not None:
        await client.send({"type": "hello", "init_data": hello})
    if ready:
        await client.wait_for("ready", timeout=30)
    return client
