"""The one boundary for unexpected failures: log, count, apologise in the user's language."""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from telegram import Update
from telegram.error import TelegramError

from bot.errors import CredentialsRejected, ServiceError, refusal_key
from bot.i18n import t
from bot.stores.redis import redis_error
from bot.tg import guest
from bot.tg.context import BotContext

log = logging.getLogger(__name__)


# Set in bot_data once the rejected key was logged: one clear line per running bot is enough.
_KEY_REJECTION_LOGGED = "openai_key_rejection_logged"


async def on_error(update: object, context: BotContext) -> None:
    """Handle an exception no handler expected; the bot keeps serving everyone else."""
    error = context.error
    key = "apology"
    if isinstance(error, CredentialsRejected):
        # Every request fails the same way until the operator acts: say so once, no traceback.
        _log_key_rejection(error, context.bot_data)
        key = "service_rejected"
    elif isinstance(error, RedisError):
        log.error("redis unavailable: %s", type(error).__name__)
        key = refusal_key(redis_error(error))
    elif isinstance(error, ServiceError):
        log.error("service failed: %s", error)
        key = refusal_key(error)
    else:
        log.error("unhandled %s", type(error).__name__, exc_info=error)
    context.services.metrics.count_error(type(error).__name__)
    if not isinstance(update, Update):
        return
    language = update.effective_user.language_code if update.effective_user else None
    if update.guest_message is not None:  # a guest call can only be answered as a guest
        try:
            await guest.answer(update.guest_message, t(key, language))
        except TelegramError:
            log.warning("could not answer the guest call")
        return
    # Only a new message asked for something; a button, an edit or a channel post gets no apology.
    if update.message is None:
        return
    try:
        # A reply to the question, which also lands in the question's forum topic.
        await update.message.reply_text(t(key, language), do_quote=True)
    except TelegramError:
        log.warning("could not send the apology")


def _log_key_rejection(error: CredentialsRejected, bot_data: dict[Any, Any]) -> None:
    if bot_data.get(_KEY_REJECTION_LOGGED):
        log.debug("OPENAI_API_KEY still rejected (%s)", error.stage)
        return
    bot_data[_KEY_REJECTION_LOGGED] = True
    log.error(
        "OPENAI_API_KEY was rejected by the OpenAI server (HTTP 401 at %s); "
        "set a valid key and restart the bot",
        error.stage,
    )
