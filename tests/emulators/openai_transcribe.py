"""What gpt-transcribe answers: JSON with `languages` and `usage`, or a stream of text events.

The shapes follow the openai SDK's types: openai/types/audio/transcription.py (json),
transcription_text_delta_event.py and transcription_text_done_event.py (stream=true).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tests.emulators import openai_replies as replies
from tests.emulators.openai_http import OpenAIError

# Models answering as gpt-transcribe does: json or text only, `languages` instead of `language`.
GPT_TRANSCRIBE = ("gpt-transcribe",)
# Models that stream their transcript; whisper-1 ignores stream=true.
STREAMING = ("gpt-transcribe", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
CODES = {name: code for code, name in replies.LANGUAGE_NAMES.items()}


def is_gpt_transcribe(model: str) -> bool:
    """Whether `model` answers as gpt-transcribe."""
    return model.startswith(GPT_TRANSCRIBE)


def hinted_languages(form_lists: dict[str, list[str]]) -> list[str]:
    """The `languages` hint as the SDK sends it in a multipart form (`languages[]`, repeated)."""
    return form_lists.get("languages[]") or form_lists.get("languages") or []


def check_request(model: str, fields: dict[str, str], hinted: list[str]) -> None:
    """Refuse what gpt-transcribe refuses: other formats, and `language` with or for `languages`."""
    fmt = fields.get("response_format") or "json"
    if fmt not in ("json", "text"):
        raise OpenAIError(
            400,
            f"response_format '{fmt}' is not compatible with model '{model}'. "
            "Use 'json' or 'text' instead.",
            param="response_format",
        )
    if fields.get("language"):
        raise OpenAIError(
            400,
            f"'language' is not supported with model '{model}'; use 'languages' instead.",
            param="language",
        )
    for code in hinted:
        if code not in replies.LANGUAGE_NAMES:
            raise OpenAIError(
                400,
                f"Invalid language '{code}'. Languages must be in ISO-639-1 format.",
                param="languages",
            )


def language_codes(name: str | None) -> list[dict[str, str]]:
    """`languages` for a language named as whisper names it ("spanish"); [] when unknown."""
    code = CODES.get(name or "")
    return [{"code": code}] if code else []


def billed(duration: float, seconds: float | None) -> float:
    """The seconds a transcription bills: those set by the test, else the audio rounded up."""
    return seconds if seconds is not None else float(math.ceil(duration))


def json_body(text: str, name: str | None, seconds: float) -> dict[str, Any]:
    """gpt-transcribe's json: the text, the languages it heard, the seconds it billed."""
    return {
        "text": text,
        "languages": language_codes(name),
        "usage": {"type": "duration", "seconds": seconds},
    }


def stream_events(text: str, name: str | None, model: str) -> list[dict[str, Any]]:
    """The streamed transcript: a delta per word, then the whole text with its languages."""
    words = text.split(" ")
    deltas = [
        {"type": "transcript.text.delta", "delta": word if n == 0 else f" {word}"}
        for n, word in enumerate(words)
        if word
    ]
    done: dict[str, Any] = {"type": "transcript.text.done", "text": text}
    if is_gpt_transcribe(model):
        done["languages"] = language_codes(name)
    tokens = replies.count_tokens(text)
    done["usage"] = {
        "type": "tokens",
        "input_tokens": 50,
        "output_tokens": tokens,
        "total_tokens": 50 + tokens,
    }
    return [*deltas, done]


async def send_stream(
    request: web.Request,
    events: list[dict[str, Any]],
    *,
    gap: float,
    after_first: Callable[[], Awaitable[None]],
) -> web.StreamResponse:
    """Send the events as server-sent events, `gap` seconds apart; `after_first` may hold."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
    await response.prepare(request)
    for number, event in enumerate(events):
        if number == 1:
            await after_first()
        if number > 0 and gap:
            await asyncio.sleep(gap)
        await response.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
    await response.write_eof()
    return response
