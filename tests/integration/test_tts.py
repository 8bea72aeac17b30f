"""Speech synthesis with the real backends: espeak-ng offline, gTTS with no route to Google."""

import asyncio
import logging
from pathlib import Path

import openai
import pytest

from bot.audio import wav_duration
from bot.config import Settings
from bot.errors import BotError, ServiceError, SpeechUnavailable
from bot.speech import IncrementalSpeaker, speak_answer
from bot.tts import FallbackSynthesizer, make_synthesizer
from bot.tts.base import DEFAULT_STYLE, Speech, SpeechStyle, Synthesizer
from bot.tts.espeak import EspeakSynthesizer
from bot.tts.gtts import GTTSSynthesizer
from bot.tts.piper import PiperSynthesizer

SENTENCES = {
    "en": "Hello, this is your assistant speaking.",
    "zh": "你好，我是你的语音助手。",
    "ru": "Здравствуйте, с вами говорит ваш помощник.",
    "es": "Hola, le habla su asistente.",
    "de": "Hallo, hier spricht Ihr Assistent.",
}
LONG_ANSWER = " ".join(
    f"Point number {i} explains one more detail of the answer in a full sentence."
    for i in range(40)
)
GTTS_TIMEOUT = 5.0


def offline_gtts() -> GTTSSynthesizer:
    """gTTS aimed at translate.google.invalid: a name that never resolves, so no request leaves."""
    return GTTSSynthesizer(timeout=GTTS_TIMEOUT, tld="invalid")


def failing_espeak() -> EspeakSynthesizer:
    """A binary that exists and always exits with status 1."""
    return EspeakSynthesizer(binary="/bin/false")


class DictCache:
    """The speech cache protocol over a dict, standing in for Redis."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str, str], Speech] = {}

    async def get(self, text: str, language: str, voice_id: str) -> Speech | None:
        return self.entries.get((text, language, voice_id))

    async def put(self, text: str, language: str, voice_id: str, speech: Speech) -> None:
        self.entries[(text, language, voice_id)] = speech


class GarbageSynthesizer(Synthesizer):
    """A backend that answers with bytes that are not audio."""

    name = "garbage"

    def can_speak(self, language: str) -> bool:
        return True

    async def synthesize(
        self, text: str, *, language: str, style: SpeechStyle = DEFAULT_STYLE
    ) -> Speech:
        return Speech(b"<html>rate limited</html>", "mp3", self.name)


def settings(**values: object) -> Settings:
    return Settings(telegram_bot_token="123:test", _env_file=None, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("language", sorted(SENTENCES))
async def test_espeak_speaks_each_language_as_wav(language: str) -> None:
    speech = await EspeakSynthesizer().synthesize(SENTENCES[language], language=language)
    assert (speech.format, speech.backend) == ("wav", "espeak")
    assert wav_duration(speech.audio) > 1.0


async def test_espeak_reads_text_that_starts_with_a_dash() -> None:
    speech = await EspeakSynthesizer().synthesize("--help -v is just text", language="en")
    assert wav_duration(speech.audio) > 1.0


def test_espeak_cannot_speak_without_its_binary() -> None:
    assert not EspeakSynthesizer(binary="/nonexistent/espeak-ng").can_speak("en")


async def test_espeak_exiting_non_zero_raises_service_error() -> None:
    with pytest.raises(ServiceError) as caught:
        await failing_espeak().synthesize("Hello.", language="en")
    assert caught.value.stage == "synthesis"


@pytest.mark.parametrize(("language", "speaks"), [("en", True), ("zh", True), ("xx", False)])
def test_espeak_speaks_only_languages_in_its_table(language: str, speaks: bool) -> None:
    assert EspeakSynthesizer().can_speak(language) is speaks


@pytest.mark.parametrize(
    ("language", "speaks"), [("en", True), ("zh", True), ("ru", True), ("he", True), ("xx", False)]
)
def test_gtts_knows_its_languages_without_the_network(language: str, speaks: bool) -> None:
    assert offline_gtts().can_speak(language) is speaks


@pytest.mark.parametrize(("language", "speaks"), [("en", True), ("en-GB", True), ("de", False)])
def test_piper_speaks_only_english_with_its_packaged_voice(language: str, speaks: bool) -> None:
    assert PiperSynthesizer().can_speak(language) is speaks


@pytest.mark.model
async def test_piper_speaks_an_answer_as_an_ogg_opus_voice_note() -> None:
    synthesizer = PiperSynthesizer()
    note = await speak_answer(
        SENTENCES["en"], language="en", synthesizer=synthesizer, max_seconds=60
    )
    await synthesizer.aclose()
    assert note.ogg.startswith(b"OggS") and b"OpusHead" in note.ogg[:200]
    assert 1.5 < note.duration < 6.0


async def test_gtts_without_network_fails_within_its_timeout_and_is_not_retryable() -> None:
    with pytest.raises(ServiceError) as caught:
        async with asyncio.timeout(GTTS_TIMEOUT):
            await offline_gtts().synthesize("Hello.", language="en")
    assert (caught.value.stage, caught.value.retryable) == ("synthesis", False)


async def test_fallback_speaks_with_espeak_when_gtts_fails_and_counts_the_failure() -> None:
    fallback = FallbackSynthesizer([offline_gtts(), EspeakSynthesizer()])
    speech = await fallback.synthesize("Hello there.", language="en")
    assert speech.backend == "espeak"
    assert fallback.failures == {"gtts": 1}


async def test_fallback_logs_why_a_backend_failed_and_which_one_is_tried_next(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fallback = FallbackSynthesizer([offline_gtts(), EspeakSynthesizer()])
    with caplog.at_level(logging.WARNING, logger="bot.tts.fallback"):
        await fallback.synthesize("Hello there.", language="en")
    [record] = caplog.records
    assert record.getMessage() == (
        "tts backend gtts failed (next: espeak): ServiceError: synthesis: gtts could not connect"
    )


async def test_a_bug_surfaces_instead_of_passing_for_a_failed_voice() -> None:
    fallback = FallbackSynthesizer([offline_gtts(), EspeakSynthesizer()])
    with pytest.raises(AttributeError):
        await fallback.synthesize(42, language="en")  # type: ignore[arg-type]
    assert fallback.failures == {}


async def test_a_program_that_cannot_start_falls_back_like_a_failed_service(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "espeak-ng"
    broken.write_bytes(b"\x00not a program")
    broken.chmod(0o755)  # executable, so the system refuses it only when it starts: OSError
    fallback = FallbackSynthesizer([EspeakSynthesizer(binary=str(broken)), offline_gtts()])
    with pytest.raises(SpeechUnavailable) as caught:
        await fallback.synthesize("Hello there.", language="en")
    assert isinstance(caught.value.__cause__, ServiceError), "gtts was tried after espeak"
    assert fallback.failures == {"espeak": 1, "gtts": 1}


async def test_fallback_asks_a_failed_backend_last_until_its_cooldown_ends() -> None:
    now = [0.0]
    fallback = FallbackSynthesizer(
        [offline_gtts(), EspeakSynthesizer()], cooldown=60.0, clock=lambda: now[0]
    )
    await fallback.synthesize("One.", language="en")
    now[0] = 30.0
    await fallback.synthesize("Two.", language="en")
    assert fallback.failures == {"gtts": 1}
    now[0] = 61.0
    await fallback.synthesize("Three.", language="en")
    assert fallback.failures == {"gtts": 2}


async def test_fallback_still_tries_a_cooling_backend_when_it_is_the_only_one() -> None:
    now = [0.0]
    fallback = FallbackSynthesizer([failing_espeak()], cooldown=60.0, clock=lambda: now[0])
    for _ in range(2):
        with pytest.raises(SpeechUnavailable):
            await fallback.synthesize("Hello.", language="en")
    assert fallback.failures == {"espeak": 2}


async def test_fallback_raises_speech_unavailable_when_every_backend_fails() -> None:
    fallback = FallbackSynthesizer([offline_gtts(), failing_espeak()])
    with pytest.raises(SpeechUnavailable):
        await fallback.synthesize("Hello.", language="en")
    assert fallback.failures == {"gtts": 1, "espeak": 1}


async def test_fallback_raises_speech_unavailable_for_a_language_nobody_speaks() -> None:
    fallback = FallbackSynthesizer([offline_gtts(), EspeakSynthesizer()])
    assert not fallback.can_speak("xx")
    with pytest.raises(SpeechUnavailable):
        await fallback.synthesize("Hello.", language="xx")
    assert fallback.failures == {}


@pytest.mark.parametrize(
    ("backend", "with_client", "order"),
    [
        ("gtts", False, ["gtts", "espeak"]),
        ("espeak", False, ["espeak", "gtts"]),
        ("gtts", True, ["gtts", "openai", "espeak"]),
        ("openai", True, ["openai", "gtts", "espeak"]),
    ],
)
def test_configured_backend_comes_first_and_usable_ones_follow(
    backend: str, with_client: bool, order: list[str]
) -> None:
    client = (
        openai.AsyncOpenAI(api_key="test", base_url="http://127.0.0.1:9") if with_client else None
    )
    synthesizer = make_synthesizer(settings(tts_backend=backend), openai_client=client)
    assert isinstance(synthesizer, FallbackSynthesizer)
    assert [s.name for s in synthesizer.synthesizers] == order


def test_openai_backend_without_a_client_is_a_configuration_error() -> None:
    with pytest.raises(BotError, match="OPENAI_API_KEY"):
        make_synthesizer(settings(tts_backend="openai"), openai_client=None)


async def test_answer_is_spoken_as_an_ogg_opus_voice_note() -> None:
    note = await speak_answer(
        "Hello! This is a **short** answer.",
        language="en",
        synthesizer=EspeakSynthesizer(),
        max_seconds=60,
    )
    assert note.ogg.startswith(b"OggS") and b"OpusHead" in note.ogg[:200]
    assert note.duration > 1.0


async def test_long_answer_is_cut_at_max_seconds() -> None:
    note = await speak_answer(
        LONG_ANSWER, language="en", synthesizer=EspeakSynthesizer(), max_seconds=5
    )
    assert 4.0 < note.duration <= 5.5


async def test_answer_with_nothing_speakable_raises_speech_unavailable() -> None:
    with pytest.raises(SpeechUnavailable):
        await speak_answer(
            "https://example.com", language="en", synthesizer=EspeakSynthesizer(), max_seconds=60
        )


async def test_audio_that_does_not_decode_raises_speech_unavailable() -> None:
    with pytest.raises(SpeechUnavailable):
        await speak_answer(
            "Hello there.", language="en", synthesizer=GarbageSynthesizer(), max_seconds=60
        )


async def test_speaking_while_streaming_gives_the_same_note_as_speaking_at_the_end() -> None:
    text = "\n".join(f"{lang}: {sentence}" for lang, sentence in SENTENCES.items() if lang != "zh")
    whole = await speak_answer(text, language="en", synthesizer=EspeakSynthesizer(), max_seconds=60)
    speaker = IncrementalSpeaker(language="en", synthesizer=EspeakSynthesizer(), max_seconds=60)
    for end in range(0, len(text), 7):
        speaker.feed(text[:end])
        await asyncio.sleep(0)
    streamed = await speaker.finish(text)
    assert streamed.duration == pytest.approx(whole.duration, abs=0.2)


async def test_a_draft_the_model_rewrote_does_not_leak_into_the_note() -> None:
    final = "The answer is yes. That is all."
    whole = await speak_answer(
        final, language="en", synthesizer=EspeakSynthesizer(), max_seconds=60
    )
    speaker = IncrementalSpeaker(language="en", synthesizer=EspeakSynthesizer(), max_seconds=60)
    speaker.feed("Let me think about this very long question for a moment. The")
    streamed = await speaker.finish(final)
    assert streamed.duration == pytest.approx(whole.duration, abs=0.2)


async def test_cached_chunks_are_spoken_without_the_synthesizer() -> None:
    cache = DictCache()
    text = "First sentence. Second sentence."
    first = await speak_answer(
        text, language="en", synthesizer=EspeakSynthesizer(), max_seconds=60, cache=cache
    )
    again = await speak_answer(
        text, language="en", synthesizer=failing_espeak(), max_seconds=60, cache=cache
    )
    assert len(cache.entries) == 2
    assert again.duration == pytest.approx(first.duration, abs=0.2)


async def test_a_fallback_voice_is_not_cached() -> None:
    cache = DictCache()
    fallback = FallbackSynthesizer([offline_gtts(), EspeakSynthesizer()])
    await speak_answer(
        "Hello there.", language="en", synthesizer=fallback, max_seconds=60, cache=cache
    )
    assert cache.entries == {}
