"""Telegram updates described in the assistant's terms, with limits checked before any download."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Bot, Chat, Message, Update, User
from telegram.error import BadRequest, TelegramError

from bot.core.language import LanguageCode
from bot.core.prompt import estimate_tokens
from bot.core.text import is_blank, mentions_bot, strip_mention
from bot.errors import ServiceError
from bot.events import Refused
from bot.requests import AudioRequest, Overheard, Sender, TextRequest

AUDIO_EXTENSIONS = (
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".m4a",
    ".wav",
    ".flac",
    ".webm",
    ".mp4",
    ".aac",
)


@dataclass(frozen=True)
class DownloadLimits:
    """What the bot accepts before downloading."""

    max_seconds: int
    max_bytes: int


def message_of(update: Update) -> Message:
    """The update's message; the handlers that call this are registered for messages only."""
    if update.effective_message is None:
        raise ValueError("a message handler got an update without a message")
    return update.effective_message


def chat_of(update: Update) -> Chat:
    """The update's chat; every message has one."""
    if update.effective_chat is None:
        raise ValueError("a message handler got an update without a chat")
    return update.effective_chat


def user_of(update: Update) -> User:
    """The update's sender, for handlers (admin commands) that only run for a known user."""
    if update.effective_user is None:
        raise ValueError("an admin command without a sender")
    return update.effective_user


def user_language(update: Update) -> str | None:
    """The sender's Telegram language code, or None."""
    return update.effective_user.language_code if update.effective_user else None


def describe_sender(update: Update) -> Sender:
    """The user, chat and language of an update (a chat writing without `from` is the sender)."""
    user = update.effective_user
    chat = chat_of(update)
    # A guest call is remembered per chat it was made in: what strangers said there stays
    # out of the caller's own private conversation with the bot.
    shared = chat.type in ("group", "supergroup") or update.guest_message is not None
    if user is None:
        # An anonymous group admin or a linked channel writes with `sender_chat` and no `from`:
        # the chat that speaks is the sender, for memory, quotas and the ledger alike.
        speaker = update.effective_sender or chat
        return Sender(
            user_id=speaker.id,
            chat_id=chat.id,
            is_group=shared,
            username=getattr(speaker, "username", None),
            full_name=getattr(speaker, "title", None) or getattr(speaker, "full_name", None),
        )
    return Sender(
        user_id=user.id,
        chat_id=chat.id,
        is_group=shared,
        telegram_language=LanguageCode.base_of(user.language_code),
        username=user.username,
        full_name=user.full_name,
    )


def topic_of(message: Message) -> int | None:
    """The forum topic a message was written in, or None outside forum topics."""
    # In an ordinary group message_thread_id names a reply chain, which cannot be sent to.
    return message.message_thread_id if message.is_topic_message else None


def addressed_to_bot(message: Message, bot_username: str, bot_id: int) -> bool:
    """In groups the bot answers only when mentioned or replied to."""
    if message.chat.type not in ("group", "supergroup"):
        return True
    replied = message.reply_to_message
    if replied and replied.from_user and replied.from_user.id == bot_id:
        return True
    return mentions_bot(message.text or message.caption or "", bot_username)


def describe_text(
    update: Update,
    bot_username: str,
    *,
    max_tokens: int,
    about: AudioRequest | None = None,
    text_only: bool = False,
) -> TextRequest | Refused:
    """A typed message without the @mention; or why it is refused (blank, or too long).

    With `about` (the voice note it replies to) a blank text asks for the transcript.
    `text_only` marks an answer that can only be text (see TextRequest).
    """
    message = message_of(update)
    text = strip_mention(message.text or "", bot_username)
    if is_blank(text):
        if about is not None:
            return TextRequest(describe_sender(update), "", about, text_only)
        return Refused("empty_text")
    # Refused before the model sees it, so an over-long message costs nothing.
    tokens = estimate_tokens(text)
    if tokens > max_tokens:
        return Refused("text_too_long", {"tokens": tokens, "limit": max_tokens})
    return TextRequest(describe_sender(update), text, about, text_only)


def describe_audio(
    update: Update, bot: Bot, limits: DownloadLimits, *, overheard: Overheard | None = None
) -> AudioRequest | Refused:
    """A voice note, audio file, video note or audio document; or why it is refused."""
    return _audio_request(message_of(update), describe_sender(update), bot, limits, overheard)


def replied_audio(
    update: Update, bot: Bot, limits: DownloadLimits
) -> AudioRequest | Refused | None:
    """The voice note (audio, video note) this message replies to, asked about by its sender.

    None when it replies to no such thing, or to the bot's own voice note.
    """
    replied = message_of(update).reply_to_message
    if replied is None or (replied.from_user is not None and replied.from_user.id == bot.id):
        return None
    if not (replied.voice or replied.audio or replied.video_note or _is_audio_document(replied)):
        return None
    return _audio_request(replied, describe_sender(update), bot, limits, None)


def _audio_request(
    message: Message,
    sender: Sender,
    bot: Bot,
    limits: DownloadLimits,
    overheard: Overheard | None,
) -> AudioRequest | Refused:
    media = message.voice or message.audio or message.video_note or message.document
    if media is None or (media is message.document and not _is_audio_document(message)):
        return Refused("unsupported_file")
    duration = float(getattr(media, "duration", 0) or 0)
    size = media.file_size or 0
    if duration > limits.max_seconds:
        return Refused("too_long", {"seconds": int(duration), "limit": limits.max_seconds})
    if size > limits.max_bytes:
        return Refused(
            "too_big", {"size_mb": round(size / 2**20, 1), "limit_mb": limits.max_bytes // 2**20}
        )
    return AudioRequest(
        sender=sender,
        file_unique_id=media.file_unique_id,
        duration=duration,
        fetch=_downloader(bot, media.file_id),
        overheard=overheard,
    )


def _is_audio_document(message: Message) -> bool:
    document = message.document
    if document is None:
        return False
    mime = (document.mime_type or "").lower()
    name = (document.file_name or "").lower()
    return mime.startswith(("audio/", "video/")) or name.endswith(AUDIO_EXTENSIONS)


def _downloader(bot: Bot, file_id: str) -> Callable[[], Awaitable[bytes]]:
    async def fetch() -> bytes:
        try:
            file = await bot.get_file(file_id)
        except BadRequest as error:
            # "wrong file_id or the file is temporarily unavailable": asking again will not help,
            # the user has to send the file again.
            raise ServiceError("download", "file gone", status=400) from error
        except TelegramError as error:
            raise ServiceError("download", type(error).__name__, retryable=True) from error
        try:
            return bytes(await file.download_as_bytearray())
        except TelegramError as error:
            raise ServiceError("download", type(error).__name__, retryable=True) from error

    return fetch
