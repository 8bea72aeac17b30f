"""Audio conversion: whatever the user sends becomes 16 kHz mono WAV; speech, a voice bubble."""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from bot.audio import (
    DecodedAudio,
    as_sent_seconds,
    decode_to_wav,
    encode_voice_note,
    ffmpeg_binary,
    packet_seconds,
    wav_duration,
    wav_to_float32,
)
from bot.errors import AudioError, AudioTooLong
from tests.emulators.audio_tools import ogg_without_audio, opus_bomb

FIXTURES = Path(__file__).parents[1] / "fixtures"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
DECODABLE = [m for m in MANIFEST if m["duration"] is not None and (FIXTURES / m["file"]).is_file()]
EN_1_SECONDS = next(m["duration"] for m in MANIFEST if m["file"] == "en_1.ogg")
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def fixture(name: str) -> bytes:
    """A sample file from tests/fixtures."""
    return (FIXTURES / name).read_bytes()


def wav_params(wav: bytes) -> tuple[int, int, int]:
    """(sample rate, channels, sample width) of a WAV file."""
    with wave.open(io.BytesIO(wav)) as reader:
        return reader.getframerate(), reader.getnchannels(), reader.getsampwidth()


def transcode(source: bytes, fmt: str, codec: str, *, rate: int, video: bool = False) -> bytes:
    """Re-encode a sample with PyAV into another container, in stereo, maybe with a video track."""
    out = io.BytesIO()
    with av.open(io.BytesIO(source)) as inp, av.open(out, "w", format=fmt) as dst:
        audio = dst.add_stream(codec, rate=rate, layout="stereo")
        picture = dst.add_stream("libx264", rate=25) if video else None
        if picture is not None:  # a round video note: a small square picture beside the sound
            picture.width = picture.height = 64
            picture.pix_fmt = "yuv420p"
            for index in range(50):
                frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
                frame.pts = index
                dst.mux(picture.encode(frame))
            dst.mux(picture.encode(None))
        resampler = av.AudioResampler(format=audio.format.name, layout="stereo", rate=rate)
        for frame in inp.decode(audio=0):
            for converted in resampler.resample(frame):
                dst.mux(audio.encode(converted))
        dst.mux(audio.encode(None))
    return out.getvalue()


def decoded_voice(ogg: bytes) -> tuple[str, int, int, float]:
    """(codec, sample rate, channels, seconds) of an OGG file, read back with PyAV."""
    with av.open(io.BytesIO(ogg)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return stream.codec_context.name, stream.rate, stream.channels, samples / stream.rate


@pytest.mark.parametrize("entry", DECODABLE, ids=[m["file"] for m in DECODABLE])
def test_every_sample_decodes_to_16k_mono_wav_of_its_length(entry: dict[str, object]) -> None:
    decoded = decode_to_wav(fixture(str(entry["file"])))
    assert wav_params(decoded.wav) == (16_000, 1, 2)
    assert decoded.duration == pytest.approx(entry["duration"], abs=0.05)
    assert wav_duration(decoded.wav) == pytest.approx(decoded.duration)


CONTAINERS = [
    pytest.param("mp3", "libmp3lame", 44_100, False, id="mp3 audio file"),
    pytest.param("ipod", "aac", 44_100, False, id="m4a audio file"),
    pytest.param("mp4", "aac", 48_000, True, id="mp4 round video note"),
    pytest.param("wav", "pcm_s16le", 44_100, False, id="wav audio file"),
    pytest.param("wav", "pcm_f32le", 22_050, False, id="float wav audio file"),
    pytest.param("flac", "flac", 48_000, False, id="flac audio file"),
    pytest.param("webm", "libopus", 48_000, False, id="webm opus"),
    pytest.param("adts", "aac", 44_100, False, id="raw aac"),
]


@pytest.mark.parametrize(("fmt", "codec", "rate", "video"), CONTAINERS)
def test_other_containers_decode_without_ffprobe(
    fmt: str, codec: str, rate: int, video: bool
) -> None:
    data = transcode(fixture("en_1.ogg"), fmt, codec, rate=rate, video=video)
    decoded = decode_to_wav(data)
    assert wav_params(decoded.wav) == (16_000, 1, 2)
    assert decoded.duration == pytest.approx(EN_1_SECONDS, abs=0.1)


def test_truncated_ogg_decodes_its_first_seconds() -> None:
    whole = decode_to_wav(fixture("en_2.ogg"))
    truncated = decode_to_wav(fixture("corrupt_truncated.ogg"))
    assert 1.0 < truncated.duration < whole.duration


@pytest.mark.parametrize(
    ("data", "container"),
    [
        pytest.param(fixture("empty.ogg"), "ogg", id="zero-byte voice note"),
        pytest.param(
            bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8)),
            None,
            id="random bytes",
        ),
        pytest.param(
            bytes(np.random.default_rng(1).integers(0, 256, 4096, np.uint8)),
            "ogg",
            id="random bytes called ogg",
        ),
        pytest.param(PNG + bytes(200), None, id="a PNG picture"),
        pytest.param(b"Just some text, not a voice note.\n" * 20, "mp3", id="a text file"),
        pytest.param(fixture("en_1.ogg")[:200], "ogg", id="an ogg with headers only"),
    ],
)
def test_undecodable_input_raises_audio_error(data: bytes, container: str | None) -> None:
    with pytest.raises(AudioError):
        decode_to_wav(data, container=container)


def test_the_ffmpeg_in_use_is_a_real_binary() -> None:
    assert Path(ffmpeg_binary()).is_file()


def test_wav_to_float32_resamples_wav_of_other_rates() -> None:
    wav44 = transcode(fixture("en_1.ogg"), "wav", "pcm_s16le", rate=44_100)
    samples = wav_to_float32(wav44)
    assert len(samples) / 16_000 == pytest.approx(EN_1_SECONDS, abs=0.1)
    assert samples.dtype == np.float32 and 0 < np.abs(samples).max() <= 1.0


def speech_clips() -> tuple[list[tuple[bytes, str]], float]:
    """A WAV, an OGG and an MP3 clip, as a TTS backend would return them, and their total length."""
    wav: DecodedAudio = decode_to_wav(fixture("en_1.ogg"))
    mp3 = transcode(fixture("de_1.ogg"), "mp3", "libmp3lame", rate=24_000)
    clips = [(wav.wav, "wav"), (fixture("ru_1.ogg"), "ogg"), (mp3, "mp3")]
    total = sum(decode_to_wav(data).duration for data, _ in clips)
    return clips, total


def test_voice_note_is_ogg_opus_mono_48k_as_long_as_its_clips() -> None:
    clips, total = speech_clips()
    note = encode_voice_note(clips, max_seconds=300)
    assert note.ogg.startswith(b"OggS") and b"OpusHead" in note.ogg
    codec, rate, channels, seconds = decoded_voice(note.ogg)
    assert (codec, rate, channels) == ("opus", 48_000, 1)
    assert note.duration == pytest.approx(total + 2 * 0.15, abs=0.1)
    assert seconds == pytest.approx(note.duration, abs=0.05)


def test_voice_note_is_cut_at_max_seconds() -> None:
    clips, _ = speech_clips()
    note = encode_voice_note(clips, max_seconds=7.5)
    assert note.duration == pytest.approx(7.5, abs=0.01)
    assert decoded_voice(note.ogg)[3] == pytest.approx(7.5, abs=0.05)


@pytest.mark.parametrize(
    "clips",
    [pytest.param([], id="no clips"), pytest.param([(b"", "wav")], id="an empty clip")],
)
def test_voice_note_without_speech_raises_audio_error(clips: list[tuple[bytes, str]]) -> None:
    with pytest.raises(AudioError):
        encode_voice_note(clips, max_seconds=60)


def opus_payloads(ogg: bytes) -> list[bytes]:
    """The Opus packets of an OGG file, as bytes."""
    with av.open(io.BytesIO(ogg)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def test_opus_clips_are_joined_packet_by_packet_without_reencoding() -> None:
    first, second = fixture("ru_1.ogg"), fixture("en_1.ogg")
    note = encode_voice_note([(first, "ogg"), (second, "ogg")], max_seconds=60)
    packets = opus_payloads(note.ogg)
    ours = opus_payloads(first) + opus_payloads(second)
    assert [p for p in packets if p in set(ours)] == ours, "every packet as sent, in order"
    pause = (len(packets) - len(ours)) * 0.020  # 20 ms packets
    assert 0.15 <= pause <= 0.2, "a pause of about 150 ms between them"
    codec, rate, channels, seconds = decoded_voice(note.ogg)
    assert (codec, rate, channels) == ("opus", 48_000, 1)
    expected = decoded_voice(first)[3] + decoded_voice(second)[3] + pause
    assert note.duration == pytest.approx(expected, abs=0.03)
    assert seconds == pytest.approx(note.duration, abs=0.05)


def test_opus_clips_past_the_limit_are_cut_with_a_fade() -> None:
    clips = [(fixture("ru_1.ogg"), "ogg"), (fixture("en_1.ogg"), "ogg")]
    note = encode_voice_note(clips, max_seconds=7.5)
    assert note.duration == pytest.approx(7.5, abs=0.01)
    assert decoded_voice(note.ogg)[3] == pytest.approx(7.5, abs=0.05)


@pytest.mark.parametrize("name", ["en_1.ogg", "zh_2.ogg", "en_long_60s.ogg", "silence_5s.ogg"])
def test_a_whole_ogg_note_is_measured_from_its_packets_without_decoding(name: str) -> None:
    seconds = as_sent_seconds(fixture(name))
    assert seconds == pytest.approx(decode_to_wav(fixture(name)).duration, abs=0.02)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(fixture("corrupt_truncated.ogg"), id="a truncated ogg"),
        pytest.param(decode_to_wav(fixture("en_1.ogg")).wav, id="wav"),
        pytest.param(b"", id="nothing"),
    ],
)
def test_audio_that_is_not_a_whole_ogg_is_left_to_the_decoder(data: bytes) -> None:
    assert as_sent_seconds(data) is None


def test_a_whole_ogg_holding_no_audio_is_refused_without_decoding() -> None:
    with pytest.raises(AudioError):
        as_sent_seconds(ogg_without_audio(fixture("en_1.ogg")))


@pytest.mark.parametrize(("fmt", "codec", "rate", "video"), CONTAINERS)
def test_the_length_of_every_container_is_read_from_its_packets_without_decoding(
    fmt: str, codec: str, rate: int, video: bool
) -> None:
    data = transcode(fixture("en_1.ogg"), fmt, codec, rate=rate, video=video)
    assert packet_seconds(data, limit=300) == pytest.approx(EN_1_SECONDS, abs=0.1)


@pytest.mark.parametrize("name", ["en_1.ogg", "corrupt_truncated.ogg"], ids=["whole", "cut short"])
def test_the_length_of_an_ogg_whole_or_cut_is_what_decodes(name: str) -> None:
    seconds = packet_seconds(fixture(name), limit=300)
    assert seconds == pytest.approx(decode_to_wav(fixture(name)).duration, abs=0.05)


@pytest.mark.parametrize(
    "bomb",
    [
        pytest.param(opus_bomb("ogg", 7200)[:-1], id="two hours of ogg, the last byte cut"),
        pytest.param(opus_bomb("webm", 7200), id="two hours of webm"),
    ],
)
def test_two_hours_in_a_few_hundred_kilobytes_are_refused_from_the_packets(bomb: bytes) -> None:
    with pytest.raises(AudioTooLong) as refused:
        packet_seconds(bomb, limit=300)
    assert refused.value.seconds > 7000, "the refusal names the file's own length"


@pytest.mark.parametrize(
    "bomb",
    [
        pytest.param(opus_bomb("ogg", 7200)[:-1], id="two hours of ogg, the last byte cut"),
        pytest.param(opus_bomb("webm", 7200, understate=True), id="webm understating itself"),
    ],
)
def test_decoding_stops_at_the_limit_whatever_the_packets_claimed(bomb: bytes) -> None:
    with pytest.raises(AudioTooLong) as refused:
        decode_to_wav(bomb, max_seconds=300)
    assert refused.value.seconds == pytest.approx(300, abs=1)
