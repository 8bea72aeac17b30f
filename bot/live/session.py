"""One live conversation over a WebSocket: utterances in, answers and their speech out.

Every utterance is a turn of the user's private chat, answered by the same assistant as a
voice note (`Assistant.answer_live`): same memory, masking, caches, quotas and ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, Protocol

from bot.errors import AudioError, CredentialsRejected
from bot.events import (
    AnswerDelta,
    Answered,
    AssistantEvent,
    Heard,
    Hearing,
    Notice,
    Refused,
    Speaking,
)
from bot.i18n import t
from bot.live.pcm import OUT_FRAME_BYTES, OUT_RATE, pcm_to_wav, speech_pieces
from bot.live.vad import RATE, SpeechStarted, UtteranceDetector, UtteranceEnded
from bot.metrics import Metrics
from bot.requests import AudioRequest, Sender
from bot.tts.base import Speech

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024
BURST_SECONDS = 2.0  # audio may run this far ahead of the clock (a network hiccup catching up)
MAX_STRIKES = 3  # input refusals before the session is closed
DECODE_SLICE_SECONDS = 0.003  # speech decoding yields the loop this often
CLOSE_INPUT, CLOSE_REPLACED, CLOSE_TOO_LONG = 4400, 4409, 4408
_REFUSAL_CODES = {
    "over_quota": "quota",
    "blocked": "blocked",
    "not_allowed": "blocked",
    "bad_audio": "input",
    "too_long": "input",
}


class Socket(Protocol):
    """What the session needs of aiohttp's WebSocketResponse."""

    async def send_str(self, data: str) -> None:
        """Send a text frame."""

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary frame."""

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        """Close the socket."""


class Answering(Protocol):
    """The assistant's live turn (bot.assistant.Assistant.answer_live)."""

    def answer_live(self, request: AudioRequest) -> AsyncGenerator[AssistantEvent, None]:
        """Answer one utterance."""


class Pace:
    """Refuses audio that arrives faster than real time (beyond a short burst)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Measure against `clock`."""
        self._clock = clock
        self._started: float | None = None
        self._received = 0.0

    def admit(self, seconds: float) -> bool:
        """Whether `seconds` more audio is within real time plus the burst."""
        now = self._clock()
        if self._started is None:
            self._started = now
        if self._received + seconds > now - self._started + BURST_SECONDS:
            return False
        self._received += seconds
        return True


class LiveSession:
    """The protocol after the handshake; `run` reads frames until the socket closes."""

    def __init__(
        self,
        socket: Socket,
        sender: Sender,
        *,
        assistant: Answering,
        metrics: Metrics,
        language: str,
        silence_ms: int,
        max_utterance_seconds: float,
    ) -> None:
        self._socket = socket
        self._sender = sender
        self._assistant = assistant
        self._metrics = metrics
        self._language = language
        self._detector = UtteranceDetector(silence_ms=silence_ms, max_seconds=max_utterance_seconds)
        self._pace = Pace()
        self._strikes = 0
        self._turn: asyncio.Task[None] | None = None
        self._speaking = False  # speech frames of the current answer have gone out
        self._playing_until = 0.0  # when the page will have played what was sent (monotonic)
        self.closing = False

    async def on_audio(self, data: bytes) -> None:
        """A binary frame: 16 kHz PCM from the microphone."""
        if len(data) > MAX_FRAME_BYTES or len(data) % 2:
            await self.refuse("input")
            return
        if not self._pace.admit(len(data) / (2 * RATE)):
            await self.refuse("input")
            return
        ended = time.perf_counter()
        for event in self._detector.feed(data):
            if isinstance(event, SpeechStarted) and self._playing():
                await self.interrupt(barge_in=True)
            elif isinstance(event, UtteranceEnded):
                await self.interrupt(barge_in=False)
                self._metrics.live_utterances.inc()
                self._turn = asyncio.create_task(self._answer(event, ended))

    async def on_text(self, data: str) -> bool:
        """A text frame; False when the client said goodbye."""
        try:
            kind = json.loads(data).get("type")
        except (ValueError, AttributeError):
            kind = None
        if kind == "bye":
            return False
        if kind == "stop":
            await self.interrupt(barge_in=False, tell=True)
        else:
            await self.refuse("input")
        return True

    @property
    def struck_out(self) -> bool:
        """Whether the client kept sending what it must not."""
        return self._strikes >= MAX_STRIKES

    async def refuse(self, code: str, key: str | None = None, **params: object) -> None:
        """Send an error in the user's language (`code` alone picks a message)."""
        if code == "input":
            self._strikes += 1
        self._metrics.live_refusals.labels(code=code).inc()
        message = t(key or f"live_{code}", self._language, **params)
        await self._send({"type": "error", "code": code, "message": message})

    async def interrupt(self, *, barge_in: bool, tell: bool = False) -> None:
        """Stop the answer in progress (speech and text), if any."""
        turn, self._turn = self._turn, None
        running = turn is not None and not turn.done()
        if barge_in:
            self._metrics.live_barge_ins.inc()
        if turn is not None and running:
            turn.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await turn
        if barge_in or tell or (running and self._speaking):
            await self._send({"type": "interrupted"})  # the page drops what it has not played
        self._speaking = False
        self._playing_until = 0.0

    def _playing(self) -> bool:
        """Whether the page is still playing the answer (speech is sent faster than it plays)."""
        return self._speaking or time.monotonic() < self._playing_until

    async def finish(self) -> None:
        """The connection is gone: cancel the turn in progress and free what it held."""
        self.closing = True
        await self.interrupt(barge_in=False)

    async def _answer(self, utterance: UtteranceEnded, ended: float) -> None:
        wav = pcm_to_wav(utterance.pcm)

        async def fetch() -> bytes:
            return wav

        request = AudioRequest(
            sender=self._sender,
            file_unique_id="live-" + hashlib.sha256(utterance.pcm).hexdigest()[:40],
            duration=utterance.seconds,
            fetch=fetch,
        )
        player: asyncio.Task[None] | None = None
        try:
            async with contextlib.aclosing(self._assistant.answer_live(request)) as events:
                sent = ""
                async for event in events:
                    if isinstance(event, Speaking):
                        player = asyncio.create_task(self._play(event.parts, ended))
                    else:
                        sent = await self._render(event, sent)
            if player is not None:
                await player
                await self._send({"type": "speech_end"})
        except CredentialsRejected:
            log.error("live turn failed: the OpenAI key was rejected")
            await self.refuse("service")
        except Exception:
            log.exception("live turn failed")
            await self.refuse("service")
        finally:
            if player is not None and not player.done():
                player.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await player
            self._speaking = False

    async def _render(self, event: AssistantEvent, sent: str) -> str:
        """Send one assistant event; returns the answer text sent so far."""
        if isinstance(event, Hearing):  # a streaming recogniser's transcript so far
            await self._send({"type": "transcript", "text": event.text, "final": False})
        elif isinstance(event, Heard):
            await self._send({"type": "transcript", "text": event.text, "final": True})
        elif isinstance(event, AnswerDelta) and event.text.startswith(sent):
            if delta := event.text[len(sent) :]:
                await self._send({"type": "answer", "text": delta})
            return event.text
        elif isinstance(event, Answered):
            await self._send({"type": "answer_end", "text": event.text})
        elif isinstance(event, Refused) and event.key == "no_speech":
            await self._send({"type": "transcript", "text": "", "final": True})
        elif isinstance(event, Refused):
            await self.refuse(_REFUSAL_CODES.get(event.key, "service"), event.key, **event.params)
        elif isinstance(event, Notice) and event.key == "voice_unavailable":
            await self.refuse("service", event.key)
        return sent

    async def _play(self, parts: AsyncIterator[Speech], ended: float) -> None:
        """Each sentence's speech as 24 kHz PCM frames, as soon as it is synthesised."""
        async for speech in parts:
            pending = bytearray()
            try:
                async for piece in _decoded(speech):
                    pending += piece
                    while len(pending) >= OUT_FRAME_BYTES:
                        await self._send_speech(bytes(pending[:OUT_FRAME_BYTES]), ended)
                        del pending[:OUT_FRAME_BYTES]
            except AudioError as error:
                log.warning("a sentence's speech did not decode: %s", error)
            if pending:
                await self._send_speech(bytes(pending), ended)

    async def _send_speech(self, frame: bytes, ended: float) -> None:
        if not self._speaking:
            self._speaking = True
            self._metrics.live_first_audio.observe(time.perf_counter() - ended)
        await self._socket.send_bytes(frame)
        self._playing_until = max(self._playing_until, time.monotonic())
        self._playing_until += len(frame) / (2 * OUT_RATE)

    async def _send(self, message: dict[str, Any]) -> None:
        if self.closing:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):  # the client went away
            await self._socket.send_str(json.dumps(message, ensure_ascii=False))


async def _decoded(speech: Speech) -> AsyncIterator[bytes]:
    """The clip's PCM, decoded on the loop a slice at a time (see bot.live.pcm.speech_pieces)."""
    started = time.perf_counter()
    for piece in speech_pieces(speech):
        yield piece
        if time.perf_counter() - started > DECODE_SLICE_SECONDS:
            await asyncio.sleep(0)  # let other sessions' frames through
            started = time.perf_counter()


__all__ = ["CLOSE_INPUT", "CLOSE_REPLACED", "CLOSE_TOO_LONG", "LiveSession", "Pace"]
