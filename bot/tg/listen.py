"""The "🔊" button under a text answer: that answer as a voice note, once, on demand."""

from __future__ import annotations

import contextlib
import logging

from telegram import Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest

from bot.events import Notice, Refused, Spoken
from bot.i18n import t
from bot.tg.context import BotContext
from bot.tg.incoming import describe_sender, topic_of, user_language
from bot.tg.replies import LISTEN_PREFIX

log = logging.getLogger(__name__)


async def on_listen(update: Update, context: BotContext) -> None:
    """Speak the answer under the button pressed, then take the button away."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    message = query.message
    if not isinstance(message, Message):  # too old for Telegram to show the bot its message
        await query.answer(t("listen_gone", user_language(update)), show_alert=True)
        return
    token = query.data.removeprefix(LISTEN_PREFIX)
    spoken: Spoken | None = None
    note: Refused | Notice | None = None
    topic = topic_of(message)
    actions = context.services.actions
    async with (
        actions.hold(context.bot, message.chat_id, ChatAction.RECORD_VOICE, thread_id=topic),
        contextlib.aclosing(
            context.services.assistant.speak_saved(describe_sender(update), token)
        ) as events,
    ):
        async for event in events:
            if isinstance(event, Spoken):
                spoken = event
            elif isinstance(event, Refused | Notice):
                note = event
        if spoken is not None:
            await context.bot.send_voice(
                message.chat_id,
                spoken.ogg,
                duration=max(1, round(spoken.duration)),
                reply_to_message_id=message.message_id,
                message_thread_id=topic,
            )
    language = user_language(update)
    if spoken is None:
        key, params = (note.key, note.params) if note else ("voice_unavailable", {})
        await query.answer(t(key, language, **params)[:200], show_alert=True)
        if key != "listen_gone":
            return  # it may work later: the button stays
    else:
        await query.answer()
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as error:  # already gone (pressed twice at once): nothing to remove
        log.info("listen button not removed: %s", error.message)
