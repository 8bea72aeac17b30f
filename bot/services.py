"""What the Telegram handlers share: the services built once per process by bot.app."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bot.assistant import Assistant
from bot.config import Settings
from bot.core.lifecycle import ModelStatus
from bot.db.accounts import Accounts
from bot.metrics import Metrics
from bot.openai_client import LazyOpenAI
from bot.stores.caches import CacheCounters
from bot.stores.prefs import PreferenceStore
from bot.stores.redis import RedisHandle
from bot.tg.actions import ChatActions
from bot.tg.ordering import UserTurns


@dataclass
class Services:
    """Everything the handlers need, built once per process."""

    settings: Settings
    redis: RedisHandle
    assistant: Assistant
    accounts: Accounts
    prefs: PreferenceStore
    counters: CacheCounters
    metrics: Metrics
    openai: LazyOpenAI
    turns: UserTurns = field(default_factory=UserTurns)
    actions: ChatActions = field(default_factory=ChatActions)
    closers: list[Any] = field(default_factory=list)
    # Set once first-use loading is done (bot.app.warm_up); updates wait for it, briefly.
    warm: asyncio.Event = field(default_factory=asyncio.Event)
    # What the models endpoint said of the configured models at start (bot.lifecycle).
    models: list[ModelStatus] = field(default_factory=list)

    async def aclose(self) -> None:
        """Release connections, models and the embedded Redis."""
        for closer in reversed(self.closers):
            await closer()
        await self.redis.aclose()
