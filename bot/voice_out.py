"""Voice out: the bot's speech clips → one OGG/Opus voice note Telegram shows as a bubble.

Joining clips (packet by packet when they are Opus already), encoding PCM, cutting at the length
limit with a fade. Every function here blocks; callers run them with `asyncio.to_thread`.
"""

from __future__ import annotations

import fractions
import functools
import io
import shutil
import struct
import tempfile
import warnings
import wave
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import av
import numpy as np

from bot.audio_in import MIN_DECODED_SECONDS, guess_format
from bot.errors import AudioError, BotError

with warnings.catch_warnings():
    # pydub warns at import when no ffmpeg is on PATH; we hand it imageio-ffmpeg's binary instead.
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

VOICE_RATE = 48_000  # Opus runs at 48 kHz; Telegram plays voice bubbles from OGG/Opus.
VOICE_BITRATE = 32_000
OPUS_FRAME = 960  # 20 ms at 48 kHz, the frame size libopus expects.
# Speech tuning and a low complexity: the bot encodes every Realtime answer itself, and at
# complexity 1 that costs 1.6-2.1x less than 5 and ~2.2x less than the default 10, at the same size
# and within 0.6 dB of their spectra (python -m bench.bench_opus).
OPUS_OPTIONS = {"application": "voip", "compression_level": "1"}
CLIP_PAUSE_MS = 150
CAP_FADE_MS = 300

# Containers ffmpeg cannot read from a pipe when the index (moov) sits at the end of the file.
_NEEDS_SEEK = frozenset({"mp4", "matroska"})


@dataclass(frozen=True)
class VoiceNote:
    """OGG/Opus bytes Telegram shows as a voice bubble, and their length in seconds."""

    ogg: bytes
    duration: float


@functools.cache
def ffmpeg_binary() -> str:
    """The ffmpeg in use: the one on PATH, else the binary the imageio-ffmpeg wheel ships."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        raise BotError("no ffmpeg found: pip install imageio-ffmpeg") from None
    return str(imageio_ffmpeg.get_ffmpeg_exe())


class _Segment(AudioSegment):  # type: ignore[misc]
    """pydub's AudioSegment bound to our ffmpeg without touching pydub's global setting."""

    @classmethod
    def load(cls, data: bytes, fmt: str, codec: str) -> AudioSegment:
        """Decode `data`; the codec is given so pydub never asks for ffprobe."""
        cls.converter = ffmpeg_binary()
        if fmt not in _NEEDS_SEEK:
            return cls.from_file(io.BytesIO(data), format=fmt, codec=codec)
        with tempfile.NamedTemporaryFile(suffix="." + fmt) as handle:
            handle.write(data)
            handle.flush()
            return cls.from_file(handle.name, format=fmt, codec=codec)


def _load(data: bytes, container: str | None) -> AudioSegment:
    """Decode our own speech clips (whole, into memory) to a pydub segment, or raise AudioError.

    Only for audio whose length is already bounded (the speech we synthesised); what users
    send goes through `decode_to_wav`, which never holds more than the limit.
    """
    guess = guess_format(data, container)
    try:
        return _Segment.load(data, *guess)
    except (CouldntDecodeError, wave.Error, EOFError, ValueError, struct.error) as error:
        raise AudioError(f"could not decode {guess[0]} audio") from error


def encode_voice_note(clips: Sequence[tuple[bytes, str]], *, max_seconds: float) -> VoiceNote:
    """Join speech clips ((bytes, "wav"|"mp3"|"ogg"), in order) into one OGG/Opus voice note.

    Clips are separated by a short pause; audio past `max_seconds` is cut with a short fade.
    Mono OGG/Opus clips that fit are joined packet by packet (2 ms instead of ~90 ms of
    decoding and encoding for a few sentences); others are decoded with pydub and encoded once.
    """
    if all(fmt == "ogg" for _, fmt in clips):
        joined = _join_opus([data for data, _ in clips], max_seconds=max_seconds)
        if joined is not None:
            return joined
    segment = _join([_load(data, fmt) for data, fmt in clips])
    limit_ms = int(max_seconds * 1000)
    if len(segment) > limit_ms:
        segment = segment[:limit_ms].fade_out(min(CAP_FADE_MS, limit_ms))
    if len(segment) < MIN_DECODED_SECONDS * 1000:
        raise AudioError("no speech to encode")
    return VoiceNote(ogg=_encode_opus(segment), duration=len(segment.raw_data) / (2 * VOICE_RATE))


def encode_pcm_clip(pcm: bytes, *, rate: int) -> bytes:
    """Mono 16-bit little-endian PCM at `rate` as one OGG/Opus clip, ready for `encode_voice_note`.

    Raises:
        AudioError: there is not enough audio to encode.
    """
    whole = pcm[: len(pcm) // 2 * 2]  # a torn last sample is dropped, not guessed
    if len(whole) < MIN_DECODED_SECONDS * rate * 2:
        raise AudioError("no speech to encode")
    segment = AudioSegment(data=whole, sample_width=2, frame_rate=rate, channels=1)
    return _encode_opus(segment.set_frame_rate(VOICE_RATE))


def _join_opus(clips: Sequence[bytes], *, max_seconds: float) -> VoiceNote | None:
    """Mono Opus clips as one stream, with a silent pause between them, without re-encoding.

    None when a clip is not mono Opus or the note would run past `max_seconds` (it is cut with
    a fade then, which needs the samples). Each clip after the first keeps its 6.5 ms encoder
    warm-up, played after a pause of silence, where it cannot be heard.
    """
    parts = []
    for data in clips:
        part = _opus_packets(data)
        if part is None:
            return None
        parts.append(part)
    if not parts:
        return None
    pause = _opus_pause()
    packets = [p for i, part in enumerate(parts) for p in ([*pause, *part] if i else part)]
    samples = sum(duration for _, duration in packets)
    if not MIN_DECODED_SECONDS * VOICE_RATE <= samples <= max_seconds * VOICE_RATE:
        return None
    out = io.BytesIO()
    time_base = fractions.Fraction(1, VOICE_RATE)
    with av.open(out, "w", format="ogg") as output, av.open(io.BytesIO(clips[0]), "r") as first:
        # The first clip's header (channels, pre-skip) describes the joined stream.
        stream = output.add_stream_from_template(first.streams.audio[0])
        pts = 0
        for payload, duration in packets:
            packet = av.Packet(payload)
            packet.stream, packet.time_base = stream, time_base
            packet.pts = packet.dts = pts
            packet.duration = duration
            pts += duration
            output.mux(packet)
    return VoiceNote(ogg=out.getvalue(), duration=samples / VOICE_RATE)


def _opus_packets(data: bytes) -> list[tuple[bytes, int]] | None:
    """The packets of a mono OGG/Opus file with their lengths at 48 kHz; None for other audio."""
    try:
        with av.open(io.BytesIO(data), "r") as source:
            stream = source.streams.audio[0]
            context = stream.codec_context
            if context.name != "opus" or context.layout.nb_channels != 1:
                return None
            if stream.time_base != fractions.Fraction(1, VOICE_RATE):
                return None
            return [(bytes(p), p.duration or 0) for p in source.demux(stream) if p.size]
    except (av.error.FFmpegError, IndexError, ValueError):
        return None  # the decoding path gives the clear error


@functools.cache
def _opus_pause() -> tuple[tuple[bytes, int], ...]:
    """The pause between clips as Opus packets, encoded once per process."""
    silence = AudioSegment.silent(duration=CLIP_PAUSE_MS, frame_rate=VOICE_RATE)
    packets = _opus_packets(_encode_opus(silence.set_channels(1).set_sample_width(2)))
    if packets is None:  # pragma: no cover - our own encoder's output
        raise AudioError("could not encode a pause")
    return tuple(packets)


def _join(segments: Sequence[AudioSegment]) -> AudioSegment:
    """Concatenate segments at 48 kHz mono 16-bit with a pause between them."""
    pause = AudioSegment.silent(duration=CLIP_PAUSE_MS, frame_rate=VOICE_RATE)
    joined = AudioSegment.empty().set_frame_rate(VOICE_RATE).set_channels(1).set_sample_width(2)
    for index, segment in enumerate(segments):
        if index:
            joined += pause
        joined += segment.set_frame_rate(VOICE_RATE).set_channels(1).set_sample_width(2)
    return joined


def _encode_opus(segment: AudioSegment, options: Mapping[str, str] = OPUS_OPTIONS) -> bytes:
    """Encode 48 kHz mono 16-bit PCM as OGG/Opus in process with PyAV (no ffmpeg subprocess)."""
    samples = np.frombuffer(segment.raw_data, dtype="<i2")
    padded = np.pad(samples, (0, -len(samples) % OPUS_FRAME))
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream(
            "libopus", rate=VOICE_RATE, layout="mono", options=dict(options)
        )
        stream.bit_rate = VOICE_BITRATE
        for start in range(0, len(padded), OPUS_FRAME):
            chunk = padded[start : start + OPUS_FRAME].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
            frame.sample_rate, frame.pts = VOICE_RATE, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()
