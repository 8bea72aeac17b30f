"""Utterances in a stream of 16 kHz PCM: where speech starts and where it ends."""

from __future__ import annotations

import pytest

from bot.live.session import Pace
from bot.live.vad import SpeechStarted, UtteranceDetector, UtteranceEnded
from tests.live import pcm_of


def events_of(pcm: bytes, silence_ms: int = 700, chunk: int = 640) -> list[object]:
    detector = UtteranceDetector(silence_ms=silence_ms)
    return [e for i in range(0, len(pcm), chunk) for e in detector.feed(pcm[i : i + chunk])]


@pytest.mark.parametrize("sample", ["en_1.ogg", "ru_1.ogg", "zh_1.ogg"])
def test_a_spoken_sentence_and_a_pause_make_one_utterance(sample: str) -> None:
    pcm = pcm_of(sample)
    events = events_of(pcm)
    assert [type(e) for e in events] == [SpeechStarted, UtteranceEnded]
    ended = events[1]
    assert isinstance(ended, UtteranceEnded)
    assert 0.6 * len(pcm) / 32000 < ended.seconds <= len(pcm) / 32000


def test_without_the_pause_the_utterance_has_not_ended() -> None:
    assert [type(e) for e in events_of(pcm_of("en_1.ogg", silence_after=0.3))] == [SpeechStarted]


def test_silence_is_no_utterance() -> None:
    assert events_of(b"\0" * 32000 * 3) == []


def test_frames_of_any_size_give_the_same_events() -> None:
    pcm = pcm_of("de_1.ogg")
    assert [type(e) for e in events_of(pcm, chunk=333 * 2)] == [SpeechStarted, UtteranceEnded]


def test_audio_at_real_time_passes_the_pace_and_faster_does_not() -> None:
    now = [0.0]
    pace = Pace(clock=lambda: now[0])
    for _ in range(100):  # ten seconds, a tenth at a time, on time
        assert pace.admit(0.1)
        now[0] += 0.1
    assert pace.admit(2.0), "a burst of two seconds catches up"
    assert not pace.admit(0.5)
