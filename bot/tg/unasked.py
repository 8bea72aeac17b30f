"""Updates nobody asked the bot about: channel posts, edited messages and stale buttons.

They stop here, before any other handler, and get no answer in the chat (presses on the
buttons in BUTTONS go on to their handlers). An edit is not a new
question (answering it again would leave two answers in the chat), and a channel post is the
channel's own content. A button press is still acknowledged, so the user's spinner stops.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop

from bot.tg import voice_menu
from bot.tg.context import BotContext
from bot.tg.replies import LISTEN_PREFIX

log = logging.getLogger(__name__)

# The data prefixes of the buttons the bot still answers; any other press is a stale button.
BUTTONS = (voice_menu.PREFIX, LISTEN_PREFIX)


async def stop_unasked(update: Update, context: BotContext) -> None:
    """Acknowledge a button press and let edits and channel posts go unanswered."""
    if update.callback_query is not None:
        if (update.callback_query.data or "").startswith(BUTTONS):
            return  # a button of ours that still works: its own handler answers it
        kind = "callback_query"
        try:
            await update.callback_query.answer()
        except BadRequest as error:  # "query is too old": nothing is spinning any more
            log.info("button press not acknowledged: %s", error.message)
    elif update.channel_post or update.edited_channel_post:
        kind = "channel_post"
    elif update.edited_message:
        kind = "edited_message"
    else:
        return
    context.services.metrics.count_update(kind)  # the counting handler runs after this one
    raise ApplicationHandlerStop
