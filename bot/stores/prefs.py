"""Per-user preferences and per-conversation privacy vaults in Redis."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, replace

import redis.asyncio as aioredis
from cryptography.fernet import Fernet, InvalidToken

from bot.core.privacy import Vault
from bot.stores.redis import as_text

MODES = ("chat", "transcribe", "text")


@dataclass(frozen=True)
class Preferences:
    """What a user chose, and the language they last spoke confidently."""

    pinned_language: str | None = None
    last_language: str | None = None
    voice_for_text: bool = False
    mode: str = "chat"


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
            voice_for_text=data.get("voice") == "1",
            mode=data["mode"] if data.get("mode") in MODES else "chat",
        )

    async def update(self, user_id: int, **changes: object) -> Preferences:
        """Change some preferences and return the result."""
        prefs = replace(await self.load(user_id), **changes)  # type: ignore[arg-type]
        await self._redis.hset(
            f"{self._prefix}prefs:{user_id}",
            mapping={
                "pinned": prefs.pinned_language or "",
                "last": prefs.last_language or "",
                "voice": "1" if prefs.voice_for_text else "0",
                "mode": prefs.mode,
            },
        )
        return prefs


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
