"""The text-to-speech stage: one small interface that every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from bot.backends import Pluggable
from bot.core.language import LanguageCode
from bot.core.quota import SpeechTokens


@dataclass(frozen=True)
class Speech:
    """Synthesised audio in a container the backend chose.

    Args:
        audio: encoded bytes (WAV, MP3 or OGG/Opus).
        format: "wav", "mp3" or "ogg" so the encoder knows what it is decoding.
        backend: the name of the backend that spoke it.
        tokens: what a model billed by the token reported for it (None: not billed so, or
            taken from the cache).
        speed: the speed it was spoken at: the style's where the backend has a speed of its
            own, else 1.0 (bot.speech then changes the tempo).
    """

    audio: bytes
    format: str
    backend: str
    tokens: SpeechTokens | None = None
    speed: float = 1.0


@dataclass(frozen=True)
class SpeechStyle:
    """How one user wants to be spoken to.

    Args:
        voice: one of the backend's `voices`; None (or a voice it does not have) is its default.
        speed: 1.0 is the backend's normal pace; 1.25 is a quarter faster.
    """

    voice: str | None = None
    speed: float = 1.0


DEFAULT_STYLE = SpeechStyle()


def base_language(language: str) -> str:
    """The lower-case primary subtag: "en-US" → "en", "ZH" → "zh"."""
    return LanguageCode.base_of(language) or ""


class Synthesizer(Pluggable, ABC):
    """Speaks text in a language.

    A backend declares `name`, `needs` and `offline` (see bot.backends.Pluggable), the
    ISO 639-1 `languages` it has voices for (None: whatever language the text is written in),
    the `voices` a user may choose from (the first is its default; none: one voice), whether
    it has a `native_speed` (else the tempo is changed after synthesis), and the `errors` of
    its own library that mean "the service failed" beyond ServiceError,
    OSError and subprocess errors (FallbackSynthesizer then tries the next backend).
    """

    name: str = "synthesizer"
    languages: ClassVar[frozenset[str] | None] = None
    voices: tuple[str, ...] = ()
    native_speed: bool = False
    errors: ClassVar[tuple[type[Exception], ...]] = ()

    def can_speak(self, language: str) -> bool:
        """Whether this backend has a voice for the ISO 639-1 `language`."""
        return self.languages is None or base_language(language) in self.languages

    def voice_of(self, style: SpeechStyle) -> str | None:
        """The voice to speak `style` with: the chosen one when this backend has it."""
        if style.voice in self.voices:
            return style.voice
        return self.voices[0] if self.voices else None

    @abstractmethod
    async def synthesize(
        self, text: str, *, language: str, style: SpeechStyle = DEFAULT_STYLE
    ) -> Speech:
        """Speak `text` in `language` with `style`; raise on failure."""

    def warm_up(self) -> None:
        """Load what the first sentence would load (blocking: called in a worker thread)."""

    async def aclose(self) -> None:
        """Release resources; most backends hold none."""
