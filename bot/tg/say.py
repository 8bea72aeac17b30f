"""Answering with one of the bot's own messages, in the sender's Telegram language."""

from __future__ import annotations

from telegram import Chat, Message, Update, User

from bot.config import Settings
from bot.i18n import t


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


async def reply(update: Update, key: str, **params: object) -> None:
    """Answer with one of the bot's own messages in the user's language."""
    if update.effective_message:
        await update.effective_message.reply_text(t(key, user_language(update), **params))


async def tell_refused(update: Update, reason: str, settings: Settings) -> None:
    """Tell a flooding user why their messages are skipped ("queue" or "rate")."""
    await reply(update, f"flood_{reason}", limit=settings.user_max_messages_per_minute)
