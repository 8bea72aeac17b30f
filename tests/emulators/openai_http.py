"""The wire side of the OpenAI emulator: recording requests and shaping replies and errors."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from tests.emulators import openai_replies as replies
from tests.emulators._http import Fault
from tests.emulators.audio_tools import audio_duration

AUDIO_EXTENSIONS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
MAX_AUDIO_BYTES = 25 * 1024 * 1024


@dataclass
class Request:
    """One request as the emulator received it."""

    method: str
    path: str
    json: Any
    form: dict[str, str]
    files: dict[str, bytes]
    filenames: dict[str, str]
    headers: dict[str, str]
    time: float
    status: int = 0
    usage: dict[str, Any] | None = None  # what a chat completion reported
    form_lists: dict[str, list[str]] = field(default_factory=dict)  # every value of a field


class OpenAIError(Exception):
    """An error reply in OpenAI's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        """Describe the error the way the OpenAI API words it."""
        super().__init__(message)
        self.status = status
        self.body = replies.error_body(message, kind, code, param)


async def read_request(request: web.Request) -> Request:
    """Read and keep everything about a request: JSON, form fields and uploaded files."""
    body: Any = None
    form: dict[str, str] = {}
    form_lists: dict[str, list[str]] = {}
    files: dict[str, bytes] = {}
    names: dict[str, str] = {}
    if request.content_type == "multipart/form-data":
        async for part in await request.multipart():
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                files[part.name], names[part.name] = bytes(await part.read()), part.filename
            else:
                form[part.name] = await part.text()
                form_lists.setdefault(part.name, []).append(form[part.name])
    elif request.can_read_body:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
    return Request(
        request.method,
        request.path,
        body,
        form,
        files,
        names,
        dict(request.headers),
        time.time(),
        form_lists=form_lists,
    )


def check_audio(filename: str, audio: bytes) -> None:
    """Refuse uploads the real API refuses: too big, unknown extension, too short."""
    if len(audio) > MAX_AUDIO_BYTES:
        raise OpenAIError(
            413,
            f"Maximum content size limit ({MAX_AUDIO_BYTES}) exceeded ({len(audio)} bytes read)",
        )
    if filename.rpartition(".")[2].lower() not in AUDIO_EXTENSIONS:
        raise OpenAIError(400, f"Invalid file format. Supported formats: {list(AUDIO_EXTENSIONS)}")
    if not audio or (audio_duration(audio) and audio_duration(audio) < 0.1):
        raise OpenAIError(
            400,
            "Audio file is too short. Minimum audio length is 0.1 seconds.",
            code="audio_too_short",
            param="file",
        )


def transcript_response(
    fields: dict[str, str], text: str, language: str, duration: float
) -> web.Response:
    """The transcript in the requested response_format (json, text or verbose_json)."""
    fmt, model = fields.get("response_format") or "json", fields.get("model", "")
    if model.startswith("gpt-4o") and fmt not in ("json", "text"):
        raise OpenAIError(
            400,
            f"response_format '{fmt}' is not compatible with model '{model}'. "
            "Use 'json' or 'text' instead.",
            param="response_format",
        )
    if fmt == "text":
        return web.Response(text=text + "\n", content_type="text/plain")
    if fmt == "verbose_json":
        return web.json_response(replies.verbose_transcript(text, language, duration))
    if fmt == "json":
        return web.json_response({"text": text})
    raise OpenAIError(
        400, f"Invalid value for 'response_format': {fmt!r}.", param="response_format"
    )


def fault_response(fault: Fault) -> web.Response:
    """The reply for an injected fault, with Retry-After when asked for."""
    message, kind, code = replies.FAULT_ERRORS.get(fault.status, replies.FAULT_ERRORS[500])
    body = fault.body if fault.body is not None else replies.error_body(message, kind, code)
    response = error_response(fault.status, body)
    if fault.retry_after is not None:
        response.headers["Retry-After"] = str(fault.retry_after)
    return response


def error_response(status: int, body: Any) -> web.Response:
    """A JSON error reply."""
    return web.json_response(body, status=status)
