"""Assistant events as Telegram messages: a growing draft, the whole text, a voice bubble."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest
from telegram.ext import ExtBot

from bot.core.text import TELEGRAM_MAX_TEXT, markdown_to_html, split_message
from bot.events import (
    AnswerDelta,
    Answered,
    AssistantEvent,
    Heard,
    Hearing,
    Notice,
    Refused,
    Spoken,
)
from bot.i18n import t
from bot.metrics import Metrics
from bot.stores import progress
from bot.tg.actions import ActionKeepalive
from bot.tg.ratelimit import Dropped, Priority
from bot.tg.reactions import WRITING, ProgressReaction

log = logging.getLogger(__name__)

# Leave room for the tags that Markdown → HTML adds to each part.
_PART_LIMIT = TELEGRAM_MAX_TEXT - 400
# A group may get about 20 messages a minute, edits included: one preview edit per 3 s at most.
GROUP_INTERVAL = 3.0
LISTEN_PREFIX = "say:"  # the "🔊" button's data: "say:<token>" (bot.tg.listen answers it)


def listen_button(token: str) -> InlineKeyboardMarkup:
    """The "🔊" button that speaks a text answer on demand."""
    return InlineKeyboardMarkup([[InlineKeyboardButton("🔊", callback_data=LISTEN_PREFIX + token)]])


class ReplyRenderer:
    """Shows one answer in one chat.

    Private chats stream with sendMessageDraft (Bot API 9.3) and then send the final message;
    groups send a message and edit it. The transcript and the answer's first words show at once;
    later updates come at most once per `interval` seconds (GROUP_INTERVAL in groups). Previews
    are ephemeral: the rate limiter drops them when the budget is short, never the final text.
    """

    def __init__(
        self,
        bot: ExtBot[Any],
        chat_id: int,
        *,
        language: str | None,
        private: bool,
        reply_to: int | None,
        interval: float,
        metrics: Metrics,
        action: ActionKeepalive | None = None,
        thread_id: int | None = None,
        reaction: ProgressReaction | None = None,
    ) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._language = language
        self._private = private
        self._reply_to = reply_to
        self._interval = interval if private else max(interval, GROUP_INTERVAL)
        self._metrics = metrics
        self._action = action
        self._thread_id = thread_id  # the forum topic the question came from: answers go there
        self._reaction = reaction  # on the voice note: ✍ once the answer is being written
        self._draft_id = reply_to or 1
        self._header = ""
        self._header_sent = False
        self._preview: Message | None = None
        self._shown = ""
        self._last_update = 0.0
        self._answer_shown = False
        self._hearing_shown = False

    async def render(self, events: AsyncGenerator[AssistantEvent, None]) -> None:
        """Consume the assistant's events and show each one.

        The generator is closed on every path: a send that fails mid-answer must not leave the
        turn suspended with its locks held.
        """
        async with contextlib.aclosing(events) as stream:
            async for event in stream:
                await self._show(event)
        if self._header and not self._header_sent:
            # The transcript alone: a group's preview message becomes it, not a second copy.
            await self._finish(self._header)

    async def _once(self, part: str, send: Callable[[], Awaitable[object]]) -> None:
        """Send a part that must arrive once, also when another worker resumes this update."""
        if await progress.already_sent(part):
            return
        await send()
        await progress.record_sent(part)

    async def _show(self, event: AssistantEvent) -> None:
        if isinstance(event, Hearing):
            # The transcript grows in the draft; its first words go out at once, like an answer's.
            first = not self._hearing_shown
            self._hearing_shown = True
            await self._update_preview(t("heard", self._language, text=event.text), at_once=first)
        elif isinstance(event, Heard):
            self._language = event.language
            self._header = t("heard", event.language, text=event.text)
            await self._update_preview(self._header, at_once=True)
        elif isinstance(event, AnswerDelta):
            # The first words go out at once: waiting for the interval would hold them back.
            first = not self._answer_shown and bool(event.text.strip())
            if first and self._reaction is not None:
                await self._reaction.show(WRITING)
            await self._update_preview(self._compose(event.text), at_once=first)
            self._answer_shown = self._answer_shown or first
        elif isinstance(event, Answered):
            markup = listen_button(event.listen) if event.listen else None
            await self._finish(self._compose(event.text), markup)
        elif isinstance(event, Spoken):
            await self._once("voice", lambda: self._send_voice(event))
        elif isinstance(event, Notice | Refused):
            note = t(event.key, self._language, **event.params)
            await self._once(f"note:{event.key}", lambda: self._finish_refusal(note))
            self._header_sent = True  # the note carried the header (also when sent before)

    def _compose(self, answer: str) -> str:
        return f"{self._header}\n\n{answer}" if self._header else answer

    async def _update_preview(self, text: str, *, at_once: bool = False) -> None:
        now = time.monotonic()
        if text == self._shown or (not at_once and now - self._last_update < self._interval):
            return
        if await progress.already_sent("text:0"):
            return  # resumed after the final text was sent: a new preview would repeat it
        self._last_update = now
        self._shown = text
        preview = text[:TELEGRAM_MAX_TEXT]
        ephemeral = Priority.EPHEMERAL
        try:
            if self._private:
                await self._bot.send_message_draft(self._chat_id, self._draft_id, preview)
            elif self._preview is None:
                self._preview = await self._bot.send_message(
                    self._chat_id,
                    preview,
                    reply_to_message_id=self._reply_to,
                    message_thread_id=self._thread_id,
                    rate_limit_args=ephemeral,
                )
            else:
                await self._bot.edit_message_text(
                    preview,
                    chat_id=self._chat_id,
                    message_id=self._preview.message_id,
                    rate_limit_args=ephemeral,
                )
        except Dropped:  # the budget is short: the next update (or the final text) shows it
            self._shown = ""
            return
        except BadRequest as error:  # a draft or edit is a nicety; the final message matters
            log.info("preview not shown: %s", error.message)
            return
        if self._action is not None:
            self._action.progressed()

    async def _finish(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Send the final text; `markup` goes under its last part."""
        self._header_sent = True
        parts = split_message(text, _PART_LIMIT)
        first, rest = parts[0], parts[1:]
        first_markup = None if rest else markup
        if self._preview is not None:
            preview = self._preview
            await self._once("text:0", lambda: self._edit_formatted(preview, first, first_markup))
        else:
            await self._once("text:0", lambda: self.send_text(first, first_markup))
        for number, part in enumerate(rest, start=1):
            part_markup = markup if number == len(rest) else None
            await self._once(
                f"text:{number}",
                lambda part=part, part_markup=part_markup: self.send_text(part, part_markup),  # type: ignore[misc]
            )

    async def _finish_refusal(self, note: str) -> None:
        if self._preview is not None and not self._header_sent:
            self._header_sent = True
            await self._edit_formatted(self._preview, self._compose(note))
            return
        if self._header and not self._header_sent:
            self._header_sent = True
            note = f"{self._header}\n\n{note}"
        await self.send_text(note)

    async def send_text(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Send text as formatted HTML, falling back to plain text when Telegram rejects it.

        `markup` (inline buttons) goes under the last message.
        """
        parts = split_message(text, _PART_LIMIT)
        for number, part in enumerate(parts, start=1):
            buttons = markup if number == len(parts) else None
            try:
                await self._bot.send_message(
                    self._chat_id,
                    markdown_to_html(part),
                    parse_mode=ParseMode.HTML,
                    reply_to_message_id=self._reply_to,
                    message_thread_id=self._thread_id,
                    reply_markup=buttons,
                )
            except BadRequest as error:
                log.info("formatting rejected, sending plain text: %s", error.message)
                await self._bot.send_message(
                    self._chat_id,
                    part,
                    reply_to_message_id=self._reply_to,
                    message_thread_id=self._thread_id,
                    reply_markup=buttons,
                )

    async def _edit_formatted(
        self, message: Message, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        try:
            await message.edit_text(
                markdown_to_html(text), parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except BadRequest as error:
            if "not modified" in error.message:
                return
            try:
                await message.edit_text(text, reply_markup=markup)
            except BadRequest as again:
                if "not modified" not in again.message:
                    raise

    async def _send_voice(self, event: Spoken) -> None:
        if self._action is not None:
            self._action.show(ChatAction.UPLOAD_VOICE)
        with self._metrics.time_stage("upload"):
            await self._bot.send_voice(
                self._chat_id,
                event.ogg,
                duration=max(1, round(event.duration)),
                reply_to_message_id=self._reply_to,
                message_thread_id=self._thread_id,
            )
