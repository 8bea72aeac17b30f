"""What flows out of the assistant: a closed set of small frozen values, rendered by the shells."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.tts.base import Speech


@dataclass(frozen=True)
class Heard:
    """What the bot understood from a voice note, and shows to the user who sent it.

    A backend's single recognition pass is a `bot.asr.base.Transcript`; a Heard is the outcome
    of one voice note (possibly two passes), with the language chosen for the answer.

    Args:
        text: the transcript, stripped; empty when no speech was heard.
        language: the language the answer will use.
        language_source: where that language came from ("speech", "text", "pinned", ...).
        audio_seconds: the decoded length, which is what the ledger charges.
        from_cache: whether it came from the transcript cache (or another user's job).
    """

    text: str
    language: str
    language_source: str = "speech"
    audio_seconds: float = 0.0
    from_cache: bool = False


@dataclass(frozen=True)
class Transcribing:
    """How far a long recording's transcription is: seconds heard out of (about) all."""

    done: float
    total: float

    @property
    def percent(self) -> int:
        """Whole percent done, 0 to 100."""
        return min(100, int(100 * self.done / self.total)) if self.total > 0 else 0


@dataclass(frozen=True)
class Recording:
    """A long recording's whole transcript, sent beside its summary (as a file when long).

    Args:
        text: the transcript.
        language: the recording's language.
        seconds: its length.
    """

    text: str
    language: str
    seconds: float


@dataclass(frozen=True)
class Hearing:
    """The transcript so far, while a streaming recogniser is still writing it.

    Shown in place of the draft and replaced by Heard; its language is not known yet.
    """

    text: str


@dataclass(frozen=True)
class AnswerDelta:
    """The answer so far, while the model is still writing it."""

    text: str


@dataclass(frozen=True)
class Answered:
    """The complete answer, with the user's own values restored.

    Args:
        listen: when no voice note follows, the token that speaks it on demand ("🔊").
    """

    text: str
    language: str
    from_cache: bool = False
    listen: str | None = None


@dataclass(frozen=True)
class Spoken:
    """The answer as a voice note: OGG/Opus bytes and its duration in seconds."""

    ogg: bytes
    duration: float


@dataclass(frozen=True)
class Speaking:
    """A live answer's speech: each sentence as soon as it is synthesised, in order.

    It comes before the answer streams; the parts end once the whole answer is spoken.
    """

    parts: AsyncIterator[Speech]


@dataclass(frozen=True)
class Notice:
    """A short note beside the answer (for example: voice unavailable, text only)."""

    key: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Refused:
    """An expected outcome that ends the turn with a message instead of an answer."""

    key: str
    params: dict[str, object] = field(default_factory=dict)


AssistantEvent = (
    Hearing
    | Heard
    | Transcribing
    | Recording
    | AnswerDelta
    | Answered
    | Speaking
    | Spoken
    | Notice
    | Refused
)
