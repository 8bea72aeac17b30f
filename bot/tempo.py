"""Faster or slower speech at the same pitch: ffmpeg's atempo filter, through PyAV (blocking)."""

from __future__ import annotations

import io
import itertools
import wave

import av
import av.filter
import numpy as np

from bot.errors import AudioError

# atempo takes 0.5-100 per instance; the speeds offered (0.8-1.5) need one.
MIN_FACTOR, MAX_FACTOR = 0.5, 4.0


def change_tempo(audio: bytes, *, factor: float) -> bytes:
    """`audio` (any container ffmpeg reads) played `factor` times as fast, as mono 16-bit WAV.

    Raises:
        AudioError: the audio does not decode, or the factor is out of range.
    """
    if not MIN_FACTOR <= factor <= MAX_FACTOR:
        raise AudioError(f"tempo factor {factor} out of range")
    try:
        with av.open(io.BytesIO(audio), "r") as source:
            stream = source.streams.audio[0]
            rate = stream.codec_context.sample_rate
            graph = av.filter.Graph()
            chain = [
                graph.add_abuffer(template=stream),
                graph.add("atempo", f"{factor:.4f}"),
                graph.add("aformat", f"sample_fmts=s16:channel_layouts=mono:sample_rates={rate}"),
                graph.add("abuffersink"),
            ]
            for before, after in itertools.pairwise(chain):
                before.link_to(after)
            graph.configure()
            pieces: list[np.ndarray] = []
            for frame in source.decode(stream):
                graph.push(frame)
                pieces.extend(_pull(graph))
            graph.push(None)
            pieces.extend(_pull(graph))
    except (av.error.FFmpegError, IndexError, ValueError) as error:
        raise AudioError(f"tempo change failed: {error}") from error
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def _pull(graph: av.filter.Graph) -> list[np.ndarray]:
    """Every frame the graph has ready, as int16 samples."""
    frames: list[np.ndarray] = []
    while True:
        try:
            frame = graph.pull()
        except (BlockingIOError, EOFError, av.error.EOFError):
            return frames
        frames.append(frame.to_ndarray().reshape(-1))
