"""The real Whisper base model (from the PyPI weight packages) hears the sample voice notes.

WER limits are the measured values plus a margin for other CPUs' int8 kernels (measured with
faster-whisper 1.2.1, base, int8, beam 1: en_1 0.09, en_2 0.10, en_piper 0.00).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.asr.base import LanguageGuess, Transcript
from bot.asr.faster_whisper import FasterWhisperTranscriber
from bot.asr.models import BASE_DIR_NAME
from bot.audio_in import decode_to_wav
from bot.core.language import LanguageCode
from bot.hearing import Listener
from bot.metrics import Metrics
from bot.stores.caches import CacheCounters, TranscriptCache
from bot.stores.prefs import Preferences

pytestmark = pytest.mark.model

FIXTURES = Path(__file__).parents[1] / "fixtures"
MANIFEST = {m["file"]: m for m in json.loads((FIXTURES / "manifest.json").read_text())}
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
HAN = re.compile(r"[\u4e00-\u9fff]")


def words(text: str) -> list[str]:
    """Lower-case words without punctuation."""
    return re.sub(r"[^\w\s']", " ", text.lower()).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level Levenshtein distance divided by the reference length."""
    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        current = [i]
        for j, hyp_word in enumerate(hyp, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
            )
        previous = current
    return previous[-1] / max(len(ref), 1)


@pytest.fixture(scope="module")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FasterWhisperTranscriber]:
    """faster-whisper base, joined from the PyPI packages into a fresh cache, loaded once."""
    cache = tmp_path_factory.mktemp("models")
    transcriber = FasterWhisperTranscriber(model="base", cache_dir=cache)
    yield transcriber
    assert (cache / BASE_DIR_NAME / "model.bin").is_file()


def wav_of(name: str) -> bytes:
    """A fixture voice note as 16 kHz WAV."""
    return decode_to_wav((FIXTURES / name).read_bytes()).wav


@pytest.mark.parametrize(
    ("name", "max_wer"),
    [("en_1.ogg", 0.2), ("en_2.ogg", 0.2), ("en_piper.ogg", 0.05)],
)
async def test_english_voice_notes_are_transcribed_accurately(
    base_model: FasterWhisperTranscriber, name: str, max_wer: float
) -> None:
    transcript = await base_model.transcribe(wav_of(name))
    assert transcript.language == "en"
    assert transcript.language_probability > 0.7
    assert word_error_rate(MANIFEST[name]["text"], transcript.text) <= max_wer
    assert transcript.duration == pytest.approx(MANIFEST[name]["duration"], abs=0.1)


@pytest.mark.parametrize("name", ["silence_5s.ogg", "white_noise_5s.ogg"])
async def test_silence_and_noise_give_no_text(
    base_model: FasterWhisperTranscriber, name: str
) -> None:
    transcript = await base_model.transcribe(wav_of(name))
    assert len(words(transcript.text)) <= 1


async def test_russian_with_the_language_forced_comes_back_in_cyrillic(
    base_model: FasterWhisperTranscriber,
) -> None:
    transcript = await base_model.transcribe(wav_of("ru_1.ogg"), language="ru")
    assert (transcript.language, transcript.language_probability) == ("ru", 1.0)
    assert len(CYRILLIC.findall(transcript.text)) > 20


class CountingTranscriber(FasterWhisperTranscriber):
    """The real model; counts how often a note is decoded, its identification pinned if asked."""

    decodes = 0
    pinned_guess: LanguageGuess | None = None
    unheard_in: str | None = None  # a language in which Whisper's no-speech test drops the note
    calls: list[dict[str, Any]]

    async def transcribe(self, wav: bytes, **options: Any) -> Transcript:
        self.decodes += 1
        self.calls = [*getattr(self, "calls", []), options]
        if options.get("language") == self.unheard_in and not options.get("retry_unheard", True):
            return Transcript("", LanguageCode.parse(self.unheard_in), 1.0, 6.0)
        return await super().transcribe(wav, **options)

    async def identify(self, audio: bytes, *, container: str = "wav") -> LanguageGuess | None:
        return self.pinned_guess or await super().identify(audio, container=container)


@pytest.fixture
async def listener(
    base_model: FasterWhisperTranscriber, redis_url: str, redis_keyspace: Any
) -> AsyncIterator[tuple[Listener, CountingTranscriber]]:
    """A Listener on the real model (loaded once for the module) and a real Redis."""
    transcriber = CountingTranscriber(model="base", cache_dir=base_model._cache_dir)
    transcriber._model = base_model._loaded()  # the module's model, not a second load
    client = aioredis.Redis.from_url(redis_url)
    prefix = redis_keyspace.prefix
    metrics = Metrics()
    cache = TranscriptCache(client, CacheCounters(client, prefix=prefix), ttl=60, prefix=prefix)
    yield (
        Listener(
            transcriber=transcriber,
            cache=cache,
            metrics=metrics,
            confidence=0.7,
            retry_budget_seconds=5,
            max_attempts=1,
        ),
        transcriber,
    )
    await client.aclose()


@pytest.mark.parametrize(
    ("name", "language", "script"),
    [("ru_1.ogg", "ru", CYRILLIC), ("zh_2.ogg", "zh", HAN)],
)
async def test_a_note_from_a_user_of_that_language_is_identified_then_decoded_once(
    listener: tuple[Listener, CountingTranscriber], name: str, language: str, script: Any
) -> None:
    hear, transcriber = listener
    data = (FIXTURES / name).read_bytes()
    heard = await hear.hear(
        file_unique_id=f"{name}-{id(data)}",
        fetch=lambda: asyncio.sleep(0, data),
        prefs=Preferences(),
        telegram_language=language,
    )
    assert heard.language == language
    assert len(script.findall(heard.text)) > 5
    assert transcriber.decodes == 1, "the language chosen first, the note decoded once"


async def test_mandarin_identified_as_thai_is_heard_again_in_the_users_chinese(
    listener: tuple[Listener, CountingTranscriber],
) -> None:
    """A confident guess that is not the user's language is never forced into words.

    Whisper base identifies the robotic zh_1 as Thai at p=0.71 (AVX2 int8 kernels) to 0.78
    (generic ones), around LANGUAGE_CONFIDENCE, and whether its no-speech test then drops the
    Thai pass depends on the CPU and its threads: the guess and that drop are pinned here, so the
    rule is checked whatever the machine. The Thai pass is asked not to force words; the note is
    then heard, by the real model, in Chinese.
    """
    hear, transcriber = listener
    transcriber.pinned_guess = LanguageGuess("th", 0.75)
    transcriber.unheard_in = "th"
    data = (FIXTURES / "zh_1.ogg").read_bytes()
    heard = await hear.hear(
        file_unique_id=f"zh_1-as-th-{id(data)}",
        fetch=lambda: asyncio.sleep(0, data),
        prefs=Preferences(),
        telegram_language="zh",
    )
    assert (heard.language, heard.language_source) == ("zh", "telegram")
    assert len(HAN.findall(heard.text)) > 5, heard.text
    assert transcriber.decodes == 2, "once in the guessed Thai, once in the user's Chinese"
    assert transcriber.calls[0]["retry_unheard"] is False, "the Thai pass forced no words"


async def test_identification_names_the_spoken_language(
    base_model: FasterWhisperTranscriber,
) -> None:
    guess = await base_model.identify(wav_of("en_2.ogg"))
    assert guess is not None and guess.language == "en" and guess.probability > 0.7
