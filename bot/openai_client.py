"""The process's one AsyncOpenAI client, built when it is first needed.

Importing the openai SDK takes ~0.4 s (its type tree, pydantic models, aiohttp), which a
restarted bot need not pay before it polls again: the adapters hold a `LazyOpenAI`, and
bot.app's warm-up thread builds the client right after polling starts.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import openai
    from openai.resources.audio import AsyncAudio
    from openai.resources.chat import AsyncChat
    from openai.resources.realtime import AsyncRealtime

    from bot.config import Settings

__all__ = ["LazyOpenAI", "OpenAIResources", "make_openai_client"]


class OpenAIResources(Protocol):
    """What the adapters use of a client: an AsyncOpenAI itself, or a LazyOpenAI."""

    @property
    def chat(self) -> AsyncChat:
        """The chat completions resources."""
        ...

    @property
    def audio(self) -> AsyncAudio:
        """The transcription and speech resources."""
        ...

    @property
    def realtime(self) -> AsyncRealtime:
        """The Realtime API (WebSocket sessions)."""
        ...


def make_openai_client(settings: Settings) -> openai.AsyncOpenAI:
    """One AsyncOpenAI client; the SDK's own retries are off because bot.retry owns them."""
    import openai  # the SDK's first import, deferred past start-up (see the module docstring)

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-set"
    return openai.AsyncOpenAI(
        api_key=key,
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout_seconds,
        max_retries=0,
    )


class LazyOpenAI:
    """The client `make_openai_client(settings)` builds, built on first use, from any thread."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: openai.AsyncOpenAI | None = None
        self._lock = threading.Lock()

    def client(self) -> openai.AsyncOpenAI:
        """The client; the first call builds it (the warm-up thread's, unless a turn came first)."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = make_openai_client(self._settings)
                client = self._client
        return client

    @property
    def chat(self) -> AsyncChat:
        """The client's chat resources."""
        return self.client().chat

    @property
    def audio(self) -> AsyncAudio:
        """The client's audio resources."""
        return self.client().audio

    @property
    def realtime(self) -> AsyncRealtime:
        """The client's Realtime API."""
        return self.client().realtime

    async def close(self) -> None:
        """Close the client, if it was ever built."""
        if self._client is not None:
            await self._client.close()
