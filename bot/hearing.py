"""From a voice note to a transcript in the right language: download, decode, recognise, cache."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.asr.base import Transcriber, Transcript
from bot.core.language import (
    choose_language,
    count_words,
    detect_text_language,
    language_to_hear,
    normalize_language,
)
from bot.core.privacy import contains_personal_data
from bot.errors import AudioTooLong
from bot.events import Heard
from bot.metrics import Metrics
from bot.retry import call_with_retries
from bot.stores.caches import TranscriptCache
from bot.stores.prefs import Preferences

log = logging.getLogger(__name__)


class Listener:
    """Turns a downloaded voice note into text, with the language logic of bot.core.language."""

    def __init__(
        self,
        *,
        transcriber: Transcriber,
        cache: TranscriptCache,
        metrics: Metrics,
        confidence: float,
        retry_budget_seconds: float,
        max_attempts: int,
        max_seconds: float = float("inf"),
    ) -> None:
        self._transcriber = transcriber
        self._max_seconds = max_seconds
        self._cache = cache
        self._metrics = metrics
        self._confidence = confidence
        self._budget = retry_budget_seconds
        self._attempts = max_attempts

    async def load_model(self) -> None:
        """Load the transcriber's model now (a no-op for remote backends)."""
        await self._transcriber.load()

    async def hear(
        self,
        *,
        file_unique_id: str,
        fetch: Callable[[], Awaitable[bytes]],
        prefs: Preferences,
        telegram_language: str | None,
        on_text: Callable[[str], None] | None = None,
    ) -> Heard:
        """Transcribe (or reuse a transcript of) a voice note; raises AudioError or ServiceError.

        AudioTooLong (an AudioError) when the decoded audio exceeds the limit: Telegram's
        declared duration is the sender's word, the decoded length is the fact. `on_text`
        hears the first pass's transcript as it grows, where the backend streams it.
        """

        async def compute() -> tuple[dict[str, str], bool]:
            heard = await self._recognise(fetch, prefs, telegram_language, on_text)
            value = {
                "text": heard.text,
                "language": heard.language,
                "source": heard.language_source,
                "seconds": str(heard.audio_seconds),
            }
            # Only impersonal transcripts are shared: a cached value must hold no personal data.
            return value, bool(heard.text) and not contains_personal_data(heard.text)

        value, computed = await self._cache.get_or_compute(file_unique_id, compute)
        return Heard(
            text=value["text"],
            language=value["language"],
            language_source=value["source"],
            audio_seconds=float(value["seconds"]),
            from_cache=not computed,
        )

    async def _recognise(
        self,
        fetch: Callable[[], Awaitable[bytes]],
        prefs: Preferences,
        telegram_language: str | None,
        on_text: Callable[[str], None] | None,
    ) -> Heard:
        with self._metrics.time_stage("download"):
            data = await fetch()
        with self._metrics.time_stage("decode"):
            audio, container, seconds = await asyncio.to_thread(self._prepare, data)
        if seconds > self._max_seconds:
            raise AudioTooLong(seconds, self._max_seconds)
        forced = prefs.pinned_language
        guess = None
        if forced is None and self._transcriber.identifies:
            with self._metrics.time_stage("language_id"):
                guess = await self._transcriber.identify(audio, container=container)
        if guess is not None:
            forced = language_to_hear(
                asr_language=guess.language,
                asr_probability=guess.probability,
                pinned=None,
                last_spoken=prefs.last_language,
                telegram_language=telegram_language,
                threshold=self._confidence,
            )
        # A confident guess that is not the user's language is decoded without the retry that
        # lifts the no-speech test: robotic Mandarin identified as Thai (p 0.71-0.78, by CPU)
        # is silence in Thai, then decoded in Chinese; the retry made up Thai words instead.
        known = normalize_language(prefs.last_language) or normalize_language(telegram_language)
        sure = guess is None or known in (None, forced)
        first = await self._transcribe(audio, container, forced, on_text, retry_unheard=sure)
        asr_language, asr_probability = first.language, first.language_probability
        if guess is not None:  # what was heard, not the language the transcript was forced to
            asr_language, asr_probability = guess.language, guess.probability
        text_language, text_probability = detect_text_language(first.text)
        choice = choose_language(
            asr_language=asr_language,
            asr_probability=asr_probability,
            text_language=text_language,
            text_probability=text_probability,
            pinned=prefs.pinned_language,
            last_spoken=prefs.last_language,
            telegram_language=telegram_language,
            threshold=self._confidence,
            text_words=count_words(first.text),
        )
        again = choice.retranscribe if guess is None else choice.language != forced
        final = first
        # Nothing heard without a forced language: try once with the chosen one, which lets the
        # local model drop its no-speech test for voiced audio (robotic Spanish came back empty).
        if again or (not first.text and forced is None):
            log.info("re-transcribing with the %s language (%s)", choice.language, choice.source)
            final = await self._transcribe(audio, container, choice.language)
        return Heard(
            text=final.text.strip(),
            language=choice.language,
            language_source=choice.source,
            # What the service says it charged, else the decoded length; one note, one charge.
            audio_seconds=final.billed_seconds or seconds,
            from_cache=False,
        )

    def _prepare(self, data: bytes) -> tuple[bytes, str, float]:
        """The audio to transcribe, its container and its real length (blocking).

        A whole OGG/Opus note goes to a backend that takes OGG as it was sent, its length
        counted from its packets (1 ms for 6 s); anything else is decoded with pydub (35-120 ms,
        an ffmpeg process) for its length and, unless the backend takes it as sent, for WAV.
        Both refuse bad audio before anything is paid for.
        """
        # numpy, PyAV and pydub (~0.1 s) are loaded by bot.app's warm-up, not at start-up.
        from bot.audio import as_sent_seconds, decode_to_wav

        if "ogg" in self._transcriber.accepts and (seconds := as_sent_seconds(data)) is not None:
            return data, "ogg", seconds
        decoded = decode_to_wav(data)
        # Other containers the backend takes (mp3, m4a) go as sent; an OGG here was cut short.
        if decoded.container in self._transcriber.accepts - {"ogg"}:
            return data, decoded.container, decoded.duration
        return decoded.wav, "wav", decoded.duration

    async def _transcribe(
        self,
        audio: bytes,
        container: str,
        language: str | None,
        on_text: Callable[[str], None] | None = None,
        *,
        retry_unheard: bool = True,
    ) -> Transcript:
        def once() -> Awaitable[Transcript]:
            return self._transcriber.transcribe_growing(
                audio,
                on_text=on_text,
                language=language,
                container=container,
                retry_unheard=retry_unheard,
            )

        with self._metrics.time_stage("transcription"):
            if self._transcriber.offline:
                return await once()
            return await call_with_retries(
                once,
                stage="transcription",
                budget_seconds=self._budget,
                max_attempts=self._attempts,
                on_retry=self._metrics.count_openai_retry,
            )


__all__ = ["Listener"]
