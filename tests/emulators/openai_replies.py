"""What the OpenAI emulator says: canned answers, token counts and response bodies."""

from __future__ import annotations

import re
import time
from typing import Any

CANNED = {
    "en": "Here is my answer.",
    "zh": "这是我的回答。",
    "ru": "Вот мой ответ.",
    "es": "Aquí está mi respuesta.",
    "de": "Hier ist meine Antwort.",
}
# whisper-1 names the language in English words, lowercase.
LANGUAGE_NAMES = {
    "en": "english",
    "zh": "chinese",
    "ru": "russian",
    "es": "spanish",
    "de": "german",
    "fr": "french",
    "it": "italian",
    "pt": "portuguese",
    "uk": "ukrainian",
    "ja": "japanese",
    "ko": "korean",
    "ar": "arabic",
    "tr": "turkish",
    "pl": "polish",
    "nl": "dutch",
    "lv": "latvian",
    "hi": "hindi",
}
_LANGUAGE_LINE = re.compile(r"language code: ([a-z]{2,3})", re.IGNORECASE)
CHAT_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini")
AUDIO_MODELS = (
    "whisper-1",
    "gpt-4o-transcribe",
    "gpt-4o-mini-transcribe",
    "tts-1",
    "gpt-4o-mini-tts",
)


def content_text(message: dict[str, Any]) -> str:
    """The text of a chat message whose content is a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def requested_language(messages: list[dict[str, Any]]) -> str:
    """The code on the last 'language code: xx' line of the system messages; 'en' if none."""
    language = "en"
    for message in messages:
        if message.get("role") in ("system", "developer"):
            for match in _LANGUAGE_LINE.finditer(content_text(message)):
                language = match.group(1).lower()
    return language


def default_answer(body: dict[str, Any]) -> str:
    """A deterministic answer in the requested language that quotes the last user message."""
    messages = body.get("messages") or []
    users = [content_text(m) for m in messages if m.get("role") == "user"]
    canned = CANNED.get(requested_language(messages), CANNED["en"])
    return f"{canned} You said: «{users[-1] if users else ''}»"


def count_tokens(text: str) -> int:
    """A rough, deterministic token count: a token per four characters, plus one."""
    return len(text) // 4 + 1


def usage(messages: list[dict[str, Any]], answer: str) -> dict[str, int]:
    """The usage block for a chat completion."""
    prompt = sum(count_tokens(content_text(m)) for m in messages)
    completion = count_tokens(answer)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion(
    completion_id: str, model: str, answer: str, finish: str, used: dict[str, int]
) -> dict[str, Any]:
    """A non-streaming chat.completion body."""
    message = {"role": "assistant", "content": answer, "refusal": None}
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": used,
        "system_fingerprint": "fp_emulator",
    }


def chunk(
    completion_id: str, model: str, delta: dict[str, Any], finish: str | None
) -> dict[str, Any]:
    """One chat.completion.chunk with a single choice."""
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_emulator",
        "choices": [choice],
    }


def pieces(text: str, size: int = 8) -> list[str]:
    """The answer cut into streaming deltas of `size` characters."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def verbose_transcript(text: str, language: str, duration: float) -> dict[str, Any]:
    """A whisper-1 verbose_json body with one segment (none for empty text)."""
    segments = (
        [
            {
                "id": 0,
                "seek": 0,
                "start": 0.0,
                "end": round(duration, 2),
                "text": f" {text}",
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": -0.25,
                "compression_ratio": 1.2,
                "no_speech_prob": 0.01,
            }
        ]
        if text
        else []
    )
    return {
        "task": "transcribe",
        "language": language,
        "duration": round(duration, 2),
        "text": text,
        "segments": segments,
    }


def error_body(
    message: str, kind: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """An error body in OpenAI's shape."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


FAULT_ERRORS = {
    400: ("Injected bad request.", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    404: (
        "The model does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    429: (
        "Rate limit reached for requests. Please try again later.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: (
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ),
    503: ("The server is overloaded or not ready yet.", "server_error", None),
}
