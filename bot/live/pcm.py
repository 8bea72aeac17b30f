"""Raw PCM in and out of a live session: the microphone's 16 kHz, the page's 24 kHz."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator

from bot.errors import AudioError
from bot.tts.base import Speech

IN_RATE = 16_000
OUT_RATE = 24_000
OUT_FRAME_BYTES = OUT_RATE * 2 // 5  # 200 ms of speech per binary frame


def pcm_to_wav(pcm: bytes, rate: int = IN_RATE) -> bytes:
    """16-bit mono PCM as a WAV file (what every transcriber takes), without decoding."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return out.getvalue()


def speech_pieces(speech: Speech, rate: int = OUT_RATE) -> Iterator[bytes]:
    """A synthesised clip as 16-bit mono PCM at `rate`, a decoded packet at a time.

    Pieces, so that the event loop can decode between its other work: in a thread, the decoding
    held the GIL against the loop (a 20-session round stalled it ~200 ms instead of ~60 ms).
    A 16-bit WAV (an offline voice) needs no decoder: it is resampled with numpy.
    """
    if speech.format == "wav" and (pcm := _wav_at(speech.audio, rate)) is not None:
        yield pcm
        return
    import av  # PyAV is loaded by bot.app's warm-up, not at start-up

    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    try:
        with av.open(io.BytesIO(speech.audio), mode="r") as container:
            for frame in container.decode(audio=0):
                for piece in resampler.resample(frame):
                    yield piece.to_ndarray().tobytes()
        for piece in resampler.resample(None):
            yield piece.to_ndarray().tobytes()
    except (av.error.FFmpegError, ValueError) as error:
        raise AudioError(f"could not decode {speech.format} speech") from error


def speech_to_pcm(speech: Speech, rate: int = OUT_RATE) -> bytes:
    """A synthesised clip (OGG/Opus, MP3 or WAV) as 16-bit mono PCM at `rate` (blocking)."""
    return b"".join(speech_pieces(speech, rate))


def _wav_at(data: bytes, rate: int) -> bytes | None:
    """A mono 16-bit WAV's samples at `rate` (linear interpolation); None for other WAVs."""
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            params = reader.getparams()
            frames = reader.readframes(params.nframes)
    except (wave.Error, EOFError):
        return None
    if (params.nchannels, params.sampwidth) != (1, 2):
        return None
    if params.framerate == rate:
        return frames
    import numpy as np

    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32)
    count = int(len(samples) * rate / params.framerate)
    positions = np.arange(count) * (params.framerate / rate)
    resampled = np.interp(positions, np.arange(len(samples)), samples)
    return bytes(np.clip(resampled, -32768, 32767).astype("<i2").tobytes())


__all__ = [
    "IN_RATE",
    "OUT_FRAME_BYTES",
    "OUT_RATE",
    "pcm_to_wav",
    "speech_pieces",
    "speech_to_pcm",
]
