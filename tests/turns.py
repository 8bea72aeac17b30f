"""The end-of-turn signal: proving that a message produced nothing more, without sleeping."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.emulators.bot_api import BotApiEmulator

if TYPE_CHECKING:
    from bot.services import Services


async def turns_ended(bot_api: BotApiEmulator, services: Services, timeout: float = 15) -> None:  # noqa: ASYNC109
    """Wait until no user has an update queued or being answered.

    Every message of a turn is sent inside it, so once the bot's turns have all ended, whatever
    has not arrived by then will never come from them.
    """
    await bot_api.wait_for(lambda: services.turns.busy_users == 0, timeout=timeout)
