"""Long test recordings made of real voice samples and silences, and reading them back.

Each block of a recording starts with a short marker tone whose pitch names the block
(400 Hz + 40 Hz × its number), then a real voice sample, then silence. The recording is built
from Opus packets copied as they are (the samples' own, and tone and silence packets encoded
once), so 40 minutes take a fraction of a second to build and about 3 MB.

The emulated recogniser hears the markers in whatever audio the bot sends it (`blocks_in`):
that is how a test knows which blocks a piece held, without the bot being told anything.
"""

from __future__ import annotations

import fractions
import functools
import io
import wave
from collections.abc import Sequence

import av
import numpy as np

RATE = 48_000
FRAME = 960  # 20 ms
MARKER_SECONDS = 0.4
BASE_HZ, STEP_HZ = 400.0, 40.0


def marker_hz(block: int) -> float:
    """The marker tone's pitch for a block."""
    return BASE_HZ + STEP_HZ * block


def _encode(samples: np.ndarray, frame: int = FRAME) -> list[tuple[bytes, int]]:
    """48 kHz mono samples as Opus packets (bytes, duration) of `frame` samples each."""
    padded = np.pad(samples.astype(np.int16), (0, -len(samples) % frame))
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        options = {"frame_duration": str(1000 * frame // RATE)}
        stream = container.add_stream("libopus", rate=RATE, layout="mono", options=options)
        stream.bit_rate = 16_000
        for start in range(0, len(padded), frame):
            chunk = padded[start : start + frame].reshape(1, -1)
            audio = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
            audio.sample_rate, audio.pts = RATE, start
            container.mux(stream.encode(audio))
        container.mux(stream.encode(None))
    return _packets(out.getvalue())


def _packets(ogg: bytes) -> list[tuple[bytes, int]]:
    with av.open(io.BytesIO(ogg)) as source:
        stream = source.streams.audio[0]
        return [(bytes(p), p.duration or FRAME) for p in source.demux(stream) if p.size]


@functools.cache
def _silence_packet(frame: int = 3 * FRAME) -> tuple[bytes, int]:
    """One steady packet of digital silence (60 ms: fewer packets for the bot to decode)."""
    packets = _encode(np.zeros(RATE, np.int16), frame)
    return packets[len(packets) // 2]


@functools.cache
def _marker(block: int) -> tuple[tuple[bytes, int], ...]:
    t = np.arange(int(MARKER_SECONDS * RATE)) / RATE
    return tuple(_encode(np.sin(2 * np.pi * marker_hz(block) * t) * 0.5 * 32767))


def build_recording(samples: Sequence[bytes], *, block_seconds: float) -> bytes:
    """OGG/Opus: for each sample, its marker, a short pause, the sample, silence to fill the block.

    Args:
        samples: OGG/Opus mono 48 kHz voice samples, one per block.
        block_seconds: each block's length (longer than any sample plus 1 s).
    """
    silence = _silence_packet()
    packets: list[tuple[bytes, int]] = []
    for block, sample in enumerate(samples):
        body = [*_marker(block), *[silence] * 5, *_packets(sample)]
        used = sum(duration for _, duration in body)
        fill = round((block_seconds * RATE - used) / silence[1])
        assert fill > 0, "a block must be longer than its sample"
        packets += [*body, *[silence] * fill]
    out = io.BytesIO()
    time_base = fractions.Fraction(1, RATE)
    # The first sample's header (mono, 48 kHz, its pre-skip) describes the whole stream.
    with (
        av.open(out, "w", format="ogg", options={"page_duration": "1000000"}) as muxer,
        av.open(io.BytesIO(samples[0])) as template,
    ):
        stream = muxer.add_stream_from_template(template.streams.audio[0])
        pts = 0
        for payload, duration in packets:
            packet = av.Packet(payload)
            packet.stream, packet.time_base = stream, time_base
            packet.pts = packet.dts = pts
            packet.duration = duration
            pts += duration
            muxer.mux(packet)
    return out.getvalue()


def blocks_in(wav: bytes) -> list[int]:
    """The blocks whose marker tone this 16 kHz mono WAV holds, in order of appearance."""
    with wave.open(io.BytesIO(wav)) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), "<i2") / 32768.0
    frame = rate // 50
    whole = len(samples) // frame * frame
    power = np.mean(samples[:whole].reshape(-1, frame) ** 2, axis=1)
    loud = 10 * np.log10(np.maximum(power, 1e-10)) > -40
    found, start = [], None
    for index, is_loud in enumerate([*loud, False]):
        if is_loud and start is None:
            start = index
        elif not is_loud and start is not None:
            block = _marker_block(samples[start * frame : index * frame], rate)
            if block is not None:
                found.append(block)
            start = None
    return found


def _marker_block(region: np.ndarray, rate: int) -> int | None:
    """The block a loud region's marker names; None when the region is not a marker tone."""
    if not 0.3 <= len(region) / rate <= 0.5:
        return None
    spectrum = np.abs(np.fft.rfft(region * np.hanning(len(region)))) ** 2
    peak = int(np.argmax(spectrum))
    share = spectrum[max(0, peak - 3) : peak + 4].sum() / spectrum.sum()
    hz = peak * rate / len(region)
    block = round((hz - BASE_HZ) / STEP_HZ)
    if share < 0.8 or block < 0 or abs(hz - marker_hz(block)) > STEP_HZ / 4:
        return None
    return block


def recording_seconds(ogg: bytes) -> float:
    """A recording's length as its packets play it (what a decoder gives, padding included)."""
    return sum(duration for _, duration in _packets(ogg)) / RATE
