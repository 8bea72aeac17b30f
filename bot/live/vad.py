"""Where an utterance starts and ends in a stream of 16 kHz PCM: webrtcvad, frame by frame."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import webrtcvad

RATE = 16_000
FRAME_MS = 30
FRAME_BYTES = RATE * FRAME_MS // 1000 * 2  # 16-bit mono
# Speech starts when most of the last few frames are voiced (a click or a cough is not speech).
START_WINDOW_FRAMES = 8  # 240 ms
START_VOICED_FRAMES = 6
AGGRESSIVENESS = 2  # webrtcvad's 0-3: 2 keeps breath and room noise out, quiet speech in


@dataclass(frozen=True)
class SpeechStarted:
    """The user started speaking (a barge-in while the bot speaks)."""


@dataclass(frozen=True)
class UtteranceEnded:
    """An utterance ended after enough silence: its PCM, from a little before it started."""

    pcm: bytes

    @property
    def seconds(self) -> float:
        """Its length."""
        return len(self.pcm) / (2 * RATE)


VadEvent = SpeechStarted | UtteranceEnded


class UtteranceDetector:
    """Feed PCM as it arrives; get SpeechStarted and UtteranceEnded events back."""

    def __init__(self, *, silence_ms: int, max_seconds: float = 60.0) -> None:
        """An utterance ends after `silence_ms` of silence, or at `max_seconds` at the latest."""
        self._vad = webrtcvad.Vad(AGGRESSIVENESS)
        self._silence_frames = max(1, silence_ms // FRAME_MS)
        self._max_frames = int(max_seconds * 1000 / FRAME_MS)
        self._pending = b""
        self._window: deque[tuple[bytes, bool]] = deque(maxlen=START_WINDOW_FRAMES)
        self._speech: list[bytes] | None = None  # frames of the utterance under way
        self._silent_run = 0

    @property
    def speaking(self) -> bool:
        """Whether an utterance is under way."""
        return self._speech is not None

    def feed(self, pcm: bytes) -> list[VadEvent]:
        """Events found in `pcm` (any length; a partial frame waits for the next call)."""
        data = self._pending + pcm
        whole = len(data) - len(data) % FRAME_BYTES
        self._pending = data[whole:]
        events: list[VadEvent] = []
        for start in range(0, whole, FRAME_BYTES):
            event = self._frame(data[start : start + FRAME_BYTES])
            if event is not None:
                events.append(event)
        return events

    def _frame(self, frame: bytes) -> VadEvent | None:
        voiced = self._vad.is_speech(frame, RATE)
        if self._speech is None:
            self._window.append((frame, voiced))
            if sum(v for _, v in self._window) < START_VOICED_FRAMES:
                return None
            self._speech = [f for f, _ in self._window]  # the start of the first word too
            self._window.clear()
            self._silent_run = 0
            return SpeechStarted()
        self._speech.append(frame)
        self._silent_run = 0 if voiced else self._silent_run + 1
        if self._silent_run >= self._silence_frames or len(self._speech) >= self._max_frames:
            pcm = b"".join(self._speech)
            self._speech = None
            return UtteranceEnded(pcm)
        return None


__all__ = ["FRAME_BYTES", "RATE", "SpeechStarted", "UtteranceDetector", "UtteranceEnded"]
