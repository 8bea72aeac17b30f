"""An OpenAI API emulator over HTTP on 127.0.0.1: chat (with SSE), transcriptions and speech."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.emulators import openai_replies as replies
from tests.emulators import openai_transcribe as gpt_transcribe
from tests.emulators._http import Fault, FaultQueue, LoopbackServer, wait_until
from tests.emulators.audio_tools import SPEECH_FORMATS, audio_duration, tone
from tests.emulators.openai_http import (
    OpenAIError,
    Request,
    check_audio,
    error_response,
    fault_response,
    read_request,
    transcript_response,
)
from tests.emulators.openai_models import MODELS_PREFIX, ModelLifecycles
from tests.emulators.openai_realtime import RealtimeEmulator

Responder = Callable[[dict[str, Any]], str]
# (text, language as whisper names it, or None when the model cannot tell)
Transcriber = Callable[[dict[str, str], bytes], tuple[str, str | None]]
VOICES = frozenset(
    "alloy ash ballad coral echo fable onyx nova sage shimmer verse marin cedar".split()
)
_SPEECH_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


@dataclass
class Latencies:
    """How long the emulated service takes, in seconds, as the benchmark sets it.

    `streaming` spreads the rest of an answer after its first token over that time (None: the
    emulator's `chunk_delay` between chunks). `speech` is also a Realtime response's wait for its
    first audio; `realtime_connect` a Realtime session's wait for `session.created`.
    """

    transcription: float = 0.0
    first_token: float = 0.0
    streaming: float | None = None
    speech: float = 0.0
    realtime_connect: float = 0.0


class OpenAIEmulator(LoopbackServer):
    """Speaks enough of the OpenAI REST API for the bot; give `base_url` to the SDK."""

    def __init__(self, chunk_delay: float = 0.05, latencies: Latencies | None = None) -> None:
        """Prepare an emulator whose streamed chunks are `chunk_delay` seconds apart."""
        super().__init__()
        self.chunk_delay = chunk_delay
        self.latencies = latencies or Latencies()
        self.requests: list[Request] = []
        self._faults = FaultQueue()
        self._down = False
        self._rejected_keys: set[str] = set()
        self._stream_breaks: list[int] = []
        self._ids = itertools.count(1)
        self._responder: Responder = replies.default_answer
        self._transcriber: Transcriber | None = None
        self._transcript: tuple[str, str | None] = ("hello from the emulator", "english")
        self.lifecycles = ModelLifecycles()
        self._billed_seconds: float | None = None
        self._reasoning_tokens = 0
        self._gates: dict[str, asyncio.Event] = {}
        self.held = 0  # requests waiting at a gate right now
        self.realtime = RealtimeEmulator(lambda: self.latencies)  # GET /v1/realtime (WebSocket)
        self._routes: dict[
            tuple[str, str], Callable[[web.Request, Request], Awaitable[web.StreamResponse]]
        ] = {
            ("POST", "/v1/chat/completions"): self._chat,
            ("POST", "/v1/audio/transcriptions"): self._transcriptions,
            ("POST", "/v1/audio/speech"): self._speech,
            ("GET", "/v1/models"): self._models,
            ("GET", "/v1/realtime"): self._realtime,
        }

    @property
    def base_url(self) -> str:
        """The SDK's base_url: http://127.0.0.1:PORT/v1."""
        return f"{self.root}/v1"

    def build_app(self) -> web.Application:
        """One catch-all route, so unknown paths get OpenAI's 404 too."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._serve)
        return app

    # ---- test-side controls ----------------------------------------------------------------

    def reply_with(self, answer: str | Responder) -> None:
        """Answer chat completions with fixed text, or with `answer(request_json)`."""
        self._responder = answer if callable(answer) else (lambda _body: answer)

    def reset_reply(self) -> None:
        """Go back to the default language-aware answer."""
        self._responder = replies.default_answer

    def transcribe_with(self, text: str | Transcriber, language: str | None = "english") -> None:
        """Transcribe to fixed (text, language name), or to `text(fields, audio) -> (text, name)`.

        With fixed text, a `language` field in the request wins, as with real Whisper (one
        `languages` hint with gpt-transcribe). A language of None is one the model cannot
        tell: gpt-transcribe then answers `languages: []`.
        """
        if callable(text):
            self._transcriber = text
        else:
            self._transcriber, self._transcript = None, (text, language)

    def fail_next(
        self,
        path_suffix: str,
        *,
        status: int = 429,
        times: int = 1,
        retry_after: int | None = None,
        body: Any = None,
    ) -> None:
        """Make the next `times` requests whose path ends with `path_suffix` fail with `status`."""
        self._faults.add(Fault(path_suffix, times, status, 0.0, retry_after, None, body))

    def delay_next(self, path_suffix: str, seconds: float, *, times: int = 1) -> None:
        """Hold the next `times` matching requests for `seconds` before answering."""
        self._faults.add(Fault(path_suffix, times, delay=seconds))

    def break_stream_next(self, after_chunks: int = 2) -> None:
        """Cut the connection of the next streamed completion after `after_chunks` chunks."""
        self._stream_breaks.append(after_chunks)

    def hold(self, path_suffix: str) -> None:
        """Hold matching requests at a gate until release(): streams after their first chunk.

        Tests use it to make many turns overlap for certain, then wait for `held` to reach
        their count before releasing.
        """
        self._gates[path_suffix] = asyncio.Event()

    def release(self, path_suffix: str) -> None:
        """Let the requests held for `path_suffix` go on, and stop holding new ones."""
        gate = self._gates.pop(path_suffix, None)
        if gate is not None:
            gate.set()

    async def _pass_gate(self, path: str) -> None:
        gate = next((g for suffix, g in self._gates.items() if path.endswith(suffix)), None)
        if gate is None:
            return
        self.held += 1
        try:
            await gate.wait()
        finally:
            self.held -= 1

    def reject_key(self, key: str) -> None:
        """Answer every request made with `key` 401 invalid_api_key, as for a revoked key."""
        self._rejected_keys.add(key)

    def set_down(self, down: bool = True) -> None:
        """While down, every request answers 503."""
        self._down = down

    # ---- model lifecycles, gpt-transcribe's usage, reasoning tokens --------------------------

    def retire_model(self, *models: str) -> None:
        """Answer every request for these models 404 model_not_found, as after a shutdown."""
        self.lifecycles.retired.update(models)

    def announce_shutdown(self, model: str, date: str) -> None:
        """Give `model` a `shutdown_date` (YYYY-MM-DD) on the models endpoint."""
        self.lifecycles.shutdowns[model] = date

    def drop_models_endpoint(self) -> None:
        """Answer /v1/models like an unknown path, as many OpenAI-compatible servers do."""
        self.lifecycles.endpoint = False

    def bill_seconds(self, seconds: float | None) -> None:
        """The `usage` seconds gpt-transcribe reports (None: the audio's, rounded up)."""
        self._billed_seconds = seconds

    def reason_with(self, tokens: int) -> None:
        """Report `tokens` reasoning tokens in each chat completion's usage, as output."""
        self._reasoning_tokens = tokens

    def model_requests(self) -> list[Request]:
        """Requests to /v1/models/{id}, in order."""
        return [r for r in self.requests if r.path.startswith(MODELS_PREFIX)]

    def chat_requests(self) -> list[Request]:
        """Requests to /v1/chat/completions, in order."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def transcription_requests(self) -> list[Request]:
        """Requests to /v1/audio/transcriptions, in order."""
        return [r for r in self.requests if r.path.endswith("/audio/transcriptions")]

    def speech_requests(self) -> list[Request]:
        """Requests to /v1/audio/speech, in order."""
        return [r for r in self.requests if r.path.endswith("/audio/speech")]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10) -> None:  # noqa: ASYNC109
        """Wait until `predicate()` is true; on timeout raise AssertionError listing requests."""
        await wait_until(predicate, timeout, self._describe)

    def _describe(self) -> str:
        lines = [f"  {r.method} {r.path} -> {r.status}" for r in self.requests[-15:]]
        return "last OpenAI requests:\n" + ("\n".join(lines) or "  (none)")

    # ---- HTTP ------------------------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        record = await read_request(request)
        self.requests.append(record)
        try:
            response = await self._dispatch(request, record)
        except OpenAIError as error:
            response = error_response(error.status, error.body)
        record.status = response.status
        return response

    async def _dispatch(self, request: web.Request, record: Request) -> web.StreamResponse:
        if self._down:
            raise OpenAIError(503, *replies.FAULT_ERRORS[503][:2])
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise OpenAIError(
                401,
                "You didn't provide an API key. You need to provide your API "
                "key in an Authorization header using Bearer auth.",
            )
        key = auth[7:].strip()
        if key in self._rejected_keys:
            shown = f"{key[:3]}{'*' * 12}{key[-4:]}"  # OpenAI quotes a key's ends, never all of it
            raise OpenAIError(
                401,
                f"Incorrect API key provided: {shown}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        if delay := self._faults.take(record.path, delays=True):
            await asyncio.sleep(delay.delay)
        if fault := self._faults.take(record.path, delays=False):
            return fault_response(fault)
        self.lifecycles.refuse_without_endpoint(request.method, record.path)
        self.lifecycles.refuse_retired(record)
        if request.method == "GET" and record.path.startswith(MODELS_PREFIX):
            return await self.lifecycles.retrieve(request, record)
        route = self._routes.get((request.method, record.path.rstrip("/")))
        if route is None:
            raise OpenAIError(404, f"Invalid URL ({request.method} {record.path})")
        return await route(request, record)

    async def _realtime(self, request: web.Request, record: Request) -> web.StreamResponse:
        return await self.realtime.serve(request)

    async def _models(self, request: web.Request, record: Request) -> web.StreamResponse:
        return web.json_response({"object": "list", "data": self.lifecycles.listing()})

    async def _chat(self, request: web.Request, record: Request) -> web.StreamResponse:
        body = record.json if isinstance(record.json, dict) else {}
        if not body.get("model"):
            raise OpenAIError(400, "you must provide a model parameter")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise OpenAIError(400, "Missing required parameter: 'messages'.", param="messages")
        answer, finish = self._responder(body), "stop"
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if limit and replies.count_tokens(answer) > int(limit):
            answer, finish = answer[: int(limit) * 4], "length"
        used = self._with_reasoning(replies.usage(messages, answer))
        record.usage = used
        completion_id = f"chatcmpl-emu{next(self._ids):06d}"
        if not body.get("stream"):
            await asyncio.sleep(self.latencies.first_token + (self.latencies.streaming or 0.0))
            return web.json_response(
                replies.completion(completion_id, body["model"], answer, finish, used)
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = self._stream_events(completion_id, body["model"], answer, finish)
        if include_usage:
            events = [{**e, "usage": None} for e in events]
            events.append({**events[-1], "choices": [], "usage": used})
        return await self._send_events(request, events, record.path)

    def _stream_events(
        self, completion_id: str, model: str, answer: str, finish: str
    ) -> list[dict[str, Any]]:
        first = replies.chunk(
            completion_id, model, {"role": "assistant", "content": "", "refusal": None}, None
        )
        deltas = [
            replies.chunk(completion_id, model, {"content": p}, None)
            for p in replies.pieces(answer)
        ]
        return [first, *deltas, replies.chunk(completion_id, model, {}, finish)]

    async def _send_events(
        self, request: web.Request, events: list[dict[str, Any]], path: str
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        cut_after = self._stream_breaks.pop(0) if self._stream_breaks else None
        streaming = self.latencies.streaming
        gap = self.chunk_delay if streaming is None else streaming / max(1, len(events) - 2)
        for number, event in enumerate(events):
            if number == cut_after and request.transport is not None:
                request.transport.close()  # the client sees the body end without [DONE]
                return response
            if number == 1:
                await self._pass_gate(path)
                if self.latencies.first_token:
                    await asyncio.sleep(self.latencies.first_token)
            if number > 1:
                await asyncio.sleep(gap)
            await response.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _transcriptions(self, request: web.Request, record: Request) -> web.StreamResponse:
        audio, fields = record.files.get("file"), record.form
        if audio is None:
            raise OpenAIError(400, "Missing required parameter: 'file'.", param="file")
        if not fields.get("model"):
            raise OpenAIError(400, "Missing required parameter: 'model'.", param="model")
        check_audio(record.filenames.get("file", ""), audio)
        await self._pass_gate(record.path)
        await asyncio.sleep(self.latencies.transcription)
        duration, forced = audio_duration(audio), fields.get("language")
        if forced and forced not in replies.LANGUAGE_NAMES:
            raise OpenAIError(
                400,
                f"Invalid language '{forced}'. Language parameter must be "
                "specified in ISO-639-1 format.",
                param="language",
            )
        model = fields["model"]
        hinted = gpt_transcribe.hinted_languages(record.form_lists)
        if gpt_transcribe.is_gpt_transcribe(model):
            gpt_transcribe.check_request(model, dict(fields), hinted)
            forced = hinted[0] if len(hinted) == 1 else None
        if self._transcriber is not None:
            text, language = self._transcriber(dict(fields), audio)
        else:
            text, language = self._transcript
            language = replies.LANGUAGE_NAMES[forced] if forced else language
        if fields.get("stream") == "true" and model.startswith(gpt_transcribe.STREAMING):
            return await gpt_transcribe.send_stream(
                request,
                gpt_transcribe.stream_events(text, language, model),
                # The transcription latency came before; a test that needs the transcript to
                # grow visibly holds it after its first word (hold(".../transcriptions#stream")).
                gap=0.0,
                after_first=lambda: self._pass_gate(record.path + "#stream"),
            )
        if gpt_transcribe.is_gpt_transcribe(model) and fields.get("response_format") != "text":
            seconds = gpt_transcribe.billed(duration, self._billed_seconds)
            return web.json_response(gpt_transcribe.json_body(text, language, seconds))
        return transcript_response(fields, text, language or "", duration)

    def _with_reasoning(self, used: dict[str, Any]) -> dict[str, Any]:
        """Usage with the reasoning tokens the test asked for, counted as output as OpenAI does."""
        if not self._reasoning_tokens:
            return used
        completion = used["completion_tokens"] + self._reasoning_tokens
        return {
            **used,
            "completion_tokens": completion,
            "total_tokens": used["prompt_tokens"] + completion,
            "completion_tokens_details": {"reasoning_tokens": self._reasoning_tokens},
        }

    async def _speech(self, request: web.Request, record: Request) -> web.StreamResponse:
        body = record.json if isinstance(record.json, dict) else {}
        text, fmt = str(body.get("input") or ""), str(body.get("response_format") or "mp3")
        if not body.get("model"):
            raise OpenAIError(400, "you must provide a model parameter")
        if not text or len(text) > 4096:
            raise OpenAIError(400, "Input should have between 1 and 4096 characters", param="input")
        if body.get("voice") not in VOICES:
            raise OpenAIError(
                400, f"Invalid value for 'voice': {body.get('voice')!r}.", param="voice"
            )
        speed = body.get("speed", 1.0)
        if not isinstance(speed, int | float) or not 0.25 <= speed <= 4.0:
            raise OpenAIError(400, f"Invalid value for 'speed': {speed!r}.", param="speed")
        if fmt not in SPEECH_FORMATS:
            raise OpenAIError(
                400, f"Invalid value for 'response_format': {fmt!r}.", param="response_format"
            )
        await asyncio.sleep(self.latencies.speech)
        seconds = round(min(max(0.05 * len(text), 0.2), 10.0), 2)
        data = await asyncio.to_thread(tone, seconds, fmt)
        return web.Response(body=data, content_type=_SPEECH_TYPES[fmt])
