"""The one boundary for unexpected failures: log, count, apologise in the user's language."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.i18n import t
from bot.tg.context import BotContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Handle an exception no handler expected; the bot keeps serving everyone else."""
    error = context.error
    log.error("unhandled %s", type(error).__name__, exc_info=error)
    context.services.metrics.count_error(type(error).__name__)
    # Only a new message asked for something; a button, an edit or a channel post gets no apology.
    if not isinstance(update, Update) or update.message is None:
        return
    language = update.effective_user.language_code if update.effective_user else None
    try:
        # A reply to the question, which also lands in the question's forum topic.
        await update.message.reply_text(t("apology", language), do_quote=True)
    except TelegramError:
        log.warning("could not send the apology")
