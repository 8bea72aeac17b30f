"""Audio in: whatever people send (voice notes, audio files, video notes) → 16 kHz mono WAV.

Sniffing the format, measuring the length from the packets without decoding, and decoding frame
by frame up to a limit. Every function here blocks; callers run them with `asyncio.to_thread`.
"""

from __future__ import annotations

import contextlib
import fractions
import io
import struct
import wave
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import av
import numpy as np

from bot.errors import AudioError, AudioTooLong

ASR_RATE = 16_000
MIN_DECODED_SECONDS = 0.1

# A container named by the caller (file name, MIME type) with the codec it usually holds.
_CONTAINER_DEFAULTS = {
    "ogg": ("ogg", "opus"),
    "oga": ("ogg", "opus"),
    "opus": ("ogg", "opus"),
    "mp3": ("mp3", "mp3"),
    "mpeg": ("mp3", "mp3"),
    "m4a": ("mp4", "aac"),
    "mp4": ("mp4", "aac"),
    "aac": ("aac", "aac"),
    "wav": ("wav", "pcm_s16le"),
    "flac": ("flac", "flac"),
    "webm": ("matroska", "opus"),
}
_MP4_CODECS = ((b"mp4a", "aac"), (b"Opus", "opus"), (b"alac", "alac"), (b"fLaC", "flac"))
_MKV_CODECS = (
    (b"A_OPUS", "opus"),
    (b"A_VORBIS", "vorbis"),
    (b"A_AAC", "aac"),
    (b"A_MPEG/L3", "mp3"),
)
_OGG_CODECS = ((b"OpusHead", "opus"), (b"\x01vorbis", "vorbis"), (b"\x7fFLAC", "flac"))


@dataclass(frozen=True)
class DecodedAudio:
    """16 kHz mono 16-bit WAV bytes, their length in seconds, and the container they came in."""

    wav: bytes
    duration: float
    container: str | None = None


def sniff_format(data: bytes) -> tuple[str, str] | None:
    """Guess (ffmpeg input format, decoder) from magic bytes; None when it is not known audio."""
    head = data[:64]
    if head.startswith(b"OggS"):
        return "ogg", _first_match(data[:4096], _OGG_CODECS, "opus")
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav", _wav_codec(data)
    if head.startswith(b"fLaC"):
        return "flac", "flac"
    if head[4:8] == b"ftyp":
        return "mp4", _first_match(data, _MP4_CODECS, "aac")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska", _first_match(data[:65536], _MKV_CODECS, "opus")
    if head.startswith(b"ID3"):
        return "mp3", "mp3"
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0:  # ADTS: sync word and layer 0
            return "aac", "aac"
        if head[1] & 0xE0 == 0xE0 and (head[1] >> 1) & 3 == 1:  # MPEG audio layer III
            return "mp3", "mp3"
    return None


def _first_match(data: bytes, table: Sequence[tuple[bytes, str]], default: str) -> str:
    """The codec whose marker appears first in `data`, else `default`."""
    found = [(data.find(marker), codec) for marker, codec in table if marker in data]
    return min(found)[1] if found else default


def _wav_codec(data: bytes) -> str:
    """The ffmpeg decoder for a WAV file's `fmt ` chunk (PCM when the chunk is unreadable)."""
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = data[offset : offset + 4], struct.unpack_from("<I", data, offset + 4)[0]
        if chunk == b"fmt " and offset + 24 <= len(data):
            tag, bits = struct.unpack_from("<H", data, offset + 8)[0], data[offset + 22]
            if tag == 0xFFFE and offset + 34 <= len(data):  # WAVE_FORMAT_EXTENSIBLE: see SubFormat
                tag = struct.unpack_from("<H", data, offset + 32)[0]
            return _WAV_TAGS.get(tag, _pcm_s16le)(bits)
        offset += 8 + size + (size & 1)
    return "pcm_s16le"


def _pcm_s16le(_bits: int) -> str:
    return "pcm_s16le"


_WAV_TAGS: dict[int, Callable[[int], str]] = {
    1: lambda bits: "pcm_u8" if bits == 8 else f"pcm_s{bits}le",
    3: lambda bits: f"pcm_f{bits}le",
    6: lambda bits: "pcm_alaw",
    7: lambda bits: "pcm_mulaw",
    0x55: lambda bits: "mp3",
}


def guess_format(data: bytes, container: str | None) -> tuple[str, str]:
    """(ffmpeg input format, decoder) from the bytes, else from the caller's hint; AudioError."""
    if not data:
        raise AudioError("empty file")
    guess = sniff_format(data)
    if guess is None and container:
        guess = _CONTAINER_DEFAULTS.get(container.lower().lstrip("."))
    if guess is None:
        raise AudioError("not a known audio format")
    return guess


def to_wav(pcm: bytes | bytearray, rate: int = ASR_RATE) -> bytes:
    """16-bit mono samples as a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return out.getvalue()


def open_input(data: bytes, fmt: str) -> av.container.InputContainer:
    """Open `data` with PyAV as `fmt` (seekable in memory: an index at the end is read too)."""
    try:
        return av.open(io.BytesIO(data), "r", format=fmt)
    except (av.error.FFmpegError, ValueError) as error:
        raise AudioError(f"could not read {fmt} audio") from error


def packet_seconds(data: bytes, *, container: str | None = None, limit: float) -> float | None:
    """Playing length from the packets' own durations, without decoding them; cheap.

    Stops reading once the length passes `limit` (a 2-hour note of 5 bytes a packet takes
    ~8 µs a packet to walk, so the walk ends after `limit` seconds' worth of packets). Packet
    durations come from the codec's frame headers in OGG, MP3, FLAC, WAV and MP4, but a
    Matroska/WebM file may understate them: `decode_to_wav` keeps counting while it decodes.

    Returns:
        The length in seconds, or None when the packets cannot be read (the decoder says why).

    Raises:
        AudioTooLong: the packets hold more than `limit` seconds; its `seconds` is the file's
            own claim when that is longer still (it only names the length in the refusal).
    """
    fmt, _codec = guess_format(data, container)
    try:
        with av.open(io.BytesIO(data), "r", format=fmt) as source:
            stream = source.streams.audio[0]
            base = stream.time_base or fractions.Fraction(0)
            ticks, most = 0, limit / base if base else 0
            for packet in source.demux(stream):
                if packet.size and packet.duration:
                    ticks += packet.duration
                    if ticks > most:
                        claimed = (source.duration or 0) / av.time_base
                        raise AudioTooLong(max(float(ticks * base), claimed), limit)
    except (av.error.FFmpegError, IndexError, ValueError):
        return None
    return float(ticks * base)


def decode_to_wav(
    data: bytes, *, container: str | None = None, max_seconds: float = float("inf")
) -> DecodedAudio:
    """Convert a voice note, audio file or video note to 16 kHz mono 16-bit WAV, frame by frame.

    Never holds more than `max_seconds` of samples: a file that decodes to more is refused as
    soon as it does, whatever its headers and packets claimed. A damaged end (a truncated
    upload) keeps what decoded before it, as ffmpeg would.

    Args:
        data: the file as downloaded.
        container: a hint ("ogg", "mp3", "m4a", ...) used only when the bytes are not recognised.
        max_seconds: the longest audio accepted.

    Raises:
        AudioTooLong: more than `max_seconds` of audio.
        AudioError: empty input, not audio, or nothing decodable in it.
    """
    fmt, _codec = guess_format(data, container)
    most = max_seconds * ASR_RATE * 2  # bytes of 16 kHz mono 16-bit samples
    pcm = bytearray()
    with open_input(data, fmt) as source:
        try:
            stream = source.streams.audio[0]
        except IndexError:
            raise AudioError(f"no audio stream in {fmt}") from None
        resampler = av.AudioResampler(format="s16", layout="mono", rate=ASR_RATE)
        for frame in _batched(decoded_frames(source, stream)):
            for converted in resampler.resample(frame):
                pcm += converted.to_ndarray().tobytes()
            if len(pcm) > most:
                raise AudioTooLong(len(pcm) / (2 * ASR_RATE), max_seconds)
        with contextlib.suppress(av.error.FFmpegError, ValueError):
            for converted in resampler.resample(None):
                pcm += converted.to_ndarray().tobytes()
    if len(pcm) > most:
        raise AudioTooLong(len(pcm) / (2 * ASR_RATE), max_seconds)
    duration = len(pcm) / (2 * ASR_RATE)
    if duration < MIN_DECODED_SECONDS:
        raise AudioError("no audio in file")
    sniffed = sniff_format(data)
    return DecodedAudio(
        wav=to_wav(pcm), duration=duration, container=sniffed[0] if sniffed else None
    )


def decoded_frames(
    source: av.container.InputContainer, stream: av.AudioStream
) -> Iterator[av.AudioFrame]:
    """Decoded frames one at a time; a bad packet is skipped, a damaged end ends the audio."""
    packets = source.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except (av.error.FFmpegError, ValueError):
            return  # what follows cannot be read: keep what decoded
        try:
            yield from packet.decode()
        except (av.error.FFmpegError, ValueError):
            continue


def _batched(frames: Iterator[av.AudioFrame], seconds: float = 1.0) -> Iterator[av.AudioFrame]:
    """Decoded frames joined into ~`seconds` long ones: the resampler's cost is per call.

    20 ms Opus frames resampled one by one took 480 ms for a 60 s note, joined 190 ms.
    """
    batch: list[np.ndarray] = []
    shape = ("", "", 0)  # format, layout and rate of the frames in the batch
    count = 0
    for frame in frames:
        kind = (frame.format.name, frame.layout.name, frame.sample_rate)
        if batch and (kind != shape or count >= seconds * frame.sample_rate):
            yield _joined(batch, shape)
            batch, count = [], 0
        shape = kind
        batch.append(frame.to_ndarray())
        count += frame.samples
    if batch:
        yield _joined(batch, shape)


def _joined(arrays: list[np.ndarray], shape: tuple[str, str, int]) -> av.AudioFrame:
    fmt, layout, rate = shape
    # Planar formats are (channels, samples), packed ones (1, samples x channels): axis 1 both.
    frame = av.AudioFrame.from_ndarray(np.concatenate(arrays, axis=1), format=fmt, layout=layout)
    frame.sample_rate = rate
    return frame


def as_sent_seconds(data: bytes, *, limit: float = float("inf")) -> float | None:
    """Playing length of a whole OGG file as sent, from its packets, without decoding them.

    None when the file is not OGG or does not end in its final page (a truncated upload): such
    audio is decoded and sent on as WAV of what decodes. Summing the packets (Opus packets say
    their length in their first byte) rather than trusting a header, the length is what a
    decoder would play, so a note longer than it was declared is still caught.

    Raises:
        AudioTooLong: more than `limit` seconds (found as soon as the packets pass it).
        AudioError: the packets cannot be read, or they hold no audio.
    """
    if not data.startswith(b"OggS") or not _ends_with_last_ogg_page(data):
        return None
    seconds = packet_seconds(data, container="ogg", limit=limit)
    if seconds is None:
        raise AudioError("could not read ogg audio")
    if seconds < MIN_DECODED_SECONDS:
        raise AudioError("no audio in file")
    return seconds


def _ends_with_last_ogg_page(data: bytes) -> bool:
    """Whether the last OGG page is whole and marked end-of-stream (its header tells its size)."""
    start = data.rfind(b"OggS", max(0, len(data) - 65_307))  # the largest page there can be
    if start < 0 or start + 27 > len(data):
        return False
    header_type, segments = data[start + 5], data[start + 26]
    table = data[start + 27 : start + 27 + segments]
    return (
        len(table) == segments
        and start + 27 + segments + sum(table) == len(data)
        and bool(header_type & 0x04)
    )


def wav_duration(wav: bytes) -> float:
    """Length in seconds of a WAV file's audio."""
    try:
        with wave.open(io.BytesIO(wav), "rb") as reader:
            return reader.getnframes() / float(reader.getframerate())
    except (wave.Error, EOFError) as error:
        raise AudioError("not a WAV file") from error


def plain_wav_seconds(data: bytes) -> float | None:
    """Length of a 16 kHz mono 16-bit WAV (what ASR takes, no decoding needed); else None."""
    if not data.startswith(b"RIFF"):
        return None
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            params = reader.getparams()
    except (wave.Error, EOFError):
        return None
    if (params.framerate, params.nchannels, params.sampwidth) != (ASR_RATE, 1, 2):
        return None
    # The header's word or the bytes sent, whichever is longer: a header that understates its
    # samples must not pass more audio than the limit allows.
    return max(params.nframes, (len(data) - 44) // 2) / float(ASR_RATE)


def wav_to_float32(wav: bytes) -> np.ndarray:
    """Samples as float32 in [-1, 1] at 16 kHz mono for Whisper; other audio is converted."""
    try:
        with wave.open(io.BytesIO(wav), "rb") as reader:
            params = reader.getparams()
            frames = reader.readframes(params.nframes)
    except (wave.Error, EOFError):
        # Not plain PCM WAV (float, A-law, another container): let ffmpeg convert it.
        return wav_to_float32(decode_to_wav(wav).wav)
    if (params.framerate, params.nchannels, params.sampwidth) != (ASR_RATE, 1, 2):
        return wav_to_float32(decode_to_wav(wav, container="wav").wav)
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
