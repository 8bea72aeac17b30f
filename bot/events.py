"""What flows out of the assistant: a closed set of small frozen values, rendered by the shells."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heard:
    """The transcript of a voice note, as shown to the user who sent it."""

    text: str
    language: str


@dataclass(frozen=True)
class AnswerDelta:
    """The answer so far, while the model is still writing it."""

    text: str


@dataclass(frozen=True)
class Answered:
    """The complete answer, with the user's own values restored."""

    text: str
    language: str
    from_cache: bool = False


@dataclass(frozen=True)
class Spoken:
    """The answer as a voice note: OGG/Opus bytes and its duration in seconds."""

    ogg: bytes
    duration: float


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


AssistantEvent = Heard | AnswerDelta | Answered | Spoken | Notice | Refused
