"""Answering with the bot's own messages, in the sender's Telegram language.

The helpers the user commands (bot.tg.handlers) and the admin commands (bot.tg.admin) share.
"""

from __future__ import annotations

import logging
from functools import wraps

from telegram import Update
from telegram.error import BadRequest, Forbidden

from bot.db.users import UserRecord
from bot.errors import ServiceError
from bot.i18n import t
from bot.tg.context import BotContext, Handler
from bot.tg.incoming import message_of, user_language, user_of

log = logging.getLogger(__name__)


async def reply(update: Update, key: str, **params: object) -> None:
    """Answer with one of the bot's own messages in the user's language."""
    if update.effective_message:
        await update.effective_message.reply_text(t(key, user_language(update), **params))


async def send(update: Update, text: str) -> None:
    """Answer with `text` as it is (what only admins read, or text already translated)."""
    await message_of(update).reply_text(text)


# Said in a group when a report cannot go to the admin's private chat; it names no one.
ASK_PRIVATELY = "Admin reports are sent only in a private chat: please write to me there first."


async def send_privately(
    update: Update,
    context: BotContext,
    text: str,
    chart: bytes | None = None,
    caption: str | None = None,
) -> None:
    """Admin output goes to the admin's private chat: a group never reads others' usage."""
    message = message_of(update)
    if message.chat.type == "private":
        await message.reply_text(text)
        if chart is not None:
            await message.reply_photo(chart, caption=caption)
        return
    admin_id = user_of(update).id
    try:
        await context.bot.send_message(admin_id, text)
        if chart is not None:
            await context.bot.send_photo(admin_id, chart, caption=caption)
    except (Forbidden, BadRequest) as error:  # no private chat yet, or the bot is blocked there
        log.info("admin report not sent privately: %s", error.message)
        await message.reply_text(ASK_PRIVATELY)


def database_errors(handler: Handler) -> Handler:
    """A database outage becomes an apology in the user's language, not a crash."""

    @wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        try:
            await handler(update, context)
        except ServiceError as error:
            log.error("command failed: %s", error)
            await reply(update, "db_down")

    return guarded


async def named_user(update: Update, context: BotContext, usage_text: str) -> UserRecord | None:
    """The user named by the first argument, or None after telling the admin why not."""
    if not context.args:
        await reply(update, "admin_usage", usage=usage_text)
        return None
    user = await context.services.accounts.find_user(context.args[0])
    if user is None:
        await reply(update, "admin_unknown_user", ref=context.args[0][:40])
    return user
