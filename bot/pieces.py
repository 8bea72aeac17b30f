"""A long recording decoded piece by piece, each piece cut at a pause (blocking; run in threads).

The decoder never holds much more than one piece of 16 kHz samples: frames are decoded one at
a time into a buffer, and as soon as the buffer holds a full piece the cut is chosen
(bot.core.pauses), the piece leaves as WAV and only the rest stays. A two-hour recording is
thus worked on in pieces of a few minutes, never whole.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from dataclasses import dataclass

import av
import numpy as np

from bot.audio_in import (
    ASR_RATE,
    MIN_DECODED_SECONDS,
    decoded_frames,
    guess_format,
    open_input,
    to_wav,
)
from bot.core.pauses import FRAME_SECONDS, choose_cut
from bot.errors import AudioError, AudioTooLong

_FRAME = round(ASR_RATE * FRAME_SECONDS)  # samples per loudness frame
_FRAME_BYTES = 2 * _FRAME
# A piece is at least this share of the longest one: few pieces, each cut in a long pause.
MIN_PIECE_SHARE = 0.5


@dataclass(frozen=True)
class Piece:
    """One piece of a recording, as 16 kHz mono WAV.

    Args:
        index: its place in the recording, from 0.
        start: seconds into the recording where it starts.
        seconds: its length.
        overlaps: whether it starts with audio the piece before it ended with.
    """

    index: int
    start: float
    seconds: float
    wav: bytes
    overlaps: bool = False


def levels_db(pcm: bytes | bytearray) -> list[float]:
    """Loudness of each 20 ms frame of 16-bit mono samples, in dBFS (-100 for digital silence)."""
    whole = len(pcm) // _FRAME_BYTES * _FRAME
    samples = np.frombuffer(pcm, dtype="<i2", count=whole).astype(np.float32) / 32768.0
    power = np.mean(samples.reshape(-1, _FRAME) ** 2, axis=1)
    return [float(v) for v in 10 * np.log10(np.maximum(power, 1e-10))]


def decode_pieces(
    data: bytes, *, piece_seconds: float, max_seconds: float, container: str | None = None
) -> Generator[Piece, None, None]:
    """The recording's pieces in order, each at most `piece_seconds` long, cut at pauses.

    Raises:
        AudioTooLong: the audio decodes to more than `max_seconds` (found as soon as it does).
        AudioError: not audio, or nothing decodable in it.
    """
    fmt, _codec = guess_format(data, container)
    piece_bytes = round(piece_seconds / FRAME_SECONDS) * _FRAME_BYTES
    most = max_seconds * ASR_RATE * 2
    buffer, decoded, start, index = bytearray(), 0, 0, 0
    overlaps = False
    with open_input(data, fmt) as source:
        try:
            stream = source.streams.audio[0]
        except IndexError:
            raise AudioError(f"no audio stream in {fmt}") from None
        resampler = av.AudioResampler(format="s16", layout="mono", rate=ASR_RATE)
        for frame in decoded_frames(source, stream):
            for converted in resampler.resample(frame):
                chunk = converted.to_ndarray().tobytes()
                buffer += chunk
                decoded += len(chunk)
            if decoded > most:
                raise AudioTooLong(decoded / (2 * ASR_RATE), max_seconds)
            while len(buffer) >= piece_bytes:
                piece, kept, next_overlaps = _cut(buffer, piece_bytes, index, start, overlaps)
                yield piece
                start, index, overlaps = start + len(buffer) - kept, index + 1, next_overlaps
                del buffer[: len(buffer) - kept]
        with contextlib.suppress(av.error.FFmpegError, ValueError):
            for converted in resampler.resample(None):
                buffer += converted.to_ndarray().tobytes()
    if decoded / (2 * ASR_RATE) < MIN_DECODED_SECONDS:
        raise AudioError("no audio in file")
    if len(buffer) >= MIN_DECODED_SECONDS * ASR_RATE * 2 or index == 0:
        yield _piece(index, start, buffer, overlaps)


def _cut(
    buffer: bytearray, piece_bytes: int, index: int, start: int, overlaps: bool
) -> tuple[Piece, int, bool]:
    """The next piece from the buffer's start, the bytes it leaves, and whether they overlap it."""
    window = buffer[:piece_bytes]
    frames = len(window) // _FRAME_BYTES
    cut = choose_cut(levels_db(window), min_frames=int(frames * MIN_PIECE_SHARE))
    piece = _piece(index, start, window[: cut.end * _FRAME_BYTES], overlaps)
    return piece, len(buffer) - cut.resume * _FRAME_BYTES, cut.overlaps


def _piece(index: int, start: int, pcm: bytes | bytearray, overlaps: bool) -> Piece:
    return Piece(
        index=index,
        start=start / (2 * ASR_RATE),
        seconds=len(pcm) / (2 * ASR_RATE),
        wav=to_wav(bytes(pcm)),
        overlaps=overlaps,
    )


__all__ = ["Piece", "decode_pieces", "levels_db"]
