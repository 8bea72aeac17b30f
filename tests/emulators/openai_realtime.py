"""The OpenAI emulator's Realtime API: `GET /v1/realtime?model=...` upgraded to a WebSocket.

It speaks what `client.realtime.connect(model=...)` of the openai SDK expects: `session.created`
on connect, `session.update` → `session.updated`, and for `response.create` the response's
events (`response.output_audio.delta` with base64 PCM16 mono 24 kHz, the transcript, and
`response.done` with its usage). Tests script faults per response: close the socket mid-answer,
answer an error event, or say something other than the text; and retire models.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.emulators import openai_replies as replies
from tests.emulators.audio_tools import PCM_RATE, tone
from tests.emulators.openai_http import OpenAIError

# The voices a Realtime session speaks with (fable, nova and onyx are speech-endpoint only).
REALTIME_VOICES = frozenset("alloy ash ballad coral echo sage shimmer verse marin cedar".split())
DELTA_SAMPLES = PCM_RATE // 5  # 0.2 s of audio per delta
AUDIO_TOKENS_PER_SECOND = 20  # OpenAI: one output audio token per 50 ms


@dataclass
class RealtimeSession:
    """One WebSocket session as the emulator saw it."""

    model: str
    headers: dict[str, str]
    config: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)  # what the client sent
    responses: list[dict[str, Any]] = field(default_factory=list)  # the response.create bodies
    usages: list[dict[str, Any]] = field(default_factory=list)  # what each response.done said
    closed: bool = False  # the socket is closed (by either side)


@dataclass
class _Fault:
    kind: str  # "close", "stall", "garble", "error" or "transcript"
    after_deltas: int = 1
    code: str = "server_error"
    transcript: str = ""


class RealtimeEmulator:
    """The Realtime endpoint's state and scripting hooks (reach it as `openai_api.realtime`)."""

    def __init__(self, latencies: Callable[[], Any]) -> None:
        """Read the emulator's Latencies through `latencies()`: `realtime_connect` before
        `session.created`, `speech` before a response's first audio."""
        self._latencies = latencies
        self.sessions: list[RealtimeSession] = []
        self._faults: list[_Fault] = []
        self._retired: dict[str, str] = {}
        self._ids = itertools.count(1)

    # ---- test-side controls ----------------------------------------------------------------

    @property
    def connections(self) -> int:
        """WebSocket sessions opened so far."""
        return len(self.sessions)

    def responses(self) -> list[dict[str, Any]]:
        """Every response.create body, in order, over all sessions."""
        return [r for s in self.sessions for r in s.responses]

    def usages(self) -> list[dict[str, Any]]:
        """The usage of every completed response, in order, over all sessions."""
        return [u for s in self.sessions for u in s.usages]

    def close_next(self, *, after_deltas: int = 1, times: int = 1) -> None:
        """Close the socket of the next `times` responses after `after_deltas` audio deltas."""
        self._faults += [_Fault("close", after_deltas=after_deltas) for _ in range(times)]

    def stall_next(self, *, after_deltas: int = 1) -> None:
        """Stop the next response after `after_deltas` audio deltas, the socket left open."""
        self._faults.append(_Fault("stall", after_deltas=after_deltas))

    def garble_next(self, *, after_deltas: int = 1) -> None:
        """Send a frame that is not JSON in the next response after `after_deltas` deltas."""
        self._faults.append(_Fault("garble", after_deltas=after_deltas))

    def error_next(self, code: str = "server_error", *, times: int = 1) -> None:
        """Answer the next `times` response.create with an `error` event and no response."""
        self._faults += [_Fault("error", code=code) for _ in range(times)]

    def say_instead_next(self, transcript: str, *, times: int = 1) -> None:
        """In the next `times` responses the model's transcript is `transcript`, not the text."""
        self._faults += [_Fault("transcript", transcript=transcript) for _ in range(times)]

    def retire(self, model: str, *, at: str = "handshake") -> None:
        """Answer `model` as a shut-down model: 404 model_not_found at the handshake
        (`at="handshake"`), or an `error` event with that code, then a close (`at="session"`)."""
        self._retired[model] = at

    # ---- the WebSocket -----------------------------------------------------------------------

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """The handshake's checks, then the session's events until the client closes."""
        model = request.query.get("model", "")
        if not model:
            raise OpenAIError(400, "Missing required parameter: 'model'.", param="model")
        if self._retired.get(model) == "handshake":
            raise OpenAIError(404, *_model_gone(model))
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = RealtimeSession(model, dict(request.headers))
        self.sessions.append(session)
        if self._retired.get(model) == "session":
            message, kind, code = _model_gone(model)
            await self._send(ws, "error", error={"type": kind, "code": code, "message": message})
            await ws.close()
            return ws
        session.config = _default_session(model)
        await asyncio.sleep(self._latencies().realtime_connect)
        await self._send(ws, "session.created", session=session.config)
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    break
                event = json.loads(message.data)
                session.events.append(event)
                if not await self._handle(ws, session, event):
                    break
        finally:
            session.closed = True
        return ws

    async def _handle(
        self, ws: web.WebSocketResponse, session: RealtimeSession, event: Any
    ) -> bool:
        """Answer one client event; False when the socket was closed on purpose."""
        kind = event.get("type")
        if kind == "session.update":
            update = event.get("session") or {}
            voice = ((update.get("audio") or {}).get("output") or {}).get("voice")
            if voice is not None and voice not in REALTIME_VOICES:
                await self._error(ws, event, f"Invalid value: '{voice}'.", "invalid_value")
                return True
            session.config = _merge(session.config, update)
            await self._send(ws, "session.updated", session=session.config)
            return True
        if kind == "response.create":
            body = event.get("response") or {}
            session.responses.append(body)
            return await self._respond(ws, session, event, body)
        await self._error(ws, event, f"Invalid value: '{kind}'.", "invalid_value")
        return True

    async def _respond(
        self, ws: web.WebSocketResponse, session: RealtimeSession, event: Any, body: Any
    ) -> bool:
        fault = self._faults.pop(0) if self._faults else None
        if fault is not None and fault.kind == "error":
            message = "The server had an error while processing your request."
            await self._error(ws, event, message, fault.code, kind="server_error")
            return True
        text = _input_text(body)
        if not text:
            await self._error(ws, event, "The response has no input to read.", "invalid_value")
            return True
        said = fault.transcript if fault is not None and fault.kind == "transcript" else text
        response_id, item_id = f"resp_emu{next(self._ids):06d}", f"item_emu{next(self._ids):06d}"
        response = _response(response_id, session, body, "in_progress")
        await self._send(ws, "response.created", response=response)
        ids = {"response_id": response_id, "item_id": item_id, "output_index": 0}
        await self._send(
            ws,
            "response.output_item.added",
            response_id=response_id,
            output_index=0,
            item=_item(item_id, None),
        )
        await asyncio.sleep(self._latencies().speech)
        seconds = round(min(max(0.05 * len(text), 0.2), 10.0), 2)  # as /v1/audio/speech speaks
        pcm = await asyncio.to_thread(tone, seconds, "pcm")
        faulty = fault is not None and fault.kind in ("close", "stall", "garble")
        cut = fault.after_deltas if fault is not None and faulty else None
        for number, start in enumerate(range(0, len(pcm), 2 * DELTA_SAMPLES)):
            if number == cut and fault is not None and fault.kind == "stall":
                await ws.receive()  # silent until the client gives up and closes
                return False
            if number == cut and fault is not None and fault.kind == "garble":
                await ws.send_str('{"type": "response.output_audio.delta", "delta": ')
                await ws.receive()  # whatever the client does next, this response is spoiled
                return False
            if number == cut:
                await ws.close(code=1011, message=b"internal error")
                return False
            delta = base64.b64encode(pcm[start : start + 2 * DELTA_SAMPLES]).decode()
            await self._send(ws, "response.output_audio.delta", **ids, content_index=0, delta=delta)
        for word in said.split(" "):
            await self._send(
                ws,
                "response.output_audio_transcript.delta",
                **ids,
                content_index=0,
                delta=word + " ",
            )
        await self._send(ws, "response.output_audio.done", **ids, content_index=0)
        await self._send(
            ws, "response.output_audio_transcript.done", **ids, content_index=0, transcript=said
        )
        await self._send(
            ws,
            "response.output_item.done",
            response_id=response_id,
            output_index=0,
            item=_item(item_id, said),
        )
        done = _response(response_id, session, body, "completed")
        done["output"] = [_item(item_id, said)]
        done["usage"] = _usage(session, text, said, seconds)
        session.usages.append(done["usage"])
        await self._send(ws, "response.done", response=done)
        return True

    async def _error(
        self,
        ws: web.WebSocketResponse,
        event: Any,
        message: str,
        code: str,
        kind: str = "invalid_request_error",
    ) -> None:
        error = {
            "type": kind,
            "code": code,
            "message": message,
            "param": None,
            "event_id": event.get("event_id"),
        }
        await self._send(ws, "error", error=error)

    async def _send(self, ws: web.WebSocketResponse, kind: str, **fields: Any) -> None:
        event = {"type": kind, "event_id": f"event_emu{next(self._ids):06d}", **fields}
        await ws.send_str(json.dumps(event, ensure_ascii=False))


def _model_gone(model: str) -> tuple[str, str, str]:
    return (
        f"The model `{model}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    )


def _default_session(model: str) -> dict[str, Any]:
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": "sess_emu",
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "Your knowledge cutoff is 2023-10. You are a helpful assistant.",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": PCM_RATE},
                "turn_detection": {"type": "server_vad"},
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": PCM_RATE},
                "voice": "alloy",
                "speed": 1.0,
            },
        },
        "max_output_tokens": "inf",
    }


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """`update` over `base`, nested objects merged; a null replaces (turn_detection: null)."""
    merged = dict(base)
    for key, value in update.items():
        old = merged.get(key)
        merged[key] = (
            _merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
        )
    return merged


def _input_text(body: dict[str, Any]) -> str:
    parts = [
        str(content.get("text") or "")
        for item in body.get("input") or []
        for content in item.get("content") or []
        if content.get("type") == "input_text"
    ]
    return " ".join(p for p in parts if p)


def _response(response_id: str, session: RealtimeSession, body: Any, status: str) -> dict[str, Any]:
    output = (session.config.get("audio") or {}).get("output") or {}
    return {
        "id": response_id,
        "object": "realtime.response",
        "status": status,
        "status_details": None,
        "conversation_id": None if body.get("conversation") == "none" else "conv_emu",
        "output_modalities": body.get("output_modalities") or session.config["output_modalities"],
        "audio": {"output": {"format": output.get("format"), "voice": output.get("voice")}},
        "max_output_tokens": "inf",
        "metadata": body.get("metadata"),
        "output": [],
        "usage": None,
    }


def _item(item_id: str, transcript: str | None) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "assistant",
        "status": "completed" if transcript is not None else "in_progress",
        "content": [{"type": "output_audio", "transcript": transcript or ""}],
    }


def _usage(session: RealtimeSession, text: str, said: str, seconds: float) -> dict[str, Any]:
    instructions = str(session.config.get("instructions") or "")
    text_in = replies.count_tokens(instructions) + replies.count_tokens(text)
    audio_out = round(seconds * AUDIO_TOKENS_PER_SECOND)
    text_out = replies.count_tokens(said)
    return {
        "total_tokens": text_in + audio_out + text_out,
        "input_tokens": text_in,
        "output_tokens": audio_out + text_out,
        "input_token_details": {
            "text_tokens": text_in,
            "audio_tokens": 0,
            "image_tokens": 0,
            "cached_tokens": 0,
        },
        "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
    }
