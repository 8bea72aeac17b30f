"""The speech-to-text stage: one small interface that every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class Transcript:
    """What a backend heard.

    Args:
        text: the recognised text, stripped; empty when no speech was heard.
        language: ISO 639-1 code the backend detected or was given ("en", "zh", ...), or None.
        language_probability: the backend's confidence in `language` (1.0 when it was forced).
        duration: seconds of audio.
    """

    text: str
    language: str | None
    language_probability: float
    duration: float


class Transcriber(ABC):
    """Turns 16 kHz mono WAV bytes into a Transcript."""

    name: str = "transcriber"
    offline: bool = False

    @abstractmethod
    async def transcribe(self, wav: bytes, *, language: str | None = None) -> Transcript:
        """Recognise speech; `language` forces the language instead of detecting it."""

    async def load(self) -> None:  # noqa: B027 - a default, not a forgotten abstract method
        """Load a local model before the first voice note; remote backends have none."""

    async def aclose(self) -> None:  # noqa: B027 - most backends hold nothing
        """Release resources; most backends hold none."""
