"""Small audio helpers for the emulators: header-based durations and tone files in real formats."""

from __future__ import annotations

import fractions
import functools
import io
import struct
import wave

import av
import numpy as np

# response_format -> (PyAV container, codec, sample rate); wav and pcm are written by hand.
_ENCODERS = {
    "opus": ("ogg", "libopus", 48000),
    "mp3": ("mp3", "libmp3lame", 24000),
    "aac": ("adts", "aac", 24000),
    "flac": ("flac", "flac", 24000),
}
SPEECH_FORMATS = frozenset({*_ENCODERS, "wav", "pcm"})
PCM_RATE = 24000


def wav_duration(data: bytes) -> float | None:
    """Duration of a RIFF/WAVE file from its header, or None if `data` is not WAV."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if chunk == b"fmt ":
            byte_rate = struct.unpack_from("<I", data, pos + 16)[0]
        elif chunk == b"data" and byte_rate:
            # Streaming writers put 0 or 0xFFFFFFFF here; the bytes present are the truth then.
            size = min(size, len(data) - pos - 8) if size else len(data) - pos - 8
            return size / byte_rate
        pos += 8 + size + (size & 1)
    return None


def ogg_opus_duration(data: bytes) -> float | None:
    """Duration of an OGG/Opus file from its last granule position, or None if not OGG/Opus."""
    head = data.find(b"OpusHead")
    last = data.rfind(b"OggS")
    if not data.startswith(b"OggS") or head < 0 or last + 14 > len(data):
        return None
    pre_skip = struct.unpack_from("<H", data, head + 10)[0]
    granule = struct.unpack_from("<q", data, last + 6)[0]
    return max(granule - pre_skip, 0) / 48000


def audio_duration(data: bytes) -> float:
    """Duration of WAV or OGG/Opus bytes from headers; 0.0 for anything else."""
    for probe in (wav_duration, ogg_opus_duration):
        seconds = probe(data)
        if seconds is not None:
            return seconds
    return 0.0


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG header, or None for other data."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return None
    width, height = struct.unpack_from(">II", data, 16)
    return width, height


def _samples(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 440 * t) * 0.3 * 32767).astype(np.int16)


def _wav(samples: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buf.getvalue()


def _encode(samples: np.ndarray, container: str, codec: str, rate: int) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.AudioStream)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


@functools.lru_cache(maxsize=64)
def tone(seconds: float, response_format: str) -> bytes:
    """A 440 Hz tone of `seconds` in an OpenAI speech `response_format` (blocking; cached)."""
    if response_format == "wav":
        return _wav(_samples(seconds, PCM_RATE), PCM_RATE)
    if response_format == "pcm":
        return _samples(seconds, PCM_RATE).tobytes()
    container, codec, rate = _ENCODERS[response_format]
    return _encode(_samples(seconds, rate), container, codec, rate)


def _ogg_crc(page: bytes) -> int:
    """The CRC-32 an OGG page header carries (polynomial 0x04C11DB7, unreflected, seed 0)."""
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def ogg_without_audio(note: bytes) -> bytes:
    """A well-formed OGG/Opus file holding only `note`'s two header pages, marked end of stream."""
    pages, offset = [], 0
    for _ in range(2):
        segments = note[offset + 26]
        size = 27 + segments + sum(note[offset + 27 : offset + 27 + segments])
        pages.append(bytearray(note[offset : offset + size]))
        offset += size
    last = pages[-1]
    last[5] |= 0x04  # end of stream
    last[22:26] = b"\0\0\0\0"
    last[22:26] = struct.pack("<I", _ogg_crc(bytes(last)))
    return b"".join(bytes(page) for page in pages)


# One Opus packet of two empty 60 ms SILK frames (TOC 0x1B, code 3; count byte 2): 120 ms of
# audio in two bytes, which a decoder plays as concealed silence. The stuff of a decompression
# bomb: hours of audio in a few hundred kilobytes.
_EMPTY_120_MS = bytes([0x1B, 0x02])
_OPUS_RATE = 48_000


@functools.lru_cache(maxsize=8)
def opus_bomb(container: str, seconds: float, *, understate: bool = False) -> bytes:
    """`seconds` of Opus audio in "ogg" or "webm", ~50 bytes per second (blocking; cached).

    With `understate`, each packet claims a single tick of duration, as a forger's Matroska
    may: only decoding tells the real length then.
    """
    header = _encode(np.zeros(960, np.int16), "ogg", "libopus", _OPUS_RATE)
    out = io.BytesIO()
    time_base = fractions.Fraction(1, _OPUS_RATE)
    step = 120 * _OPUS_RATE // 1000
    # Long OGG pages (255 packets each): less framing, a smaller file.
    options = {"page_duration": "30000000"} if container == "ogg" else {}
    with (
        av.open(out, "w", format=container, options=options) as muxer,
        av.open(io.BytesIO(header)) as template,
    ):
        stream = muxer.add_stream_from_template(template.streams.audio[0])
        for pts in range(0, int(seconds * _OPUS_RATE), step):
            packet = av.Packet(_EMPTY_120_MS)
            packet.stream, packet.time_base = stream, time_base
            packet.pts = packet.dts = pts // step if understate else pts
            packet.duration = 1 if understate else step
            muxer.mux(packet)
    return out.getvalue()
