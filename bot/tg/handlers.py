"""Thin handlers: an update becomes a call of the assistant, its events become messages."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, WebAppInfo
from telegram.constants import ChatAction

from bot.core.language import normalize_language
from bot.core.prompt import LANGUAGE_NAMES, language_name
from bot.events import Refused
from bot.i18n import t
from bot.stores.prefs import MODES
from bot.tg.context import BotContext
from bot.tg.incoming import (
    DownloadLimits,
    addressed_to_bot,
    describe_audio,
    describe_sender,
    describe_text,
    topic_of,
)
from bot.tg.replies import ReplyRenderer
from bot.tg.say import chat_of, message_of, reply, user_language

log = logging.getLogger(__name__)


def _language(update: Update) -> str | None:
    return update.effective_user.language_code if update.effective_user else None


def _renderer(update: Update, context: BotContext, **kwargs: object) -> ReplyRenderer:
    message = message_of(update)
    return ReplyRenderer(
        context.bot,
        message.chat_id,
        language=_language(update),
        private=message.chat.type == "private",
        reply_to=message.message_id,
        interval=context.services.settings.stream_edit_interval_seconds,
        metrics=context.services.metrics,
        thread_id=topic_of(message),
        **kwargs,  # type: ignore[arg-type]
    )


async def start(update: Update, context: BotContext) -> None:
    """Greet the user."""
    name = update.effective_user.first_name if update.effective_user else ""
    await reply(update, "start", name=name)


async def help_command(update: Update, context: BotContext) -> None:
    """List what the bot can do."""
    await reply(update, "help")


async def reset(update: Update, context: BotContext) -> None:
    """Forget the conversation."""
    await context.services.assistant.forget(describe_sender(update))
    await reply(update, "reset_done")


async def cancel(update: Update, context: BotContext) -> None:
    """Stop the answer in progress."""
    stopped = context.services.turns.cancel(describe_sender(update).user_id)
    await reply(update, "cancel_done" if stopped else "cancel_nothing")


async def lang(update: Update, context: BotContext) -> None:
    """Pin the answer language, or go back to detecting it (/lang auto)."""
    user_id = describe_sender(update).user_id
    if not context.args:
        await reply(update, "lang_usage")
        return
    code = normalize_language(context.args[0]) or ""
    if code == "auto":
        await context.services.prefs.update(user_id, pinned_language=None)
        await reply(update, "lang_auto")
    elif code in LANGUAGE_NAMES:
        await context.services.prefs.update(user_id, pinned_language=code)
        await reply(update, "lang_pinned", language=language_name(code))
    else:
        await reply(update, "lang_unknown", code=context.args[0][:20])


async def voice(update: Update, context: BotContext) -> None:
    """Turn spoken replies to typed messages on or off."""
    choice = (context.args or [""])[0].lower()
    if choice not in ("on", "off"):
        await reply(update, "voice_usage")
        return
    await context.services.prefs.update(
        describe_sender(update).user_id, voice_for_text=choice == "on"
    )
    await reply(update, f"voice_{choice}")


async def mode(update: Update, context: BotContext) -> None:
    """Choose chat, transcribe-only or text-only."""
    choice = (context.args or [""])[0].lower()
    if choice not in MODES:
        await reply(update, "mode_usage")
        return
    await context.services.prefs.update(describe_sender(update).user_id, mode=choice)
    await reply(update, f"mode_{choice}")


async def live(update: Update, context: BotContext) -> None:
    """Open the live voice page (a Mini App) from a button, when PUBLIC_URL is set."""
    public_url = context.services.settings.public_url
    if not public_url:
        await reply(update, "live_not_set_up")
        return
    if chat_of(update).type != "private":  # Telegram allows web_app buttons in private chats only
        await reply(update, "live_private_only")
        return
    language = user_language(update)
    button = InlineKeyboardButton(
        t("live_button", language), web_app=WebAppInfo(url=f"{public_url}/live")
    )
    await message_of(update).reply_text(
        t("live_open", language), reply_markup=InlineKeyboardMarkup([[button]])
    )


async def text_message(update: Update, context: BotContext) -> None:
    """Answer a typed message."""
    message = update.effective_message
    bot = context.bot
    if message is None or not addressed_to_bot(message, bot.username, bot.id):
        return
    request = describe_text(
        update, bot.username, max_tokens=context.services.settings.max_input_tokens
    )
    if isinstance(request, Refused):
        await reply(update, request.key, **request.params)
        return
    actions = context.services.actions
    topic = topic_of(message)
    async with actions.hold(bot, message.chat_id, ChatAction.TYPING, thread_id=topic) as action:
        events = context.services.assistant.answer_text(request)
        await _renderer(update, context, action=action).render(events)


async def audio_message(update: Update, context: BotContext) -> None:
    """Answer a voice note, audio file, video note or audio document."""
    message = update.effective_message
    bot = context.bot
    if message is None or not addressed_to_bot(message, bot.username, bot.id):
        return
    settings = context.services.settings
    limits = DownloadLimits(
        max_seconds=settings.max_voice_seconds, max_bytes=settings.max_download_bytes
    )
    request = describe_audio(update, bot, limits)
    if isinstance(request, Refused):
        await reply(update, request.key, **request.params)
        return
    actions = context.services.actions
    topic = topic_of(message)
    async with actions.hold(
        bot, message.chat_id, ChatAction.RECORD_VOICE, thread_id=topic
    ) as action:
        events = context.services.assistant.answer_voice(request)
        await _renderer(update, context, action=action).render(events)


async def unsupported(update: Update, context: BotContext) -> None:
    """Photos, videos and stickers: say what the bot can listen to."""
    await reply(update, "unsupported_file")
