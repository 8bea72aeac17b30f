"""Guest mode (Bot API 10.0): the bot called by its @username in a chat it is not a member of.

Telegram delivers the calling message as `guest_message`, with the message it replies to, and
lets the bot answer it once: answerGuestQuery with one InlineQueryResult, which Telegram posts
into that chat for the bot. So the answer is one text message, with no voice note, chat action,
growing preview or button (the bot can send nothing else there): the transcript of the voice
note the caller replied to, or the answer to their question about it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator

from telegram import InlineQueryResultArticle, InputTextMessageContent, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.core.text import TELEGRAM_MAX_TEXT, markdown_to_html, split_message
from bot.events import Answered, AssistantEvent, Heard, Notice, Refused
from bot.i18n import t
from bot.stores import progress
from bot.tg.context import BotContext
from bot.tg.incoming import DownloadLimits, describe_text, replied_audio, user_language

log = logging.getLogger(__name__)

# Room for the tags Markdown → HTML adds: the one message must stay within Telegram's limit.
_LIMIT = TELEGRAM_MAX_TEXT - 400
_PART = "guest"  # the answer's name in the update's progress record (bot.stores.progress)


async def answer_guest(update: Update, context: BotContext) -> None:
    """Answer a guest call: the replied voice note's transcript, or an answer about it."""
    message = update.guest_message
    if message is None or not message.guest_query_id:
        return
    bot, settings = context.bot, context.services.settings
    language = user_language(update)
    limits = DownloadLimits(
        max_seconds=settings.max_recording_seconds, max_bytes=settings.max_download_bytes
    )
    about = replied_audio(update, bot, limits)
    if about is None:  # nothing to listen to: say what a guest call can do
        await answer(message, t("guest_no_voice", language, bot=bot.username))
        return
    request = (
        about
        if isinstance(about, Refused)
        else describe_text(
            update, bot.username, max_tokens=settings.max_input_tokens, about=about, text_only=True
        )
    )
    if isinstance(request, Refused):
        await answer(message, t(request.key, language, **request.params))
        return
    await answer(message, await _collect(context.services.assistant.answer_text(request), language))


async def _collect(events: AsyncGenerator[AssistantEvent, None], language: str | None) -> str:
    """The turn's one text: what was heard, then the answer or why there is none."""
    header, body = "", []
    async with contextlib.aclosing(events) as stream:
        async for event in stream:
            if isinstance(event, Heard):
                language = event.language
                header = t("heard", language, text=event.text)
            elif isinstance(event, Answered):
                body.append(event.text)
            elif isinstance(event, Notice | Refused):
                body.append(t(event.key, language, **event.params))
    return "\n\n".join(part for part in (header, *body) if part)


async def answer(message: Message, text: str) -> None:
    """Post `text` as the guest answer: formatted, or plain when Telegram rejects the markup.

    One message is all a guest query gets, so a text over Telegram's limit is cut short, and
    a worker resuming the update after it was answered answers nothing more.
    """
    if await progress.already_sent(_PART):
        return
    parts = split_message(text, _LIMIT)
    text = parts[0] if len(parts) == 1 else parts[0].rstrip() + " …"
    try:
        await message.answer_guest_query(_article(markdown_to_html(text), ParseMode.HTML))
    except BadRequest as error:
        log.info("formatting rejected, answering in plain text: %s", error.message)
        await message.answer_guest_query(_article(text, None))
    await progress.record_sent(_PART)


def _article(text: str, parse_mode: str | None) -> InlineQueryResultArticle:
    # The title only shows in a list of inline results, never in the posted message.
    content = InputTextMessageContent(text, parse_mode=parse_mode)
    return InlineQueryResultArticle(id="answer", title="🎙", input_message_content=content)
