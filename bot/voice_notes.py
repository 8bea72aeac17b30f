"""A voice note heard: its transcript while it grows, then what was heard, charged once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from bot.core.usage_rows import UsageRecord
from bot.errors import AudioError, AudioTooLong, CredentialsRejected, ServiceError, refusal_key
from bot.events import Heard, Hearing, Refused
from bot.hearing import Listener
from bot.requests import AudioRequest
from bot.stores.prefs import Preferences
from bot.usage_ledger import UsageLedger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VoiceNotes:
    """Hears a voice note for a turn; a refusal names what went wrong.

    Args:
        listener: downloads, decodes and recognises the note.
        ledger: where what was heard is charged (unless it came from the cache).
    """

    listener: Listener
    ledger: UsageLedger

    async def heard_of(self, request: AudioRequest, prefs: Preferences) -> Heard | Refused:
        """The transcript of a voice note, without its partial transcripts."""
        heard: Heard | Refused = Refused("no_speech")
        async for item in self.hear(request, prefs):
            if not isinstance(item, Hearing):
                heard = item
        return heard

    async def hear(
        self, request: AudioRequest, prefs: Preferences
    ) -> AsyncGenerator[Hearing | Heard | Refused, None]:
        """The transcript while it grows, then what was heard (charged when recognised)."""
        heard: Heard | None = None
        try:
            async for item in self._grow(request, prefs):
                if isinstance(item, Hearing):
                    yield item
                else:
                    heard = item
        except AudioTooLong as error:
            log.info("audio longer than declared: %s", error)
            yield Refused("too_long", {"seconds": round(error.seconds), "limit": int(error.limit)})
            return
        except AudioError as error:
            log.info("undecodable audio: %s", error)
            yield Refused("bad_audio")
            return
        except CredentialsRejected:
            raise  # the operator's to fix: the error boundary says so, once
        except ServiceError as error:
            log.warning("voice note not heard: %s", error)
            yield Refused(refusal_key(error))
            return
        if heard is None:  # never: _grow ends with what was heard, or raises
            return
        if not heard.from_cache:
            await self.ledger.record(
                request.sender.user_id,
                UsageRecord("transcription", voice_seconds=heard.audio_seconds),
            )
        yield heard if heard.text else Refused("no_speech")

    async def _grow(
        self, request: AudioRequest, prefs: Preferences
    ) -> AsyncIterator[Hearing | Heard]:
        """The transcript while it grows (Hearing), then what was heard; raises as hear does.

        The listener runs as a task of its own so that its partial transcripts can be yielded
        while it works; a turn that ends early (/cancel) cancels it.
        """
        partial: asyncio.Queue[str] = asyncio.Queue()
        hearing = asyncio.ensure_future(
            self.listener.hear(
                file_unique_id=request.file_unique_id,
                fetch=request.fetch,
                prefs=prefs,
                telegram_language=request.sender.telegram_language,
                on_text=partial.put_nowait,
            )
        )
        try:
            while not hearing.done():
                grown = asyncio.ensure_future(partial.get())
                try:
                    await asyncio.wait({hearing, grown}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    grown.cancel()
                if grown.done() and not grown.cancelled():
                    text = grown.result()
                    while not partial.empty():  # only the latest is worth showing
                        text = partial.get_nowait()
                    yield Hearing(text)
            yield await hearing
        finally:
            if not hearing.done():  # the turn ended early: stop hearing before the lock goes
                hearing.cancel()
                await asyncio.wait({hearing})
