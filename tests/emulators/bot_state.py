"""What the Bot API emulator remembers: files, chats, messages, updates and every call received."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.emulators._http import wait_until

BOT_ID = 999000
BOT_USERNAME = "voice_test_bot"
BOT_USER: dict[str, Any] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Voice Test Bot",
    "username": BOT_USERNAME,
}
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024  # getFile refuses bigger files on the public Bot API


@dataclass
class Call:
    """One Bot API request as the emulator received it."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    time: float
    status: int = 200


@dataclass
class StoredFile:
    """A file the bot can getFile and download."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    size: int


@dataclass
class BotMessage:
    """A message the bot sent, with its current state after edits."""

    chat_id: int
    message_id: int
    kind: str  # "text", "voice", "audio", "photo" or "document"
    text: str | None  # visible text (for media: the caption), after edits
    raw_text: str | None  # as the bot sent it, markup included
    parse_mode: str | None
    reply_to_message_id: int | None
    edits: list[str] = field(default_factory=list)
    data: bytes | None = None
    duration: float | None = None
    file_name: str | None = None
    deleted: bool = False
    thread_id: int | None = None  # the forum topic it was sent to


class BotState:
    """Storage and recording shared by the server side and the test side."""

    def __init__(self) -> None:
        """Start empty."""
        self.calls: list[Call] = []
        self.files: dict[str, StoredFile] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[int, dict[str, Any]]] = {}  # chat -> id -> Message JSON
        self.bot_messages: dict[int, list[BotMessage]] = {}
        self.draft_log: dict[int, list[str]] = {}
        self.action_log: dict[int, list[str]] = {}
        self.action_threads: dict[int, list[int | None]] = {}
        self.reactions: dict[tuple[int, int], list[dict[str, Any]]] = {}
        self.member_status: dict[tuple[int, int], str] = {}  # (chat, user) -> status
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.blocked_chats: set[int] = set()
        self.absent_chats: set[int] = set()  # chats the bot is not a member of (guest mode)
        self.updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(100_000_001)
        self._query_ids = itertools.count(1)
        self._file_numbers = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self.update_arrived = asyncio.Event()

    # ---- ids and storage -------------------------------------------------------------------

    def next_message_id(self, chat_id: int) -> int:
        """The next message id in a chat (user and bot messages share the sequence)."""
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def store_file(
        self,
        data: bytes,
        *,
        file_unique_id: str | None = None,
        file_path: str | None = None,
        size: int | None = None,
        folder: str = "documents",
        extension: str = "",
    ) -> StoredFile:
        """Keep `data` under a fresh file_id and return its record."""
        number = next(self._file_numbers)
        digest = hashlib.sha1(data).hexdigest()[:16]
        stored = StoredFile(
            file_id=f"AwACAgIAAxkBAAI{number:05d}{digest}",
            file_unique_id=file_unique_id or f"AgAD{number:05d}{digest[:6]}",
            data=data,
            file_path=file_path or f"{folder}/file_{number}{extension}",
            size=len(data) if size is None else size,
        )
        self.files[stored.file_id] = stored
        return stored

    def chat(self, chat_id: int) -> dict[str, Any]:
        """The Chat JSON for `chat_id`, invented for chats never seen."""
        if chat_id in self.chats:
            return self.chats[chat_id]
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Test"}
        return {"id": chat_id, "type": "supergroup", "title": "Test group"}

    def remember(self, message: dict[str, Any]) -> dict[str, Any]:
        """Keep a Message JSON so that replies, edits and reactions can find it."""
        self.messages.setdefault(message["chat"]["id"], {})[message["message_id"]] = message
        return message

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw Update JSON (update_id is assigned) and return its update_id."""
        update = {**update, "update_id": next(self._update_ids)}
        self.updates.append(update)
        self.update_arrived.set()
        return int(update["update_id"])

    # ---- what tests read -------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """Calls of one Bot API method (case-insensitive), in order."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def chat_messages(self, chat_id: int) -> list[BotMessage]:
        """Messages the bot sent to a chat and has not deleted, in order."""
        return [m for m in self.bot_messages.get(chat_id, []) if not m.deleted]

    def drafts(self, chat_id: int) -> list[str]:
        """Every draft text streamed to a chat with sendMessageDraft, in order."""
        return list(self.draft_log.get(chat_id, []))

    def chat_actions(self, chat_id: int) -> list[str]:
        """Every chat action sent to a chat, in order."""
        return list(self.action_log.get(chat_id, []))

    def chat_action_threads(self, chat_id: int) -> list[int | None]:
        """The forum topic (message_thread_id, None for none) of every chat action, in order."""
        return list(self.action_threads.get(chat_id, []))

    def reactions_to(self, chat_id: int, message_id: int) -> list[dict[str, Any]]:
        """The reaction list last set on a message (empty if none)."""
        return list(self.reactions.get((chat_id, message_id), []))

    def my_commands(self, language_code: str = "", scope: str = "default") -> list[dict[str, str]]:
        """Commands set with setMyCommands for a language code and scope type."""
        return list(self.commands.get((scope, language_code), []))

    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by the bot."""
        return len(self.updates)

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """A user's standing in a group for getChatMember: creator, administrator, member..."""
        self.member_status[(chat_id, user_id)] = status

    def set_blocked(self, chat_id: int, blocked: bool = True) -> None:
        """Make sends to a chat fail with 403, as after the user blocked the bot."""
        if blocked:
            self.blocked_chats.add(chat_id)
        else:
            self.blocked_chats.discard(chat_id)

    def describe_calls(self, last: int = 15) -> str:
        """The last calls, one per line, for assertion messages."""
        lines = [f"  {c.method} -> {c.status} {_short(c.params)}" for c in self.calls[-last:]]
        return "last Bot API calls:\n" + ("\n".join(lines) or "  (none)")

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10) -> None:  # noqa: ASYNC109
        """Wait until `predicate()` holds; on timeout raise AssertionError listing recent calls."""
        await wait_until(predicate, timeout, self.describe_calls)

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        kind: str | None = None,
        timeout: float = 10,  # noqa: ASYNC109
    ) -> list[BotMessage]:
        """Wait until the bot has sent `count` messages (of `kind`, if given) and return them."""

        def matching() -> list[BotMessage]:
            return [m for m in self.chat_messages(chat_id) if kind is None or m.kind == kind]

        await self.wait_for(lambda: len(matching()) >= count, timeout)
        return matching()


def _short(params: dict[str, Any]) -> str:
    text = repr({k: v for k, v in params.items() if k != "reply_markup"})
    return text if len(text) <= 160 else text[:157] + "..."
