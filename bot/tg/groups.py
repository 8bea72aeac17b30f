"""What a group decides together: /transcribe on|off, for its admins and the bot's."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus

from bot.tg.context import BotContext
from bot.tg.incoming import chat_of, message_of
from bot.tg.say import reply

GROUPS = ("group", "supergroup")


async def transcribe(update: Update, context: BotContext) -> None:
    """Turn on or off a transcript for every voice note, video note and audio in the group."""
    chat = chat_of(update)
    if chat.type not in GROUPS:
        await reply(update, "transcribe_groups_only")
        return
    choice = (context.args or [""])[0].lower()
    if choice not in ("on", "off"):
        await reply(update, "transcribe_usage")
        return
    if not await may_decide_for_group(update, context):
        await reply(update, "transcribe_admins_only")
        return
    await context.services.prefs.set_group_transcripts(chat.id, choice == "on")
    await reply(update, f"transcribe_{choice}")


async def may_decide_for_group(update: Update, context: BotContext) -> bool:
    """Whether the sender is one of the group's admins (Telegram says) or of the bot's."""
    chat, user = chat_of(update), update.effective_user
    if user is None:  # an anonymous admin writes as the group itself
        sender_chat = message_of(update).sender_chat
        return sender_chat is not None and sender_chat.id == chat.id
    if user.id in context.services.settings.admin_user_ids:
        return True
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
