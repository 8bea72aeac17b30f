"""A text answer kept for its "🔊" button, and spoken once when the button is pressed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.admission import Gate
from bot.events import AssistantEvent, Refused, Spoken
from bot.privacy import Privacy
from bot.requests import Sender
from bot.speaking import AnswerVoice
from bot.stores.listen import ListenStore
from bot.stores.prefs import PreferenceStore
from bot.stores.redis import OUTAGES
from bot.tasks import unless_cancelled

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListenLater:
    """What a text answer would say, kept for a day; spoken on demand, then forgotten.

    Args:
        listens: the saved answers, by token.
        privacy: what is kept is the answer's speakable text (no private value in it).
        gate: access and quota, checked before the answer is spoken.
        prefs: the voice style of the user who presses the button.
        voice: speaks the saved answer.
    """

    listens: ListenStore
    privacy: Privacy
    gate: Gate
    prefs: PreferenceStore
    voice: AnswerVoice

    async def save(self, sender: Sender, stored: str, language: str) -> str | None:
        """Keep what the answer would say for a day (its "🔊" button).

        None when Redis is out: the answer matters more than its button.
        """
        try:
            return await self.listens.save(
                sender.user_id, self.privacy.speakable(stored, language), language
            )
        except OUTAGES as error:
            unless_cancelled()
            log.error("answer not kept for listening: %s", type(error).__name__)
            return None

    async def speak(self, sender: Sender, token: str) -> AsyncIterator[AssistantEvent]:
        """Spoken once, by its owner only (within quota), and forgotten once spoken."""
        saved = await self.listens.get(token)
        if saved is None:
            yield Refused("listen_gone")
            return
        if saved.owner != sender.user_id:
            yield Refused("listen_not_yours")
            return
        refusal = await self.gate.admit(sender)
        if refusal:
            yield refusal
            return
        prefs = await self.prefs.load(sender.user_id)
        speaker = self.voice.speaker_for(saved.language, prefs.style)
        try:
            async for event in self.voice.speak(
                sender.user_id, saved.text, saved.language, speaker
            ):
                if isinstance(event, Spoken):
                    await self.listens.forget(token)
                yield event
        finally:
            speaker.cancel()
