"""Google Translate's text-to-speech through the gTTS package (needs the internet)."""

from __future__ import annotations

import asyncio
import io

from bot.backends import requires_package
from bot.errors import ServiceError, is_retryable_status
from bot.tts.base import DEFAULT_STYLE, Speech, SpeechStyle, Synthesizer, base_language

with requires_package("gTTS"):
    from gtts import gTTS, gTTSError
    from gtts.lang import tts_langs

# tts_langs() is a table shipped inside the package: no network is needed to read it.
_SUPPORTED = frozenset(tts_langs())
# gTTS speaks IETF tags; these ISO 639-1 codes are spelled differently there.
_RENAMED: dict[str, str] = {
    "zh": "zh-CN",
    "he": "iw",
    "jv": "jw",
    "nb": "no",
    "fil": "tl",
}


def gtts_language(language: str) -> str | None:
    """The gTTS language tag for `language`, or None when gTTS has no voice for it."""
    code = base_language(language)
    tag = _RENAMED.get(code, code)
    return tag if tag in _SUPPORTED else None


class GTTSSynthesizer(Synthesizer):
    """Speaks through Google Translate's voice; returns MP3."""

    name = "gtts"
    languages = frozenset(
        code for code in _SUPPORTED | set(_RENAMED) if _RENAMED.get(code, code) in _SUPPORTED
    )

    def __init__(self, *, timeout: float = 10.0, tld: str = "com") -> None:
        """Keep the request timeout (gTTS waits forever by default) and the Google domain."""
        self._timeout = timeout
        self._tld = tld

    async def synthesize(
        self, text: str, *, language: str, style: SpeechStyle = DEFAULT_STYLE
    ) -> Speech:
        """Speak `text` as MP3; raise ServiceError when Google cannot be reached or refuses.

        One voice, at its own pace: bot.speech changes the tempo for another speed.
        """
        tag = gtts_language(language)
        if tag is None or not text.strip():
            raise ServiceError("synthesis", "gtts cannot speak this language or empty text")
        mp3 = await asyncio.to_thread(self._speak, text, tag)
        return Speech(mp3, "mp3", self.name)

    def _speak(self, text: str, tag: str) -> bytes:
        buffer = io.BytesIO()
        try:
            gTTS(text, tld=self._tld, lang=tag, timeout=self._timeout).write_to_fp(buffer)
        except gTTSError as error:
            raise _service_error(error) from error
        if not buffer.getvalue():
            raise ServiceError("synthesis", "gtts returned no audio", retryable=True)
        return buffer.getvalue()


def _service_error(error: gTTSError) -> ServiceError:
    """Our ServiceError for a gTTS failure.

    A response carries an HTTP status; no response means no route to Google, which retrying
    within one answer will not fix.
    """
    response = error.rsp
    if response is None:
        return ServiceError("synthesis", "gtts could not connect", retryable=False)
    status = int(response.status_code)
    return ServiceError(
        "synthesis", "gtts request failed", status=status, retryable=is_retryable_status(status)
    )
