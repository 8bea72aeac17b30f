"""Per-user preferences and per-conversation privacy vaults in Redis."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, replace

import redis.asyncio as aioredis
from cryptography.fernet import Fernet, InvalidToken

from bot.core.privacy import Vault
from bot.stores.redis import as_text
from bot.tts.base import SpeechStyle

MODES = ("chat", "transcribe", "text")
# Voice replies: never, to voice notes only (the default), to typed messages too.
REPLIES = ("off", "notes", "always")
SPEEDS = (0.8, 1.0, 1.25, 1.5)


@dataclass(frozen=True)
class Preferences:
    """What a user chose, and the language they last spoke confidently."""

    pinned_language: str | None = None
    last_language: str | None = None
    replies: str = "notes"
    mode: str = "chat"
    voice: str | None = None
    speed: float = 1.0

    @property
    def style(self) -> SpeechStyle:
        """The voice and speed to speak to this user with."""
        return SpeechStyle(voice=self.voice, speed=self.speed)

    def speaks(self, *, to_voice_note: bool) -> bool:
        """Whether an answer to a voice note (or to typed text) gets a voice note too."""
        if self.mode == "text" or self.replies == "off":
            return False
        return to_voice_note or self.replies == "always"


class PreferenceStore:
    """One Redis hash per user."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "") -> None:
        self._redis = client
        self._prefix = prefix

    async def load(self, user_id: int) -> Preferences:
        """The user's preferences (defaults when none were saved)."""
        raw = await self._redis.hgetall(f"{self._prefix}prefs:{user_id}")
        data = {as_text(k): as_text(v) for k, v in raw.items()}
        return Preferences(
            pinned_language=data.get("pinned") or None,
            last_language=data.get("last") or None,
            replies=_replies(data.get("voice")),
            mode=data["mode"] if data.get("mode") in MODES else "chat",
            voice=data.get("tts_voice") or None,
            speed=_speed(data.get("speed")),
        )

    async def update(self, user_id: int, **changes: object) -> Preferences:
        """Change some preferences and return the result."""
        prefs = replace(await self.load(user_id), **changes)  # type: ignore[arg-type]
        await self._redis.hset(
            f"{self._prefix}prefs:{user_id}",
            mapping={
                "pinned": prefs.pinned_language or "",
                "last": prefs.last_language or "",
                "voice": _REPLIES_STORED[prefs.replies],
                "mode": prefs.mode,
                "tts_voice": prefs.voice or "",
                "speed": f"{prefs.speed:g}",
            },
        )
        return prefs

    async def group_transcripts(self, chat_id: int) -> bool:
        """Whether /transcribe is on in a group: every voice note there gets its transcript."""
        return await self._redis.hget(f"{self._prefix}group:{chat_id}", "transcribe") == b"1"

    async def set_group_transcripts(self, chat_id: int, on: bool) -> None:
        """Turn a group's transcripts on or off."""
        await self._redis.hset(f"{self._prefix}group:{chat_id}", "transcribe", "1" if on else "0")


# "voice" was "1"/"0" when /voice on|off was all there was: "1" is "always", "0" is "notes".
_REPLIES_STORED = {"off": "off", "notes": "0", "always": "1"}


def _replies(stored: str | None) -> str:
    return {"off": "off", "1": "always"}.get(stored or "", "notes")


def _speed(stored: str | None) -> float:
    try:
        speed = float(stored or 1.0)
    except ValueError:
        return 1.0
    return speed if speed in SPEEDS else 1.0


class VaultStore:
    """The placeholder → value mapping of one conversation, encrypted at rest.

    Redis must never hold personal data in clear, yet the mapping has to survive a restart so
    that placeholders in remembered turns can still be restored for their owner.
    """

    def __init__(
        self, client: aioredis.Redis, *, secret: str, ttl_seconds: int, prefix: str = ""
    ) -> None:
        self._redis = client
        self._prefix = prefix
        key = hashlib.sha256(b"vault-key:" + secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self._ttl = ttl_seconds

    async def load(self, conversation: str) -> Vault:
        """The conversation's vault, empty when none (or when it cannot be decrypted)."""
        token = await self._redis.get(f"{self._prefix}vault:{conversation}")
        if not token:
            return Vault()
        try:
            return Vault.from_json(self._fernet.decrypt(token).decode())
        except (InvalidToken, ValueError):
            return Vault()

    async def save(self, conversation: str, vault: Vault) -> None:
        """Store the vault, encrypted, with the conversation's idle lifetime."""
        if not len(vault):
            return
        token = self._fernet.encrypt(vault.to_json().encode())
        await self._redis.set(f"{self._prefix}vault:{conversation}", token, ex=self._ttl)

    async def reset(self, conversation: str) -> None:
        """Forget the conversation's vault."""
        await self._redis.delete(f"{self._prefix}vault:{conversation}")
