"""Speech synthesis timings: espeak-ng vs gTTS (offline: time to failure), and whole answers.

Run: .venv/bin/python -m bench.bench_tts   (prints a table; medians of 5 runs)
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from bot.audio_in import wav_duration
from bot.errors import ServiceError
from bot.speech import IncrementalSpeaker, speak_answer
from bot.tts.espeak import EspeakSynthesizer
from bot.tts.fallback import FallbackSynthesizer
from bot.tts.gtts import GTTSSynthesizer

RUNS = 5
SENTENCES = {
    "en": "The weather today is mild and sunny, a good day for a walk in the park. ",
    "zh": "今天天气很好，适合去公园散步。我们可以一起喝茶，聊聊最近的事情。",
    "ru": "Сегодня тёплая и солнечная погода, хороший день для прогулки в парке. ",
    "es": "Hoy el tiempo es templado y soleado, un buen día para pasear por el parque. ",
    "de": "Das Wetter ist heute mild und sonnig, ein guter Tag für einen Spaziergang. ",
}
ANSWER_600 = (
    "Here is a short plan for your trip. First, book the train early, because prices rise "
    "quickly in summer. Second, pack light: two shirts, one jacket and comfortable shoes are "
    "enough for three days. Third, keep a copy of your documents on your phone and on paper. "
    "When you arrive, buy a day pass for the metro; it pays for itself after four rides. "
    "Try the local market on Saturday morning, where the bread is fresh and cheap. "
    "Finally, leave one afternoon free, since the best moments are often the unplanned ones."
)


def text_of(language: str, chars: int = 200) -> str:
    """`chars` characters of speech in `language`."""
    return (SENTENCES[language] * 20)[:chars]


async def median_seconds(action: Callable[[], Awaitable[object]]) -> float:
    """Median wall time of RUNS runs of `action`, after one warm-up."""
    await action()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        await action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def failure_seconds(synthesizer: GTTSSynthesizer, text: str, language: str) -> float:
    """Median time until gTTS gives up."""

    async def attempt() -> None:
        try:
            await synthesizer.synthesize(text, language=language)
        except ServiceError:
            return
        raise AssertionError("gTTS unexpectedly reached a server")

    return await median_seconds(attempt)


async def bench_backends() -> None:
    """espeak-ng vs offline gTTS, 200 characters per language."""
    espeak = EspeakSynthesizer()
    gtts = GTTSSynthesizer(timeout=10.0, tld="invalid")  # never resolves: nothing leaves the host
    print(f"{'language':<9}{'espeak s':>10}{'audio s':>9}{'gTTS fail s':>13}")
    for language in SENTENCES:
        text = text_of(language)
        speech = await espeak.synthesize(text, language=language)
        took = await median_seconds(
            lambda t=text, lang=language: espeak.synthesize(t, language=lang)
        )
        failed = await failure_seconds(gtts, text, language)
        print(f"{language:<9}{took:>10.3f}{wav_duration(speech.audio):>9.1f}{failed:>13.3f}")


async def streamed(text: str, synthesizer: FallbackSynthesizer | EspeakSynthesizer) -> float:
    """Seconds from the final text to the voice note when sentences were fed while streaming."""
    speaker = IncrementalSpeaker(language="en", synthesizer=synthesizer, max_seconds=180)
    for end in range(0, len(text), 20):  # ~20 characters per model delta, 20 ms apart
        speaker.feed(text[:end])
        await asyncio.sleep(0.02)
    start = time.perf_counter()
    await speaker.finish(text)
    return time.perf_counter() - start


async def bench_answers() -> None:
    """A 600-character English answer end to end (chunks, synthesis, OGG/Opus encoding)."""
    stacks = {
        "espeak": EspeakSynthesizer(),
        "gtts(offline)->espeak": FallbackSynthesizer(
            [GTTSSynthesizer(tld="invalid"), EspeakSynthesizer()], cooldown=60.0
        ),
    }
    print(f"\n{'600-char answer':<24}{'speak_answer s':>15}{'note s':>8}{'after stream s':>16}")
    for name, synthesizer in stacks.items():
        note = await speak_answer(
            ANSWER_600, language="en", synthesizer=synthesizer, max_seconds=180
        )
        took = await median_seconds(
            lambda s=synthesizer: speak_answer(
                ANSWER_600, language="en", synthesizer=s, max_seconds=180
            )
        )
        after = statistics.median([await streamed(ANSWER_600, synthesizer) for _ in range(RUNS)])
        print(f"{name:<24}{took:>15.3f}{note.duration:>8.1f}{after:>16.3f}")


async def main() -> None:
    """Print both tables."""
    await bench_backends()
    await bench_answers()


if __name__ == "__main__":
    asyncio.run(main())
