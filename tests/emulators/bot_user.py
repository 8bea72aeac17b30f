"""The test side of the Bot API emulator: users who write, speak and send files to the bot."""

from __future__ import annotations

import mimetypes
import re
import time
from typing import Any

from tests.emulators.bot_state import BOT_USERNAME, BotState, StoredFile
from tests.emulators.telegram_markup import utf16_len

DEFAULT_GROUP_ID = -1001234567890


class UserActions(BotState):
    """Builders that push realistic message updates and return the new message's id."""

    def add_file(
        self, data: bytes, *, file_unique_id: str | None = None, file_path: str | None = None
    ) -> tuple[str, str]:
        """Store a file the bot can download; return (file_id, file_unique_id).

        Every call gives a new file_id; pass an existing file_unique_id to model a forwarded
        copy of the same file.
        """
        stored = self.store_file(data, file_unique_id=file_unique_id, file_path=file_path)
        return stored.file_id, stored.file_unique_id

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "en",
        username: str | None = None,
        first_name: str = "Test",
        reply_to_bot: bool = False,
        entities: list[dict[str, Any]] | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """A user writes `text`; commands and @bot mentions get their entities automatically.

        `thread_id` writes in that topic of a forum supergroup; `reply_to` replies to that
        message of the chat (anyone's).
        """
        message = self._new_message(
            user_id, chat_id, chat_type, language_code, username, first_name, reply_to_bot
        )
        self._in_topic(message, thread_id)
        if reply_to is not None:
            message["reply_to_message"] = self.messages[message["chat"]["id"]][reply_to]
        message["text"] = text
        found = _text_entities(text, chat_type) if entities is None else entities
        if found:
            message["entities"] = found
        return self._deliver(message)

    def send_voice(
        self,
        user_id: int,
        data_or_file_id: bytes | str,
        *,
        duration: int,
        file_size: int | None = None,
        mime_type: str = "audio/ogg",
        language_code: str | None = "en",
        chat_id: int | None = None,
        chat_type: str = "private",
        username: str | None = None,
        first_name: str = "Test",
        reply_to_bot: bool = False,
        thread_id: int | None = None,
    ) -> int:
        """A user records a voice note (bytes are stored as a new file; a str is a file_id)."""
        message = self._new_message(
            user_id, chat_id, chat_type, language_code, username, first_name, reply_to_bot
        )
        self._in_topic(message, thread_id)
        self._add_voice(message, data_or_file_id, duration, file_size, mime_type)
        return self._deliver(message)

    def _add_voice(
        self,
        message: dict[str, Any],
        data_or_file_id: bytes | str,
        duration: int,
        file_size: int | None = None,
        mime_type: str = "audio/ogg",
    ) -> None:
        stored = self._file(data_or_file_id, "voice", ".oga", file_size)
        message["voice"] = {**_file_json(stored), "duration": duration, "mime_type": mime_type}

    def send_audio(
        self,
        user_id: int,
        data_or_file_id: bytes | str,
        *,
        duration: int,
        file_name: str = "audio.mp3",
        mime_type: str = "audio/mpeg",
        file_size: int | None = None,
        language_code: str | None = "en",
        chat_id: int | None = None,
        chat_type: str = "private",
        username: str | None = None,
        first_name: str = "Test",
    ) -> int:
        """A user sends a music/audio file (message.audio)."""
        stored = self._file(data_or_file_id, "music", _extension(file_name), file_size)
        message = self._new_message(
            user_id, chat_id, chat_type, language_code, username, first_name, False
        )
        message["audio"] = {
            **_file_json(stored),
            "duration": duration,
            "file_name": file_name,
            "mime_type": mime_type,
        }
        return self._deliver(message)

    def send_video_note(
        self,
        user_id: int,
        data_or_file_id: bytes | str,
        *,
        duration: int,
        length: int = 240,
        file_size: int | None = None,
        language_code: str | None = "en",
        chat_id: int | None = None,
        chat_type: str = "private",
        username: str | None = None,
        first_name: str = "Test",
    ) -> int:
        """A user sends a round video note (message.video_note)."""
        stored = self._file(data_or_file_id, "video_notes", ".mp4", file_size)
        message = self._new_message(
            user_id, chat_id, chat_type, language_code, username, first_name, False
        )
        message["video_note"] = {**_file_json(stored), "duration": duration, "length": length}
        return self._deliver(message)

    def send_document(
        self,
        user_id: int,
        data: bytes | str,
        *,
        file_name: str,
        mime_type: str | None = None,
        file_size: int | None = None,
        caption: str | None = None,
        language_code: str | None = "en",
        chat_id: int | None = None,
        chat_type: str = "private",
        username: str | None = None,
        first_name: str = "Test",
    ) -> int:
        """A user sends a file as a document (message.document)."""
        stored = self._file(data, "documents", _extension(file_name), file_size)
        message = self._new_message(
            user_id, chat_id, chat_type, language_code, username, first_name, False
        )
        mime = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        message["document"] = {**_file_json(stored), "file_name": file_name, "mime_type": mime}
        if caption is not None:
            message["caption"] = caption
        return self._deliver(message)

    def post_in_channel(self, chat_id: int, text: str, *, title: str = "Test channel") -> int:
        """The channel's admins post `text` in a channel where the bot is an admin too."""
        chat = {"id": chat_id, "type": "channel", "title": title}
        self.chats[chat_id] = chat
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "sender_chat": chat,
            "text": text,
        }
        self.remember(message)
        self.push_update({"channel_post": message})
        return int(message["message_id"])

    def send_as_chat(
        self, chat_id: int, sender_chat_id: int, text: str, *, title: str = "Linked channel"
    ) -> int:
        """A group message on behalf of a chat (an anonymous admin, a linked channel): no `from`."""
        chat = {"id": chat_id, "type": "supergroup", "title": "Test group"}
        self.chats[chat_id] = chat
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "sender_chat": {"id": sender_chat_id, "type": "channel", "title": title},
            "text": text,
        }
        found = _text_entities(text, "supergroup")
        if found:
            message["entities"] = found
        return self._deliver(message)

    def edit_text(self, chat_id: int, message_id: int, text: str) -> None:
        """The author edits one of their earlier text messages (an `edited_message` update)."""
        message = {**self.messages[chat_id][message_id], "text": text}
        message["edit_date"] = int(time.time())
        found = _text_entities(text, message["chat"]["type"])
        message.pop("entities", None)
        if found:
            message["entities"] = found
        self.remember(message)
        self.push_update({"edited_message": message})

    def press_button(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int,
        language_code: str | None = "en",
        chat_id: int | None = None,
    ) -> str:
        """A user presses an inline button under one of the bot's messages; return the query id.

        The message is in the private chat with the user unless `chat_id` names a group.
        """
        sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Test"}
        if language_code:
            sender["language_code"] = language_code
        query_id = f"{user_id}{next(self._query_ids)}"
        self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": sender,
                    "message": self.messages[chat_id or user_id][message_id],
                    "chat_instance": str(chat_id or user_id),
                    "data": data,
                }
            }
        )
        return query_id

    # ---- helpers ---------------------------------------------------------------------------

    def _in_topic(self, message: dict[str, Any], thread_id: int | None) -> None:
        if thread_id is None:
            return
        message["chat"]["is_forum"] = True
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True

    def _file(
        self, data_or_file_id: bytes | str, folder: str, extension: str, size: int | None
    ) -> StoredFile:
        if isinstance(data_or_file_id, str):
            stored = self.files[data_or_file_id]
            if size is not None:
                stored.size = size
            return stored
        return self.store_file(data_or_file_id, size=size, folder=folder, extension=extension)

    def _new_message(
        self,
        user_id: int,
        chat_id: int | None,
        chat_type: str,
        language_code: str | None,
        username: str | None,
        first_name: str,
        reply_to_bot: bool,
    ) -> dict[str, Any]:
        sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            sender["username"] = username
        if language_code:
            sender["language_code"] = language_code
        if chat_type == "private":
            chat = {k: v for k, v in sender.items() if k in ("id", "first_name", "username")}
            chat["type"] = "private"
        else:
            chat = {"id": chat_id or DEFAULT_GROUP_ID, "type": chat_type, "title": "Test group"}
        self.chats[chat["id"]] = chat
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
        }
        if reply_to_bot:
            message["reply_to_message"] = self._last_bot_message(chat["id"])
        return message

    def _last_bot_message(self, chat_id: int) -> dict[str, Any]:
        sent = self.chat_messages(chat_id)
        if not sent:
            raise ValueError(f"the bot has sent nothing to chat {chat_id} to reply to")
        return self.messages[chat_id][sent[-1].message_id]

    def _deliver(self, message: dict[str, Any]) -> int:
        self.remember(message)
        self.push_update({"message": message})
        return int(message["message_id"])


def _file_json(stored: StoredFile) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
    }


def _extension(file_name: str) -> str:
    dot = file_name.rfind(".")
    return file_name[dot:] if dot > 0 else ""


def _text_entities(text: str, chat_type: str) -> list[dict[str, Any]]:
    """bot_command for a leading /command; mention entities for @bot in groups."""
    entities: list[dict[str, Any]] = []
    command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
    if command:
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command[0])})
    if chat_type != "private":
        for match in re.finditer(rf"@{BOT_USERNAME}\b", text):
            if command and match.start() < command.end():
                continue
            offset = utf16_len(text[: match.start()])
            entities.append({"type": "mention", "offset": offset, "length": utf16_len(match[0])})
    return entities
