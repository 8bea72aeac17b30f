"""Thin handlers: an update becomes a call of the assistant, its events become messages."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, WebAppInfo
from telegram.constants import ChatAction

from bot.core.language import LanguageCode
from bot.core.prompt import LANGUAGE_NAMES, language_name
from bot.core.wake import wake_names
from bot.events import Refused
from bot.i18n import t
from bot.requests import Overheard
from bot.stores.prefs import MODES
from bot.tg import voice_menu
from bot.tg.context import BotContext, is_admin
from bot.tg.incoming import (
    DownloadLimits,
    addressed_to_bot,
    chat_of,
    describe_audio,
    describe_sender,
    describe_text,
    message_of,
    replied_audio,
    topic_of,
    user_language,
)
from bot.tg.reactions import progress_reaction
from bot.tg.replies import ReplyRenderer
from bot.tg.reports import describe_user, format_report
from bot.tg.say import database_errors, named_user, reply, send, send_privately
from bot.tts import speaks_through_openai

log = logging.getLogger(__name__)


def _renderer(update: Update, context: BotContext, **kwargs: object) -> ReplyRenderer:
    message = message_of(update)
    return ReplyRenderer(
        context.bot,
        message.chat_id,
        language=user_language(update),
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
    await _introduce(update, context, "start", name=name)


async def help_command(update: Update, context: BotContext) -> None:
    """List what the bot can do."""
    await _introduce(update, context, "help")


async def _introduce(update: Update, context: BotContext, key: str, **params: object) -> None:
    """/start or /help, saying that the voice replies are AI-generated when a remote model speaks.

    OpenAI's usage policies ask that people know a voice they hear is AI-generated.
    """
    language = user_language(update)
    text = t(key, language, **params)
    if speaks_through_openai(context.services.settings):
        text += "\n\n" + t("ai_voice", language)
    await message_of(update).reply_text(text)


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
    code = LanguageCode.base_of(context.args[0]) or ""
    if code == "auto":
        await context.services.prefs.update(user_id, pinned_language=None)
        await reply(update, "lang_auto")
    elif code in LANGUAGE_NAMES:
        await context.services.prefs.update(user_id, pinned_language=code)
        await reply(update, "lang_pinned", language=language_name(code))
    else:
        await reply(update, "lang_unknown", code=context.args[0][:20])


async def voice(update: Update, context: BotContext) -> None:
    """The voice settings menu; `/voice on|off` is the shortcut for replies to typed text."""
    user_id = describe_sender(update).user_id
    if not context.args:
        await voice_menu.show(update, context, user_id)
        return
    choice = context.args[0].lower()
    if choice not in ("on", "off"):
        await reply(update, "voice_usage")
        return
    # "off" is what it always was: voice notes still get a voice, typed messages do not.
    await context.services.prefs.update(user_id, replies="always" if choice == "on" else "notes")
    await reply(update, f"voice_{choice}")


async def mode(update: Update, context: BotContext) -> None:
    """Choose chat, transcribe-only or text-only."""
    choice = (context.args or [""])[0].lower()
    if choice not in MODES:
        await reply(update, "mode_usage")
        return
    await context.services.prefs.update(describe_sender(update).user_id, mode=choice)
    await reply(update, f"mode_{choice}")


@database_errors
async def usage(update: Update, context: BotContext) -> None:
    """Your own usage; admins may name another user (/usage <id or @username>)."""
    user_id = update.effective_user.id if update.effective_user else 0
    if context.args and is_admin(update, context):
        target = await named_user(update, context, "/usage [user id or @username]")
        if target is None:
            return
        report = await context.services.accounts.usage_report(target.id)
        text = f"User {describe_user(target)}\n" + format_report(report, user_language(update))
        await send_privately(update, context, text)
        return
    report = await context.services.accounts.usage_report(user_id)
    await send(update, format_report(report, user_language(update)))


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not know; in groups it may be meant for another bot, so stay quiet."""
    message = update.effective_message
    if message is not None and message.chat.type == "private":
        await reply(update, "unknown_command")


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
    settings = context.services.settings
    about = replied_audio(update, bot, _limits(context))  # "@bot what does this say?"
    if isinstance(about, Refused):
        await reply(update, about.key, **about.params)
        return
    request = describe_text(update, bot.username, max_tokens=settings.max_input_tokens, about=about)
    if isinstance(request, Refused):
        await reply(update, request.key, **request.params)
        return
    actions = context.services.actions
    topic = topic_of(message)
    async with actions.hold(bot, message.chat_id, ChatAction.TYPING, thread_id=topic) as action:
        events = context.services.assistant.answer_text(request)
        await _renderer(update, context, action=action).render(events)


def _limits(context: BotContext) -> DownloadLimits:
    settings = context.services.settings
    return DownloadLimits(
        max_seconds=settings.max_recording_seconds, max_bytes=settings.max_download_bytes
    )


async def audio_message(update: Update, context: BotContext) -> None:
    """Answer a voice note, audio file, video note or audio document.

    In a group, one that neither mentions nor replies to the bot is only overheard: answered
    when its first words call the bot, transcribed when the group turned /transcribe on.
    """
    message = update.effective_message
    bot = context.bot
    if message is None:
        return
    overheard = None
    if not addressed_to_bot(message, bot.username, bot.id):
        words = context.services.settings.bot_wake_words
        overheard = Overheard(
            wake_names(first_name=bot.first_name, username=bot.username, words=words)
        )
    request = describe_audio(update, bot, _limits(context), overheard=overheard)
    if isinstance(request, Refused):
        if overheard is None:  # nobody asked about an overheard one: nothing to explain
            await reply(update, request.key, **request.params)
        return
    if overheard is not None:  # no action or reaction for what may not concern the bot
        await _renderer(update, context).render(context.services.assistant.answer_voice(request))
        return
    actions = context.services.actions
    topic = topic_of(message)
    async with (
        actions.hold(bot, message.chat_id, ChatAction.RECORD_VOICE, thread_id=topic) as action,
        progress_reaction(bot, message) as reaction,
    ):
        events = context.services.assistant.answer_voice(request)
        await _renderer(update, context, action=action, reaction=reaction).render(events)


async def unsupported(update: Update, context: BotContext) -> None:
    """Photos, videos and stickers: say what the bot can listen to."""
    await reply(update, "unsupported_file")
