"""Audio conversion timings: decoding with pydub (ffmpeg subprocess) vs PyAV, encoding likewise.

Run: .venv/bin/python -m bench.bench_audio   (prints a table; medians of 5 runs)
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from bot.audio_in import decode_to_wav
from bot.voice_out import (
    OPUS_FRAME,
    VOICE_BITRATE,
    VOICE_RATE,
    AudioSegment,
    _encode_opus,
    _join,
    _load,
    _Segment,
    encode_voice_note,
    ffmpeg_binary,
)

RUNS = 5
FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures"
SAMPLES = ("en_1.ogg", "es_2.ogg", "en_long_60s.ogg")


def median_ms(action: Callable[[], object]) -> float:
    """Median wall time of RUNS calls, in milliseconds (after one warm-up call)."""
    action()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def pyav_decode(data: bytes, rate: int = 16_000) -> np.ndarray:
    """Any audio file → mono s16 samples at `rate` in process with PyAV (pydub's alternative)."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    chunks: list[np.ndarray] = []
    with av.open(io.BytesIO(data), "r") as container:
        for frame in container.decode(audio=0):
            chunks.extend(f.to_ndarray().ravel() for f in resampler.resample(frame))
    chunks.extend(f.to_ndarray().ravel() for f in resampler.resample(None))
    return np.concatenate(chunks)


def pyav_encode_default(pcm48k: bytes) -> bytes:
    """OGG/Opus with libopus at its default complexity (10), for comparison with ours (5)."""
    samples = np.frombuffer(pcm48k, dtype="<i2")
    padded = np.pad(samples, (0, -len(samples) % OPUS_FRAME))
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=VOICE_RATE, layout="mono")
        stream.bit_rate = VOICE_BITRATE
        for start in range(0, len(padded), OPUS_FRAME):
            frame = av.AudioFrame.from_ndarray(
                padded[start : start + OPUS_FRAME].reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate, frame.pts = VOICE_RATE, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def pydub_encode(segment: AudioSegment) -> bytes:
    """OGG/Opus through pydub's export (ffmpeg subprocess, temporary files)."""
    out = io.BytesIO()
    ours = _Segment(data=segment.raw_data, sample_width=2, frame_rate=VOICE_RATE, channels=1)
    ours.export(
        out, format="ogg", codec="libopus", bitrate="32k", parameters=["-ar", "48000", "-ac", "1"]
    )
    return out.getvalue()


def operations(data: bytes) -> list[tuple[str, Callable[[], bytes | object]]]:
    """The measured operations on one sample; the encoders all get the same 48 kHz segment."""
    segment = _join([_load(data, None)])
    return [
        ("decode: pydub + ffmpeg → 16 kHz WAV (before)", lambda: _load(data, None)
            .set_frame_rate(16_000).set_channels(1).set_sample_width(2).raw_data),
        ("decode: PyAV frame by frame → 16 kHz WAV (ours)", lambda: decode_to_wav(data)),
        ("decode: PyAV in process → 16 kHz PCM", lambda: pyav_decode(data)),
        ("encode: PyAV libopus voip/5 (ours)", lambda: _encode_opus(segment)),
        ("encode: PyAV libopus default (10)", lambda: pyav_encode_default(segment.raw_data)),
        ("encode: pydub export libopus", lambda: pydub_encode(segment)),
        ("voice note: encode_voice_note, whole", lambda: encode_voice_note(
            [(data, "ogg")], max_seconds=300).ogg),
    ]  # fmt: skip


def main() -> None:
    """Print one row per sample and operation; `bytes` is the size of what an encoder produced."""
    _Segment.converter = ffmpeg_binary()
    print(f"ffmpeg: {ffmpeg_binary()}")
    print(f"{'sample':<18}{'operation':<44}{'ms':>8}{'bytes':>9}")
    for name in SAMPLES:
        for label, action in operations((FIXTURES / name).read_bytes()):
            result = action()
            size = len(result) if isinstance(result, bytes) else ""
            print(f"{name:<18}{label:<44}{median_ms(action):>8.0f}{size:>9}")


if __name__ == "__main__":
    main()
