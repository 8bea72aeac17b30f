"""The text-to-speech stage: one small interface that every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class Speech:
    """Synthesised audio in a container the backend chose.

    Args:
        audio: encoded bytes (WAV, MP3 or OGG/Opus).
        format: "wav", "mp3" or "ogg" so the encoder knows what it is decoding.
        backend: the name of the backend that spoke it.
    """

    audio: bytes
    format: str
    backend: str


class Synthesizer(ABC):
    """Speaks text in a language."""

    name: str = "synthesizer"

    @abstractmethod
    def can_speak(self, language: str) -> bool:
        """Whether this backend has a voice for the ISO 639-1 `language`."""

    @abstractmethod
    async def synthesize(self, text: str, *, language: str) -> Speech:
        """Speak `text` in `language`; raise on failure."""

    async def aclose(self) -> None:  # noqa: B027 - most backends hold nothing
        """Release resources; most backends hold none."""
