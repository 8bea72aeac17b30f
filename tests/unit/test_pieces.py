"""A long recording decoded piece by piece: cut in its pauses, nothing lost, nothing twice."""

from __future__ import annotations

import io
import itertools

import av
import numpy as np
import pytest

from bot.errors import AudioTooLong
from bot.pieces import decode_pieces
from tests.conftest import sample
from tests.emulators.recordings import blocks_in, build_recording, recording_seconds


def tone_ogg(seconds: float) -> bytes:
    """A steady tone with no pause at all, as OGG/Opus."""
    rate = 48_000
    t = np.arange(int(seconds * rate)) / rate
    samples = (np.sin(2 * np.pi * 300 * t) * 0.4 * 32767).astype(np.int16)
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def test_pieces_are_cut_in_pauses_and_hold_every_block_once_in_order() -> None:
    recording = build_recording([sample("en_1.ogg"), sample("de_1.ogg")] * 6, block_seconds=15)
    pieces = list(decode_pieces(recording, piece_seconds=40, max_seconds=600))
    assert [p.index for p in pieces] == list(range(len(pieces))) and len(pieces) >= 180 / 40
    assert all(p.seconds <= 40 and not p.overlaps for p in pieces)
    assert [b for p in pieces for b in blocks_in(p.wav)] == list(range(12))
    assert all(a.start + a.seconds == pytest.approx(b.start) for a, b in itertools.pairwise(pieces))
    assert sum(p.seconds for p in pieces) == pytest.approx(recording_seconds(recording), abs=0.05)


def test_audio_without_a_pause_is_cut_with_a_second_of_overlap() -> None:
    pieces = list(decode_pieces(tone_ogg(25), piece_seconds=10, max_seconds=600))
    assert len(pieces) == 3
    assert [p.overlaps for p in pieces] == [False, True, True]
    for before, after in itertools.pairwise(pieces):
        assert before.start + before.seconds - after.start == pytest.approx(1.0)


def test_a_recording_longer_than_allowed_is_refused_while_decoding() -> None:
    with pytest.raises(AudioTooLong):
        list(decode_pieces(tone_ogg(25), piece_seconds=10, max_seconds=20))
