"""Bot API methods that send, edit and delete messages, with Telegram's validation rules."""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.emulators.audio_tools import audio_duration, png_size
from tests.emulators.bot_http import ApiError, Upload, bad_request
from tests.emulators.bot_state import BOT_USER, MAX_DOWNLOAD_SIZE, BotMessage, StoredFile
from tests.emulators.bot_user import UserActions
from tests.emulators.telegram_markup import MarkupError, utf16_len, visible_text

MAX_TEXT = 4096
MAX_CAPTION = 1024
CHAT_ACTIONS = frozenset(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document"
    " choose_sticker find_location record_video_note upload_video_note".split()
)
_FOLDERS = {"voice": ("voice", ".oga"), "audio": ("music", ".mp3"), "photo": ("photos", ".jpg")}

Handler = Callable[[dict[str, Any], dict[str, Upload]], Awaitable[Any]]


def checked_text(text: Any, parse_mode: Any, *, caption: bool = False) -> str:
    """The visible text of a message or caption, or the ApiError Telegram would answer."""
    what, limit = ("message caption", MAX_CAPTION) if caption else ("message", MAX_TEXT)
    if not caption and (text is None or str(text) == ""):
        raise bad_request("message text is empty")
    try:
        visible = visible_text(str(text or ""), parse_mode)
    except MarkupError as error:
        raise bad_request(f"can't parse entities: {error}") from None
    if not caption and not visible.strip():
        raise bad_request("message text is empty")
    if utf16_len(visible) > limit:
        raise bad_request(f"{what} is too long")
    return visible


class MediaMethods(UserActions):
    """sendMessage, editMessageText, drafts, actions, media, getFile, delete and reactions."""

    def message_methods(self) -> dict[str, Handler]:
        """Method name -> handler for the message methods."""
        return {
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "sendMessageDraft": self._send_message_draft,
            "sendChatAction": self._send_chat_action,
            "sendVoice": self._media_sender("voice"),
            "sendAudio": self._media_sender("audio"),
            "sendPhoto": self._media_sender("photo"),
            "sendDocument": self._media_sender("document"),
            "getFile": self._get_file,
            "deleteMessage": self._delete_message,
            "setMessageReaction": self._set_message_reaction,
        }

    def chat_id(self, params: dict[str, Any]) -> int:
        """The numeric chat_id parameter, or the error Telegram gives for it."""
        value = params.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if isinstance(value, str) and not value.lstrip("-").isdigit():
            raise bad_request("chat not found")
        return int(value)

    def _target(self, params: dict[str, Any]) -> int:
        chat_id = self.chat_id(params)
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.absent_chats:
            raise ApiError(403, "Forbidden: bot is not a member of the supergroup chat")
        return chat_id

    def _reply_to(self, chat_id: int, params: dict[str, Any]) -> int | None:
        reply = params.get("reply_parameters") or {}
        if isinstance(reply, str):
            reply = json.loads(reply)
        message_id = reply.get("message_id", params.get("reply_to_message_id"))
        if message_id is None:
            return None
        if int(message_id) not in self.messages.get(chat_id, {}):
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return int(message_id)

    def _post(
        self, chat_id: int, params: dict[str, Any], kind: str, visible: str | None, **content: Any
    ) -> tuple[dict[str, Any], BotMessage]:
        """Create, remember and record a message from the bot."""
        reply_to = self._reply_to(chat_id, params)
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": BOT_USER,
            **content,
        }
        if reply_to is not None:
            message["reply_to_message"] = self.messages[chat_id][reply_to]
        thread_id = _thread_id(params)
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        self.remember(message)
        raw = params.get("caption") if kind != "text" else params.get("text")
        record = BotMessage(
            chat_id=chat_id,
            message_id=message["message_id"],
            kind=kind,
            text=visible,
            raw_text=raw,
            parse_mode=params.get("parse_mode"),
            reply_to_message_id=reply_to,
            thread_id=thread_id,
        )
        self.bot_messages.setdefault(chat_id, []).append(record)
        return message, record

    async def _send_message(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        chat_id = self._target(params)
        visible = checked_text(params.get("text"), params.get("parse_mode"))
        message, _ = self._post(chat_id, params, "text", visible, text=visible)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    async def _edit_message_text(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the emulator")
        chat_id = self.chat_id(params)
        record = self._bot_message(chat_id, params.get("message_id"))
        if record is None:
            raise bad_request("message to edit not found")
        if record.kind != "text":
            raise bad_request("there is no text in the message to edit")
        visible = checked_text(params.get("text"), params.get("parse_mode"))
        message = self.messages[chat_id][record.message_id]
        markup = params.get("reply_markup")
        if (visible, params.get("text"), markup) == (
            record.text,
            record.raw_text,
            message.get("reply_markup"),
        ):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are"
                " exactly the same as a current content and reply markup of the message"
            )
        record.text, record.raw_text = visible, params.get("text")
        record.parse_mode = params.get("parse_mode")
        record.edits.append(visible)
        message.update(text=visible, edit_date=int(time.time()))
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        return message

    async def _edit_message_reply_markup(
        self, params: dict[str, Any], uploads: dict[str, Upload]
    ) -> Any:
        chat_id = self.chat_id(params)
        record = self._bot_message(chat_id, params.get("message_id"))
        if record is None:
            raise bad_request("message to edit not found")
        message = self.messages[chat_id][record.message_id]
        markup = params.get("reply_markup") or None
        if markup == {"inline_keyboard": []}:
            markup = None
        if markup == message.get("reply_markup"):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are"
                " exactly the same as a current content and reply markup of the message"
            )
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        return message

    async def _send_message_draft(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        chat_id = self._target(params)
        if self.chat(chat_id)["type"] != "private":
            raise bad_request("TEXTDRAFT_PEER_INVALID")
        if not params.get("draft_id"):
            raise bad_request("DRAFT_ID_INVALID")
        text = params.get("text") or ""
        visible = checked_text(text, params.get("parse_mode")) if text else ""
        self.draft_log.setdefault(chat_id, []).append(visible)
        return True

    async def _send_chat_action(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        chat_id = self._target(params)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.action_log.setdefault(chat_id, []).append(str(action))
        self.action_threads.setdefault(chat_id, []).append(_thread_id(params))
        return True

    def _media_sender(self, kind: str) -> Handler:
        async def send(params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
            return self._send_media(kind, params, uploads)

        return send

    def _send_media(self, kind: str, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        chat_id = self._target(params)
        caption = params.get("caption")
        visible = checked_text(caption, params.get("parse_mode"), caption=True) if caption else None
        stored, upload = self._media_file(kind, params, uploads)
        content, duration = _media_json(kind, stored, upload, params)
        extra = {"caption": visible} if visible else {}
        message, record = self._post(chat_id, params, kind, visible, **{kind: content}, **extra)
        record.data, record.duration = stored.data, duration
        record.file_name = upload.filename if upload else None
        return message

    def _media_file(
        self, kind: str, params: dict[str, Any], uploads: dict[str, Upload]
    ) -> tuple[StoredFile, Upload | None]:
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value.removeprefix("attach://"))
        else:
            upload = uploads.get(kind)
        if upload is not None:
            folder, extension = _FOLDERS.get(kind, ("documents", ""))
            name_ext = (upload.filename or "").rpartition(".")
            if kind == "document" and name_ext[1]:
                extension = "." + name_ext[2]
            stored = self.store_file(upload.data, folder=folder, extension=extension)
            return stored, upload
        if isinstance(value, str) and value in self.files:
            return self.files[value], None
        if isinstance(value, str) and value:
            raise bad_request("wrong file identifier/HTTP URL specified")
        raise bad_request(f"there is no {kind} in the request")

    async def _get_file(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.size > MAX_DOWNLOAD_SIZE:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    async def _delete_message(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        chat_id = self.chat_id(params)
        message_id = int(params.get("message_id") or 0)
        if self.messages.get(chat_id, {}).pop(message_id, None) is None:
            raise bad_request("message to delete not found")
        record = self._bot_message(chat_id, message_id)
        if record is not None:
            record.deleted = True
        return True

    async def _set_message_reaction(
        self, params: dict[str, Any], uploads: dict[str, Upload]
    ) -> Any:
        chat_id = self.chat_id(params)
        message_id = int(params.get("message_id") or 0)
        if message_id not in self.messages.get(chat_id, {}):
            raise bad_request("MESSAGE_ID_INVALID")
        self.reactions[(chat_id, message_id)] = list(params.get("reaction") or [])
        return True

    def _bot_message(self, chat_id: int, message_id: Any) -> BotMessage | None:
        for record in self.chat_messages(chat_id):
            if record.message_id == int(message_id or 0):
                return record
        return None


def _thread_id(params: dict[str, Any]) -> int | None:
    value = params.get("message_thread_id")
    return None if value in (None, "") else int(value)


def _media_json(
    kind: str, stored: StoredFile, upload: Upload | None, params: dict[str, Any]
) -> tuple[Any, float | None]:
    """The Message field for a sent file, and the duration to record."""
    ids: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
    ids["file_size"] = stored.size
    declared = params.get("duration")
    duration = float(declared) if declared is not None else audio_duration(stored.data)
    name = upload.filename if upload else None
    mime = (upload.content_type if upload else None) or mimetypes.guess_type(name or "")[0]
    if kind == "voice":
        return {**ids, "duration": round(duration), "mime_type": "audio/ogg"}, duration
    if kind == "audio":
        audio = {**ids, "duration": round(duration), "mime_type": mime or "audio/mpeg"}
        return ({**audio, "file_name": name} if name else audio), duration
    if kind == "photo":
        width, height = png_size(stored.data) or (800, 600)
        return [{**ids, "width": width, "height": height}], None
    document = {**ids, "mime_type": mime or "application/octet-stream"}
    return ({**document, "file_name": name} if name else document), None
