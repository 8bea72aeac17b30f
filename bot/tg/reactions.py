"""Where the bot is with a voice note, as a reaction on the user's own message: 👀 then ✍.

Beside the chat action, which shows only while the chat is open at the bottom. A nicety: a
reaction that cannot be set (a group that allows none, a budget that is short) is skipped
silently, never apologised for.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from telegram import Message
from telegram.constants import ReactionEmoji
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.tg.ratelimit import Priority

log = logging.getLogger(__name__)

HEARD = ReactionEmoji.EYES
WRITING = ReactionEmoji.WRITING_HAND


class ProgressReaction:
    """The reaction on one message; `show` moves it on, leaving the block clears it."""

    def __init__(self, bot: ExtBot[Any], message: Message) -> None:
        self._bot = bot
        self._message = message
        # Channels have no author to tell; private chats and groups take reactions.
        self._enabled = message.chat.type != "channel"
        self._shown: str | None = None

    async def show(self, emoji: str) -> None:
        """Show `emoji` now, if the budget can spare it (a missing step is no loss)."""
        if not self._enabled or emoji == self._shown:
            return
        if await self._set(emoji, Priority.EPHEMERAL):
            self._shown = emoji

    async def clear(self) -> None:
        """Take the reaction away: the answer is there (kept, so none is left behind)."""
        if self._shown is not None and await self._set(None, Priority.KEEP):
            self._shown = None

    async def _set(self, emoji: str | None, priority: Priority) -> bool:
        try:
            await self._bot.set_message_reaction(
                self._message.chat_id,
                self._message.message_id,
                emoji,
                rate_limit_args=priority,
            )
        except TelegramError as error:  # Dropped is one too
            log.debug("reaction not set: %s", error)
            return False
        return True


@contextlib.asynccontextmanager
async def progress_reaction(bot: ExtBot[Any], message: Message) -> AsyncIterator[ProgressReaction]:
    """👀 on `message` while the block runs (the caller moves it on), cleared at the end."""
    reaction = ProgressReaction(bot, message)
    await reaction.show(HEARD)
    try:
        yield reaction
    finally:
        await reaction.clear()
