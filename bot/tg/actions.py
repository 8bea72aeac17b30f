"""Chat actions (typing, recording a voice note): one per chat, renewed only when it lapses."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.tasks import cancel_within
from bot.tg.ratelimit import Priority

LAPSE_SECONDS = 5.0  # Telegram shows an action for about 5 s


class ActionKeepalive:
    """One answer's wish; change `action` (or call `show`) to switch what the chat sees."""

    def __init__(self, action: str, chat: _ChatAction) -> None:
        self.action = action
        self._chat = chat

    def show(self, action: str) -> None:
        """Show `action` now instead of at the next renewal (an ephemeral call)."""
        self.action = action
        self._chat.wake.set()

    def progressed(self) -> None:
        """The chat just saw the answer grow (a draft or an edit): no action needed for a while."""
        self._chat.progressed = time.monotonic()


@dataclass
class _ChatAction:
    """The one action shown in a chat, for everyone waiting there; the newest wish wins."""

    holders: list[ActionKeepalive] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    progressed: float = 0.0  # when the chat last saw a draft or an edit


class ChatActions:
    """Every chat's action in this process: five people waiting in a group cost one action.

    The first action of a chat is kept (the first sign of life must arrive, even under load);
    renewals every `lapse` seconds are ephemeral, so the rate limiter drops them when the budget
    is short.
    """

    def __init__(self, lapse: float = LAPSE_SECONDS) -> None:
        """Renew each chat's action every `lapse` seconds while someone waits there."""
        self.lapse = lapse
        # By chat and forum topic: an action shows in the topic it was sent to.
        self._chats: dict[tuple[int, int | None], _ChatAction] = {}

    def holders(self, chat_id: int, thread_id: int | None = None) -> int:
        """How many answers are waiting in `chat_id` (its topic `thread_id`) right now."""
        chat = self._chats.get((chat_id, thread_id))
        return len(chat.holders) if chat else 0

    @contextlib.asynccontextmanager
    async def hold(
        self,
        bot: ExtBot[Any],
        chat_id: int,
        action: str = ChatAction.TYPING,
        *,
        thread_id: int | None = None,
    ) -> AsyncIterator[ActionKeepalive]:
        """Show `action` in the chat (its forum topic `thread_id`) until everyone's block ends."""
        key = (chat_id, thread_id)
        chat = self._chats.setdefault(key, _ChatAction())
        keepalive = ActionKeepalive(action, chat)
        chat.holders.append(keepalive)
        if chat.task is None:
            chat.task = asyncio.create_task(self._renew(bot, key, chat))
        try:
            yield keepalive
        finally:
            chat.holders.remove(keepalive)
            if not chat.holders:
                del self._chats[key]
                await cancel_within([chat.task])

    async def _renew(
        self, bot: ExtBot[Any], key: tuple[int, int | None], chat: _ChatAction
    ) -> None:
        chat_id, thread_id = key
        priority = Priority.KEEP
        while chat.holders:
            chat.wake.clear()
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(
                    chat_id,
                    chat.holders[-1].action,
                    message_thread_id=thread_id,
                    rate_limit_args=priority,
                )
            priority = Priority.EPHEMERAL
            # Renew when the action lapses, unless a draft showed progress meanwhile: then
            # the action would tell nothing new until `lapse` after that draft.
            deadline = time.monotonic() + self.lapse
            while (left := deadline - time.monotonic()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(chat.wake.wait(), left)
                if chat.wake.is_set():
                    break
                deadline = max(deadline, chat.progressed + self.lapse)
