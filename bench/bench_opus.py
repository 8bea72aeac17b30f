"""What the Opus encoder's complexity costs and gives, on the bot's own voice notes.

Run: .venv/bin/python -m bench.bench_opus   (prints a table; medians of 5 runs)

Every voice answer spoken through the Realtime API arrives as PCM and is encoded by the bot
(~6 s of speech per answer): at 200 people at once that encoding is most of the bot's CPU. Each
sample is decoded to 48 kHz PCM, encoded at each complexity, decoded again and compared with
what went in (signal-to-noise ratio after aligning the codec's delay, higher is closer; log-spectral
distance, lower is closer).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from bench.bench_audio import pyav_decode
from bot.voice_out import OPUS_OPTIONS, VOICE_RATE, AudioSegment, _encode_opus

RUNS = 5
FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures"
SAMPLES = ("en_1.ogg", "es_2.ogg", "zh_1.ogg", "en_piper.ogg")
COMPLEXITIES = ("0", "1", "2", "3", "5", "10")


def pcm48k(data: bytes) -> np.ndarray:
    """Any audio file as 48 kHz mono s16 samples."""
    return pyav_decode(data, VOICE_RATE)


def aligned(reference: np.ndarray, decoded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both signals as floats, `decoded` shifted to match `reference` (the codec's delay)."""
    ref = reference.astype(np.float64)
    best, best_lag = np.inf, 0
    for lag in range(960):
        out = decoded[lag : lag + len(ref)].astype(np.float64)
        n = min(len(out), len(ref))
        error = float(np.sum((ref[:n] - out[:n]) ** 2))
        if error < best:
            best, best_lag = error, lag
    out = decoded[best_lag : best_lag + len(ref)].astype(np.float64)
    n = min(len(out), len(ref))
    return ref[:n], out[:n]


def snr_db(ref: np.ndarray, out: np.ndarray) -> float:
    """Signal-to-noise ratio of aligned `out` against `ref`."""
    return float(10 * np.log10(np.sum(ref**2) / max(float(np.sum((ref - out) ** 2)), 1e-9)))


def log_spectral_distance(ref: np.ndarray, out: np.ndarray, size: int = 960) -> float:
    """Mean log-spectral distance in dB over 20 ms frames up to 12 kHz (lower is closer)."""
    frames = len(ref) // size
    window = np.hanning(size)
    bins = size * 12_000 // VOICE_RATE
    a = np.abs(np.fft.rfft(ref[: frames * size].reshape(frames, size) * window))[:, :bins]
    b = np.abs(np.fft.rfft(out[: frames * size].reshape(frames, size) * window))[:, :bins]
    loud = a.sum(axis=1) > 0.01 * a.sum(axis=1).max()  # silence says nothing of the codec
    diff = 20 * np.log10((a[loud] + 1e-3) / (b[loud] + 1e-3))
    return float(np.mean(np.sqrt(np.mean(diff**2, axis=1))))


def main() -> None:
    """One row per complexity, medians over the samples."""
    ours, before = OPUS_OPTIONS["compression_level"], "5"
    print("| complexity | encode ms per s of speech | kbit/s | SNR dB | log-spectral distance dB |")
    print("| --- | --- | --- | --- | --- |")
    for complexity in COMPLEXITIES:
        options = {**OPUS_OPTIONS, "compression_level": complexity}
        costs, rates, snrs, lsds = [], [], [], []
        for name in SAMPLES:
            samples = pcm48k((FIXTURES / name).read_bytes())
            seconds = len(samples) / VOICE_RATE
            segment = AudioSegment(
                data=samples.tobytes(), sample_width=2, frame_rate=VOICE_RATE, channels=1
            )
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                ogg = _encode_opus(segment, options)
                times.append(time.perf_counter() - start)
            costs.append(1000 * statistics.median(times) / seconds)
            rates.append(len(ogg) * 8 / seconds / 1000)
            ref, out = aligned(samples, pcm48k(ogg))
            snrs.append(snr_db(ref, out))
            lsds.append(log_spectral_distance(ref, out))
        mark = " (ours)" if complexity == ours else " (before)" if complexity == before else ""
        print(
            f"| {complexity}{mark} | {statistics.median(costs):.1f} | "
            f"{statistics.median(rates):.1f} | {statistics.median(snrs):.1f} | "
            f"{statistics.median(lsds):.2f} |"
        )


if __name__ == "__main__":
    main()
