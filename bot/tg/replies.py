"""Assistant events as Telegram messages: a growing draft, the whole text, a voice bubble."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from telegram import Message
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest
from telegram.ext import ExtBot

from bot.core.text import TELEGRAM_MAX_TEXT, markdown_to_html, split_message
from bot.events import AnswerDelta, Answered, AssistantEvent, Heard, Notice, Refused, Spoken
from bot.i18n import t
from bot.metrics import Metrics
from bot.tg.actions import ActionKeepalive
from bot.tg.ratelimit import Dropped, Priority

log = logging.getLogger(__name__)

# Leave room for the tags that Markdown → HTML adds to each part.
_PART_LIMIT = TELEGRAM_MAX_TEXT - 400
# A group may get about 20 messages a minute, edits included: one preview edit per 3 s at most.
GROUP_INTERVAL = 3.0


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
    ) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._language = language
        self._private = private
        self._reply_to = reply_to
        self._interval = interval if private else max(interval, GROUP_INTERVAL)
        self._metrics = metrics
        self._action = action
        self._draft_id = reply_to or 1
        self._header = ""
        self._header_sent = False
        self._preview: Message | None = None
        self._shown = ""
        self._last_update = 0.0
        self._answer_shown = False

    async def render(self, events: AsyncIterator[AssistantEvent]) -> None:
        """Consume the assistant's events and show each one."""
        async for event in events:
            await self._show(event)
        if self._header and not self._header_sent:
            await self.send_text(self._header)

    async def _show(self, event: AssistantEvent) -> None:
        if isinstance(event, Heard):
            self._language = event.language
            self._header = t("heard", event.language, text=event.text)
            await self._update_preview(self._header, at_once=True)
        elif isinstance(event, AnswerDelta):
            # The first words go out at once: waiting for the interval would hold them back.
            first = not self._answer_shown and bool(event.text.strip())
            await self._update_preview(self._compose(event.text), at_once=first)
            self._answer_shown = self._answer_shown or first
        elif isinstance(event, Answered):
            await self._finish(self._compose(event.text))
        elif isinstance(event, Spoken):
            await self._send_voice(event)
        elif isinstance(event, Notice | Refused):
            await self._finish_refusal(t(event.key, self._language, **event.params))

    def _compose(self, answer: str) -> str:
        return f"{self._header}\n\n{answer}" if self._header else answer

    async def _update_preview(self, text: str, *, at_once: bool = False) -> None:
        now = time.monotonic()
        if text == self._shown or (not at_once and now - self._last_update < self._interval):
            return
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

    async def _finish(self, text: str) -> None:
        self._header_sent = True
        parts = split_message(text, _PART_LIMIT)
        first, rest = parts[0], parts[1:]
        if self._preview is not None:
            await self._edit_formatted(self._preview, first)
        else:
            await self.send_text(first)
        for part in rest:
            await self.send_text(part)

    async def _finish_refusal(self, note: str) -> None:
        if self._preview is not None and not self._header_sent:
            self._header_sent = True
            await self._edit_formatted(self._preview, self._compose(note))
            return
        if self._header and not self._header_sent:
            self._header_sent = True
            note = f"{self._header}\n\n{note}"
        await self.send_text(note)

    async def send_text(self, text: str) -> None:
        """Send text as formatted HTML, falling back to plain text when Telegram rejects it."""
        for part in split_message(text, _PART_LIMIT):
            try:
                await self._bot.send_message(
                    self._chat_id,
                    markdown_to_html(part),
                    parse_mode=ParseMode.HTML,
                    reply_to_message_id=self._reply_to,
                )
            except BadRequest as error:
                log.info("formatting rejected, sending plain text: %s", error.message)
                await self._bot.send_message(
                    self._chat_id, part, reply_to_message_id=self._reply_to
                )

    async def _edit_formatted(self, message: Message, text: str) -> None:
        try:
            await message.edit_text(markdown_to_html(text), parse_mode=ParseMode.HTML)
        except BadRequest as error:
            if "not modified" in error.message:
                return
            try:
                await message.edit_text(text)
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
            )
