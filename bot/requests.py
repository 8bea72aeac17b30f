"""What the shell asks of the assistant: who wrote, and a typed message or a voice note."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core.language import LanguageCode


@dataclass(frozen=True)
class Sender:
    """Who wrote, and in which conversation (the user in private, the chat in groups)."""

    user_id: int
    chat_id: int
    is_group: bool = False
    telegram_language: LanguageCode | None = None  # normalised by whoever builds the Sender
    username: str | None = None
    full_name: str | None = None

    @property
    def conversation(self) -> str:
        """The memory key: private chats per user, groups per chat."""
        return f"chat:{self.chat_id}" if self.is_group else f"user:{self.user_id}"

    @property
    def owner(self) -> str:
        """Who a private value belongs to, inside a conversation's vault."""
        return str(self.user_id)


@dataclass(frozen=True)
class Overheard:
    """A group voice note not addressed to the bot; `names` call it when said first."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class AudioRequest:
    """A voice note (or audio, video note); `fetch` downloads its bytes when needed.

    `overheard` is set for a group voice note that neither mentions nor replies to the bot.
    """

    sender: Sender
    file_unique_id: str
    duration: float
    fetch: Callable[[], Awaitable[bytes]]
    overheard: Overheard | None = None


@dataclass(frozen=True)
class TextRequest:
    """A typed message; `about` is the voice note it replies to, when it asks about one.

    `text_only` is for an answer that can only be text (a guest query): no voice note and no
    "🔊" button, since neither could be sent.
    """

    sender: Sender
    text: str
    about: AudioRequest | None = None
    text_only: bool = False
