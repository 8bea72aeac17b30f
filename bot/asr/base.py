"""The speech-to-text stage: one small interface that every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from bot.backends import Pluggable
from bot.core.language import LanguageCode


@dataclass(frozen=True)
class Transcript:
    """What a backend heard.

    Args:
        text: the recognised text, stripped; empty when no speech was heard.
        language: ISO 639-1 code the backend detected or was given ("en", "zh", ...), or None;
            each backend normalises what its model reports (`LanguageCode.base_of`).
        language_probability: the backend's confidence in `language` (1.0 when it was forced).
        duration: seconds of audio.
        billed_seconds: the seconds a remote service said it charged, when it said so.
    """

    text: str
    language: LanguageCode | None
    language_probability: float
    duration: float
    billed_seconds: float | None = None


@dataclass(frozen=True)
class LanguageGuess:
    """The spoken language a backend identified before transcribing, and its confidence."""

    language: LanguageCode
    probability: float


class Transcriber(Pluggable, ABC):
    """Turns audio (16 kHz mono WAV, or a container it `accepts` as sent) into a Transcript.

    A backend declares `name`, `needs` and `offline` (see bot.backends.Pluggable).
    """

    name: str = "transcriber"
    # Containers (bot.audio_in.sniff_format names) the backend takes as they were sent. A remote
    # API spares the upload: Telegram's OGG/Opus is about 8 times smaller than 16 kHz WAV.
    accepts: frozenset[str] = frozenset({"wav"})
    # Whether `identify` tells the spoken language apart from transcribing (a local Whisper).
    identifies: bool = False
    # A long recording is cut at pauses into pieces of at most this many seconds: a remote API
    # takes 25 MB (a few minutes of 16 kHz WAV); a local Whisper hears 30 s at a time.
    piece_seconds: float = 180.0
    # Pieces of one recording transcribed at once: a remote API's requests side by side; a
    # local backend sets its worker count.
    parallel: int = 4

    @abstractmethod
    async def transcribe(
        self,
        audio: bytes,
        *,
        language: str | None = None,
        container: str = "wav",
        retry_unheard: bool = True,
    ) -> Transcript:
        """Recognise speech; `language` forces the language instead of detecting it.

        `retry_unheard`: where a backend tests each window for speech (a local Whisper), voiced
        audio that nothing was heard in is decoded once more in the forced `language` without
        that test. False when the language is only a guess: its silence says the guess is wrong.
        """

    async def transcribe_growing(
        self,
        audio: bytes,
        *,
        on_text: Callable[[str], None] | None,
        language: str | None = None,
        container: str = "wav",
        retry_unheard: bool = True,
    ) -> Transcript:
        """Like `transcribe`, telling `on_text` the transcript so far while it grows.

        Only a backend whose service streams its transcript overrides it; the others tell
        nothing before the end.
        """
        return await self.transcribe(
            audio, language=language, container=container, retry_unheard=retry_unheard
        )

    async def identify(self, audio: bytes, *, container: str = "wav") -> LanguageGuess | None:
        """The spoken language, when the backend can tell it apart from transcribing.

        A local Whisper can (one encoder pass), so the bot chooses the language first and
        decodes once with it; None (remote APIs) means the transcript's own language is used.
        """
        return None

    async def load(self) -> None:
        """Load a local model before the first voice note; remote backends have none."""

    async def aclose(self) -> None:
        """Release resources; most backends hold none."""
