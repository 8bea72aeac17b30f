"""From a voice note to a transcript in the right language: download, decode, recognise, cache."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.asr.base import Transcriber, Transcript
from bot.core.language import (
    LanguageCode,
    choose_language,
    count_words,
    detect_text_language,
    language_to_hear,
    normalize_language,
)
from bot.core.pauses import join_transcripts
from bot.core.privacy import contains_personal_data
from bot.errors import AudioTooLong
from bot.events import Heard, Transcribing
from bot.metrics import Metrics
from bot.retry import call_with_retries
from bot.stores.caches import TranscriptCache
from bot.stores.prefs import Preferences

if TYPE_CHECKING:
    from bot.pieces import Piece

log = logging.getLogger(__name__)


@dataclass
class Tally:
    """Seconds of a recording transcribed so far: what a stopped recording is charged."""

    seconds: float = 0.0


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
        max_recording_seconds: float = float("inf"),
    ) -> None:
        self._transcriber = transcriber
        self._max_seconds = max_seconds
        self._max_recording_seconds = max_recording_seconds
        self._cache = cache
        self._metrics = metrics
        self._confidence = confidence
        self._budget = retry_budget_seconds
        self._attempts = max_attempts
        # At most one decode per core at once: more would only slow each one down, and every
        # decode holds up to MAX_VOICE_SECONDS of samples (9.6 MB for 300 s).
        self._decoding = asyncio.Semaphore(os.cpu_count() or 1)

    async def load_model(self) -> None:
        """Load the transcriber's model now (a no-op for remote backends)."""
        await self._transcriber.load()

    async def hear(
        self,
        *,
        file_unique_id: str,
        fetch: Callable[[], Awaitable[bytes]],
        prefs: Preferences,
        telegram_language: LanguageCode | None,
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
        telegram_language: LanguageCode | None,
        on_text: Callable[[str], None] | None,
    ) -> Heard:
        with self._metrics.time_stage("download"):
            data = await fetch()
        async with self._decoding:  # queued here, not in threads other work needs
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

        Nothing is decoded before its length is known and allowed. A whole OGG/Opus note goes
        to a backend that takes OGG as it was sent, its length counted from its packets (1 ms
        for 6 s); anything else has its packets counted first (a note over the limit is refused
        there, undecoded), then is decoded frame by frame into at most MAX_VOICE_SECONDS of
        16 kHz samples, which catches what the packets understated. Both refuse bad audio
        before anything is paid for.
        """
        # numpy and PyAV (~0.1 s) are loaded by bot.app's warm-up, not at start-up.
        from bot.audio_in import as_sent_seconds, decode_to_wav, packet_seconds, plain_wav_seconds

        limit = self._max_seconds
        # A live utterance comes as 16 kHz WAV already: nothing to decode; its length is its
        # size, checked against the limit by the caller like any other.
        if "wav" in self._transcriber.accepts and (seconds := plain_wav_seconds(data)):
            return data, "wav", seconds
        if "ogg" in self._transcriber.accepts:
            seconds = as_sent_seconds(data, limit=limit)
            if seconds is not None:
                return data, "ogg", seconds
        packet_seconds(data, limit=limit)
        decoded = decode_to_wav(data, max_seconds=limit)
        # Other containers the backend takes (mp3, m4a) go as sent; an OGG here was cut short.
        if decoded.container in self._transcriber.accepts - {"ogg"}:
            return data, decoded.container, decoded.duration
        return decoded.wav, "wav", decoded.duration

    async def hear_recording(
        self,
        *,
        fetch: Callable[[], Awaitable[bytes]],
        prefs: Preferences,
        telegram_language: LanguageCode | None,
        declared_seconds: float,
        tally: Tally,
        allowed_seconds: float = float("inf"),
    ) -> AsyncIterator[Transcribing | Heard]:
        """Transcribe a long recording piece by piece; Transcribing as pieces finish, then Heard.

        The recording is decoded a piece at a time (bot.pieces), and up to the transcriber's
        `parallel` pieces are transcribed side by side; each finished piece adds its seconds to
        `tally` at once, so a recording stopped half-way is charged for what was heard. The
        pieces' transcripts are joined in order (bot.core.pauses.join_transcripts).

        `allowed_seconds` (the voice seconds the user has left) bounds the decoding beside
        MAX_RECORDING_MINUTES: a recording longer than it was declared stops there.

        Raises:
            AudioTooLong, AudioError: as `hear`; ServiceError: a piece could not be transcribed.
        """
        with self._metrics.time_stage("download"):
            data = await fetch()
        pieces = await self._piece_source(data, min(allowed_seconds, self._max_recording_seconds))
        slots = asyncio.Semaphore(max(1, self._transcriber.parallel))
        finished: asyncio.Queue[asyncio.Task[Any]] = asyncio.Queue()
        running: set[asyncio.Task[Any]] = set()
        total = [declared_seconds]

        def track(task: asyncio.Task[Any]) -> None:
            running.add(task)
            task.add_done_callback(running.discard)
            task.add_done_callback(finished.put_nowait)

        async def produce() -> int:
            """Decode pieces (one ahead of the free slots) and start each one's transcription."""
            count = 0
            while (piece := await self._next_piece(pieces)) is not None:
                total[0] = max(total[0], piece.start + piece.seconds)
                await slots.acquire()
                track(asyncio.create_task(self._piece(piece, prefs.pinned_language, tally, slots)))
                count += 1
            return count

        heard: dict[int, tuple[Piece, Transcript]] = {}
        yield Transcribing(done=0.0, total=total[0])  # the status message shows at once
        producer = asyncio.create_task(produce())
        track(producer)
        try:
            expected = None
            while expected is None or len(heard) < expected:
                task = await finished.get()
                if task is producer:
                    expected = producer.result()  # raises what decoding raised
                    continue
                piece, transcript = task.result()  # raises what transcription raised
                heard[piece.index] = (piece, transcript)
                yield Transcribing(done=tally.seconds, total=total[0])
        finally:
            for task in running:
                task.cancel()
            with contextlib.suppress(ValueError):  # a decode thread still in it: left to GC
                pieces.close()
        yield self._joined([heard[i] for i in sorted(heard)], prefs, telegram_language)

    async def _piece_source(self, data: bytes, limit: float) -> Generator[Piece, None, None]:
        """The pieces to come, after the packets said the length is allowed (nothing decoded)."""
        from bot.audio_in import packet_seconds
        from bot.pieces import decode_pieces

        async with self._decoding:
            await asyncio.to_thread(packet_seconds, data, limit=limit)
        return decode_pieces(data, piece_seconds=self._transcriber.piece_seconds, max_seconds=limit)

    async def _next_piece(self, pieces: Generator[Piece, None, None]) -> Piece | None:
        """Decode the next piece in a thread, one decode per core as for voice notes."""
        async with self._decoding:
            with self._metrics.time_stage("decode"):
                return await asyncio.to_thread(next, pieces, None)

    async def _piece(
        self, piece: Piece, language: str | None, tally: Tally, slots: asyncio.Semaphore
    ) -> tuple[Piece, Transcript]:
        """Transcribe one piece in its slot; its seconds count as soon as it is heard."""
        try:
            transcript = await self._transcribe(piece.wav, "wav", language)
        finally:
            slots.release()
        tally.seconds += piece.seconds
        return piece, transcript

    def _joined(
        self,
        pieces: list[tuple[Piece, Transcript]],
        prefs: Preferences,
        telegram_language: LanguageCode | None,
    ) -> Heard:
        """One Heard for the whole recording: the joined text in the language most heard."""
        text = join_transcripts([t.text for _, t in pieces], [p.overlaps for p, _ in pieces])
        spoken: dict[LanguageCode, float] = {}
        for piece, transcript in pieces:
            if transcript.language and transcript.text:
                spoken[transcript.language] = spoken.get(transcript.language, 0) + piece.seconds
        asr_language = max(spoken, key=spoken.__getitem__) if spoken else None
        text_language, text_probability = detect_text_language(text)
        choice = choose_language(
            asr_language=asr_language,
            asr_probability=1.0 if asr_language else 0.0,
            text_language=text_language,
            text_probability=text_probability,
            pinned=prefs.pinned_language,
            last_spoken=prefs.last_language,
            telegram_language=telegram_language,
            threshold=self._confidence,
        )
        return Heard(
            text=text,
            language=choice.language,
            language_source=choice.source,
            audio_seconds=sum(piece.seconds for piece, _ in pieces),
        )

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


__all__ = ["Listener", "Tally"]
