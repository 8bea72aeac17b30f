"""Answering with one of the bot's own messages, in the sender's Telegram language."""

from __future__ import annotations

from telegram import Update

from bot.i18n import t


def user_language(update: Update) -> str | None:
    """The sender's Telegram language code, or None."""
    return update.effective_user.language_code if update.effective_user else None


async def reply(update: Update, key: str, **params: object) -> None:
    """Answer with one of the bot's own messages in the user's language."""
    if update.effective_message:
        await update.effective_message.reply_text(t(key, user_language(update), **params))
