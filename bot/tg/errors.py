"""The one boundary for unexpected failures: log, count, apologise in the user's language."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from telegram import Update
from telegram.error import TelegramError

from bot.errors import ServiceError, refusal_key
from bot.i18n import t
from bot.stores.redis import redis_error
from bot.tg.context import BotContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Handle an exception no handler expected; the bot keeps serving everyone else."""
    error = context.error
    log.error("unhandled %s", type(error).__name__, exc_info=error)
    context.services.metrics.count_error(type(error).__name__)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    language = update.effective_user.language_code if update.effective_user else None
    key = "apology"
    if isinstance(error, RedisError):
        key = refusal_key(redis_error(error))
    elif isinstance(error, ServiceError):
        key = refusal_key(error)
    try:
        await context.bot.send_message(update.effective_chat.id, t(key, language))
    except TelegramError:
        log.warning("could not send the apology")
