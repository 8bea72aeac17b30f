"""Raw PCM in and out of a live session: the microphone's 16 kHz, the page's 24 kHz."""

from __future__ import annotations

import io
import wave

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


def speech_to_pcm(speech: Speech, rate: int = OUT_RATE) -> bytes:
    """A synthesised clip (OGG/Opus, MP3 or WAV) as 16-bit mono PCM at `rate` (blocking)."""
    import av  # PyAV is loaded by bot.app's warm-up, not at start-up

    out = bytearray()
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    try:
        with av.open(io.BytesIO(speech.audio), mode="r") as container:
            for frame in container.decode(audio=0):
                for piece in resampler.resample(frame):
                    out += piece.to_ndarray().tobytes()
    except (av.error.FFmpegError, ValueError) as error:
        raise AudioError(f"could not decode {speech.format} speech") from error
    for piece in resampler.resample(None):
        out += piece.to_ndarray().tobytes()
    return bytes(out)


__all__ = ["IN_RATE", "OUT_FRAME_BYTES", "OUT_RATE", "pcm_to_wav", "speech_to_pcm"]
