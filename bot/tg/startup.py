"""The first contact with Telegram: wait for it while it cannot be reached, with backoff."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import BadRequest, NetworkError

log = logging.getLogger(__name__)


async def reach_telegram(
    bot: Bot,
    stop: asyncio.Event,
    *,
    where: str,
    first_delay: float = 1.0,
    max_delay: float = 60.0,
) -> bool:
    """Initialise the bot (getMe), retrying with backoff while Telegram is unreachable.

    Returns False when `stop` is set first. A rejected token (InvalidToken) is not retried: it
    propagates at once, for the caller to name the variable to fix.
    """
    delay, attempt = first_delay, 1
    while True:
        try:
            await bot.initialize()
            return True
        except BadRequest:
            raise
        except NetworkError as error:  # DNS, refused connection, TimedOut: no traceback, one line
            log.warning(
                "cannot reach Telegram at %s (attempt %d: %s); retrying in %.0f s",
                where,
                attempt,
                error.message,
                delay,
            )
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            delay, attempt = min(delay * 2, max_delay), attempt + 1
            continue
        await bot.shutdown()  # stopped before Telegram answered: close the HTTP clients
        return False
