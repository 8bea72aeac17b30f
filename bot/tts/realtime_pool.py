"""A few Realtime API sessions per process, each reading one sentence at a time, reused.

Opening a session costs a WebSocket handshake and a `session.update` round trip, so sessions
outlive sentences and turns. Each sentence is one out-of-band response (`conversation: "none"`):
nothing accumulates in the session's conversation, so a reused session costs what a new one
does. A session that closes or answers an error mid-answer is discarded and the sentence is
read once more on a fresh one.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

from bot.core.quota import SpeechTokens
from bot.core.readaloud import READ_ALOUD_INSTRUCTIONS, reasons
from bot.errors import CredentialsRejected, ServiceError, is_retryable_status

if TYPE_CHECKING:
    from openai.resources.realtime.realtime import AsyncRealtimeConnection
    from openai.types.realtime import (
        RealtimeError,
        RealtimeResponse,
        RealtimeResponseCreateParamsParam,
        RealtimeSessionCreateRequestParam,
    )

    from bot.openai_client import OpenAIResources

logger = logging.getLogger(__name__)

STAGE = "synthesis"
PCM_RATE: Final = 24_000  # the Realtime API's only PCM rate: 16-bit mono
# OpenAI ends a Realtime session after 60 minutes; an older idle one is closed, not reused.
MAX_SESSION_AGE_SECONDS = 50 * 60
# The server events a reading needs (openai.types.realtime's `type` literals).
AUDIO_DELTA: Final = "response.output_audio.delta"
TRANSCRIPT_DONE: Final = "response.output_audio_transcript.done"
RESPONSE_DONE: Final = "response.done"
ERROR: Final = "error"


@dataclass(frozen=True)
class Spoken:
    """One sentence as the model said it: 24 kHz PCM, its own transcript, the tokens billed."""

    pcm: bytes
    transcript: str
    tokens: SpeechTokens


class SessionBroken(Exception):
    """A session closed, answered an error or failed mid-answer: another session may read it."""


def session_config(model: str, voice: str) -> RealtimeSessionCreateRequestParam:
    """The `session.update` payload: a reading voice, PCM out, no listening for speech."""
    session: RealtimeSessionCreateRequestParam = {
        "type": "realtime",
        "instructions": READ_ALOUD_INSTRUCTIONS,
        "output_modalities": ["audio"],
        "audio": {
            "input": {"turn_detection": None},
            "output": {"format": {"type": "audio/pcm", "rate": PCM_RATE}, "voice": voice},
        },
    }
    if reasons(model):
        session["reasoning"] = {"effort": "minimal"}  # reading aloud needs no thought
    return session


def response_request(text: str) -> RealtimeResponseCreateParamsParam:
    """An out-of-band audio response reading `text`; nothing is added to the conversation."""
    return {
        "conversation": "none",
        "output_modalities": ["audio"],
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        ],
    }


class RealtimeSession:
    """One open Realtime connection, configured to read aloud."""

    def __init__(
        self, connection: AsyncRealtimeConnection, opened_at: float, voice: str = ""
    ) -> None:
        """Wrap `connection`, opened at `opened_at` (monotonic seconds), speaking in `voice`."""
        self.connection = connection
        self.opened_at = opened_at
        self.voice = voice  # fixed once the session has spoken (the Realtime API's rule)

    async def speak(self, text: str, *, patience: float) -> Spoken:
        """Read `text` as one response; SessionBroken when the session failed on the way.

        Events are read as raw JSON and only the last one is built into the SDK's type: a
        sentence brings dozens of audio and transcript deltas, and building each as a model
        cost the event loop ~1 ms apiece with 200 people talking.

        Raises:
            TimeoutError: no event came for `patience` seconds (a long sentence that keeps
                streaming is never cut short).
        """
        import openai.types.realtime as rt
        from openai import WebSocketConnectionClosedError
        from websockets.exceptions import ConnectionClosed

        pcm, transcript = bytearray(), ""
        try:
            await self.connection.send_raw(
                json.dumps({"type": "response.create", "response": response_request(text)})
            )
            while True:
                async with asyncio.timeout(patience):
                    data = await self.connection.recv_bytes()  # cancelling loses nothing
                event = json.loads(data)
                kind = event.get("type") if isinstance(event, dict) else None
                if kind == AUDIO_DELTA:
                    pcm += base64.b64decode(event["delta"])
                elif kind == TRANSCRIPT_DONE:
                    transcript = str(event.get("transcript") or "")
                elif kind in (ERROR, RESPONSE_DONE):
                    parsed = self.connection.parse_event(data)
                    if isinstance(parsed, rt.RealtimeErrorEvent):
                        code = parsed.error.code or parsed.error.type
                        raise SessionBroken(f"error event {code}")
                    if isinstance(parsed, rt.ResponseDoneEvent):
                        return _finished(parsed.response, bytes(pcm), transcript)
        except (ConnectionClosed, WebSocketConnectionClosedError) as error:
            raise SessionBroken(f"closed mid-answer: {type(error).__name__}") from error
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            raise SessionBroken(f"unreadable event: {type(error).__name__}") from error


def warm_up(model: str, voice: str) -> None:
    """Load (blocking, in a worker thread) what a first Realtime session would load on the loop.

    The SDK's realtime types, `websockets`, and the first construction of the event unions take
    ~0.8 s here: on the event loop, the first voice reply after a start would stall everyone.
    """
    import openai.resources.realtime  # noqa: F401
    import openai.types.realtime as rt
    import websockets.asyncio.client  # noqa: F401
    from openai._models import construct_type_unchecked
    from openai._utils import maybe_transform

    for event in (
        {"type": "session.update", "session": session_config(model, voice)},
        {"type": "response.create", "response": response_request("warm")},
    ):
        maybe_transform(event, rt.RealtimeClientEventParam)
    for data in (
        {
            "type": "response.output_audio.delta",
            "event_id": "e",
            "response_id": "r",
            "item_id": "i",
            "output_index": 0,
            "content_index": 0,
            "delta": "",
        },
        {
            "type": "response.done",
            "event_id": "e",
            "response": {"id": "r", "object": "realtime.response", "status": "completed"},
        },
    ):
        construct_type_unchecked(value=data, type_=cast(Any, rt.RealtimeServerEvent))


def _finished(response: RealtimeResponse, pcm: bytes, transcript: str) -> Spoken:
    if response.status != "completed" or not pcm:
        raise SessionBroken(f"response {response.status} with {len(pcm)} bytes of audio")
    usage = response.usage
    if usage is None:
        return Spoken(pcm, transcript, SpeechTokens())
    details = usage.output_token_details
    audio_out = (details.audio_tokens if details else None) or 0
    text_out = max((usage.output_tokens or 0) - audio_out, 0)
    return Spoken(pcm, transcript, SpeechTokens(usage.input_tokens or 0, text_out, audio_out))


class RealtimePool:
    """At most `size` sessions, each reading one sentence at a time, kept open between them.

    Args:
        client: the shared OpenAI client.
        model: the Realtime model.
        voice: the voice of a sentence that names none.
        size: the most sessions open (and sentences read) at once.
        timeout: seconds for opening a session, and for each wait for a sentence's next event.
        clock: monotonic seconds; injectable for tests.
    """

    def __init__(
        self,
        client: OpenAIResources,
        *,
        model: str,
        voice: str,
        size: int,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Open nothing yet: the first sentence opens the first session."""
        self._client = client
        self._model = model
        self._voice = voice
        self._timeout = timeout
        self._clock = clock
        self._size = size
        self._slots = asyncio.Semaphore(size)
        self._idle: list[RealtimeSession] = []
        self._closing: set[asyncio.Task[None]] = set()

    async def speak(self, text: str, voice: str | None = None) -> Spoken:
        """Read `text` in `voice` on a pooled session; once more on a fresh one if it breaks.

        Raises:
            ServiceError: no session could be opened, the answer timed out, or two broke.
        """
        async with self._slots:
            for attempt in (1, 2):
                session = await self._take(voice or self._voice)
                try:
                    spoken = await session.speak(text, patience=self._timeout)
                except SessionBroken as error:
                    self._discard(session)
                    logger.warning(
                        "tts realtime session discarded (attempt %d): %s", attempt, error
                    )
                    continue
                except TimeoutError:
                    self._discard(session)
                    raise ServiceError(STAGE, "realtime answer stalled", retryable=True) from None
                except BaseException:
                    self._discard(session)  # cancelled mid-answer: its events would go astray
                    raise
                self._idle.append(session)
                return spoken
        raise ServiceError(STAGE, "realtime sessions broke mid-answer twice", retryable=True)

    async def aclose(self) -> None:
        """Close every session (at shutdown)."""
        while self._idle:
            self._discard(self._idle.pop())
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def _take(self, voice: str) -> RealtimeSession:
        """The most recently used idle session in `voice`, or a new one.

        A session's voice cannot change once it has spoken, so a voice nobody idle has opens a
        session of its own; the oldest idle sessions beyond the pool's size are closed.
        """
        for index in range(len(self._idle) - 1, -1, -1):
            session = self._idle[index]
            if session.voice != voice:
                continue
            del self._idle[index]
            if self._clock() - session.opened_at < MAX_SESSION_AGE_SECONDS:
                return session
            self._discard(session)
        while len(self._idle) >= self._size:
            self._discard(self._idle.pop(0))
        return await self._open(voice)

    async def _open(self, voice: str) -> RealtimeSession:
        import openai
        from websockets.exceptions import InvalidStatus, WebSocketException

        try:
            async with asyncio.timeout(self._timeout):
                connection = await self._client.realtime.connect(model=self._model).enter()
                session = RealtimeSession(connection, self._clock(), voice)
                try:
                    await _configure(connection, session_config(self._model, voice))
                except BaseException:
                    self._discard(session)
                    raise
        except TimeoutError:
            raise ServiceError(STAGE, "realtime session did not open", retryable=True) from None
        except InvalidStatus as error:
            raise _refused_handshake(error.response.status_code) from error
        except (OSError, WebSocketException, openai.OpenAIError) as error:
            raise ServiceError(STAGE, type(error).__name__, retryable=True) from error
        return session

    def _discard(self, session: RealtimeSession) -> None:
        """Close a session in the background: a cancelled caller must not wait for it."""
        task = asyncio.create_task(_close_quietly(session.connection))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


async def _configure(
    connection: AsyncRealtimeConnection, config: RealtimeSessionCreateRequestParam
) -> None:
    """Wait for `session.created`, send `session.update`, wait for `session.updated`.

    An error event instead (a shut-down model, a rejected voice) refuses the session.
    """
    import openai.types.realtime as rt

    await _expect(connection, rt.SessionCreatedEvent)
    await connection.session.update(session=config)
    await _expect(connection, rt.SessionUpdatedEvent)


async def _expect(connection: AsyncRealtimeConnection, kind: type[object]) -> None:
    import openai.types.realtime as rt

    while True:
        event = await connection.recv()
        if isinstance(event, kind):
            return
        if isinstance(event, rt.RealtimeErrorEvent):
            raise _refused_session(event.error)


def _refused_handshake(status: int) -> ServiceError:
    if status == 401:
        return CredentialsRejected(STAGE)
    return ServiceError(
        STAGE,
        f"HTTP {status} opening a realtime session",
        status=status,
        retryable=is_retryable_status(status),
    )


def _refused_session(error: RealtimeError) -> ServiceError:
    """The server's error event at the start of a session (its code, never its message)."""
    code = error.code or error.type
    if code == "invalid_api_key":
        return CredentialsRejected(STAGE)
    status = 404 if code == "model_not_found" else None
    retryable = error.type == "server_error" and status is None
    return ServiceError(
        STAGE, f"realtime session refused: {code}", status=status, retryable=retryable
    )


async def _close_quietly(connection: AsyncRealtimeConnection) -> None:
    from websockets.exceptions import WebSocketException

    try:
        await connection.close()
    except (OSError, WebSocketException) as error:  # already gone: nothing left to release
        logger.debug("realtime session closed uneasily: %s", type(error).__name__)
