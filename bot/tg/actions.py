"""Chat actions (typing, recording a voice note) refreshed until the work is done."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import TelegramError

REFRESH_SECONDS = 4.5  # Telegram shows an action for about 5 s


class ActionKeepalive:
    """Holds the current action; change `action` to switch what the user sees."""

    def __init__(self, action: str) -> None:
        self.action = action


@contextlib.asynccontextmanager
async def chat_action(
    bot: Bot, chat_id: int, action: str = ChatAction.TYPING, *, thread_id: int | None = None
) -> AsyncIterator[ActionKeepalive]:
    """Show `action` in the chat (in its forum topic `thread_id`, if any) until the block ends."""
    keepalive = ActionKeepalive(action)

    async def refresh() -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, keepalive.action, message_thread_id=thread_id)
            await asyncio.sleep(REFRESH_SECONDS)

    task = asyncio.create_task(refresh())
    try:
        yield keepalive
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
