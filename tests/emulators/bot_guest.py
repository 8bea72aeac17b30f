"""Guest mode of the Bot API emulator (Bot API 10.0): calls from chats the bot is not in.

A user mentions the bot's @username in a chat it is not a member of; the bot gets the message
as a `guest_message` update carrying a `guest_query_id` (and the message it replies to), and may
answer it once with answerGuestQuery and one InlineQueryResult, which Telegram posts into that
chat for the bot and identifies by an inline_message_id (a SentGuestMessage). The bot can send
nothing else to that chat: sendMessage and the like are refused there with 403.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.emulators.bot_http import Upload, bad_request
from tests.emulators.bot_media import checked_text
from tests.emulators.bot_state import BOT_USER
from tests.emulators.bot_user import UserActions, _text_entities

Handler = Callable[[dict[str, Any], dict[str, Upload]], Awaitable[Any]]
GUEST_GROUP_ID = -1009876543210  # a group the bot is not a member of


@dataclass
class GuestAnswer:
    """What the bot posted, as a guest, in answer to one guest query."""

    query_id: str
    chat_id: int
    caller_id: int
    result: dict[str, Any]
    text: str  # the visible text of the posted message
    parse_mode: str | None
    inline_message_id: str


class GuestMode(UserActions):
    """The user side (a voice note the bot never sees, a guest call) and answerGuestQuery."""

    def guest_state(self) -> None:
        """Start with no guest queries (called by the emulator's constructor)."""
        self.guest_queries: dict[str, dict[str, Any]] = {}  # open query id -> guest message
        self.guest_answers: list[GuestAnswer] = []
        self._guest_numbers = itertools.count(1)

    def guest_methods(self) -> dict[str, Handler]:
        """Method name -> handler for guest mode."""
        return {"answerGuestQuery": self._answer_guest_query}

    # ---- the user side ---------------------------------------------------------------------

    def voice_without_bot(
        self,
        user_id: int,
        data_or_file_id: bytes | str,
        *,
        duration: int,
        chat_id: int = GUEST_GROUP_ID,
        language_code: str | None = "en",
    ) -> int:
        """A voice note in a group the bot is not a member of: it gets no update for it."""
        message = self._new_message(
            user_id, chat_id, "supergroup", language_code, None, "Test", False
        )
        self._add_voice(message, data_or_file_id, duration)
        self.absent_chats.add(message["chat"]["id"])
        self.remember(message)
        return int(message["message_id"])

    def call_as_guest(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int = GUEST_GROUP_ID,
        reply_to: int | None = None,
        language_code: str | None = "en",
        first_name: str = "Test",
    ) -> str:
        """A user calls the bot by @username in a group it is not in; return the guest_query_id.

        `reply_to` is the message of that group the call replies to (anyone's).
        """
        message = self._new_message(
            user_id, chat_id, "supergroup", language_code, None, first_name, False
        )
        self.absent_chats.add(message["chat"]["id"])
        if reply_to is not None:
            message["reply_to_message"] = self.messages[message["chat"]["id"]][reply_to]
        message["text"] = text
        if entities := _text_entities(text, "supergroup"):
            message["entities"] = entities
        query_id = f"guest{next(self._guest_numbers)}"
        message["guest_query_id"] = query_id
        self.remember(message)
        self.guest_queries[query_id] = message
        self.push_update({"guest_message": message})
        return query_id

    # ---- what tests read -------------------------------------------------------------------

    async def wait_for_guest_answer(self, query_id: str, timeout: float = 30) -> GuestAnswer:  # noqa: ASYNC109
        """Wait until the bot answered guest query `query_id` and return what it posted."""

        def answered() -> list[GuestAnswer]:
            return [a for a in self.guest_answers if a.query_id == query_id]

        await self.wait_for(lambda: bool(answered()), timeout)
        return answered()[0]

    # ---- the server side -------------------------------------------------------------------

    async def _answer_guest_query(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        query_id = str(params.get("guest_query_id") or "")
        if not query_id:
            raise bad_request("guest_query_id is empty")
        called = self.guest_queries.pop(query_id, None)  # a query is answered once
        if called is None:
            raise bad_request("QUERY_ID_INVALID")
        result = _json(params.get("result"))
        content = _article_content(result)
        parse_mode = content.get("parse_mode")
        visible = checked_text(content.get("message_text"), parse_mode)
        chat_id = called["chat"]["id"]
        inline_id = f"guest-{query_id}"
        self.guest_answers.append(
            GuestAnswer(
                query_id, chat_id, called["from"]["id"], result, visible, parse_mode, inline_id
            )
        )
        self.remember(
            {
                "message_id": self.next_message_id(chat_id),
                "date": int(time.time()),
                "chat": called["chat"],
                "from": BOT_USER,
                "text": visible,
                "guest_bot_caller_user": called["from"],
            }
        )
        return {"inline_message_id": inline_id}


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise bad_request("can't parse inline query result") from None
    if not isinstance(value, dict):
        raise bad_request("inline query result must be an object")
    return value


def _article_content(result: dict[str, Any]) -> dict[str, Any]:
    """The input_message_content of an article result, checked as Telegram checks it."""
    if result.get("type") != "article":
        raise bad_request("the emulator answers guest queries with article results only")
    if not 1 <= len(str(result.get("id") or "").encode()) <= 64:
        raise bad_request("RESULT_ID_INVALID")
    if not result.get("title"):
        raise bad_request("RESULT_TITLE_EMPTY")
    content = result.get("input_message_content")
    if not isinstance(content, dict) or "message_text" not in content:
        raise bad_request("input_message_content with message_text is required")
    return content
