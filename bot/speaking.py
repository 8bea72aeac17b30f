"""An answer's voice: a speaker made for it, then its voice note finished and charged."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.errors import ServiceError, SpeechUnavailable
from bot.events import AssistantEvent, Notice, Spoken
from bot.metrics import Metrics
from bot.privacy import Privacy
from bot.speech import IncrementalSpeaker
from bot.stores.caches import SpeechCache
from bot.tts.base import SpeechStyle, Synthesizer
from bot.usage_ledger import UsageLedger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnswerVoice:
    """Speaks answers: sentence by sentence while they stream, up to MAX_SPEECH_SECONDS.

    Args:
        synthesizer: the voice.
        speech_cache: sentences already spoken, shared.
        privacy: what is spoken is made speakable first (no private value read aloud).
        metrics: the synthesis time.
        ledger: where the speech is charged.
        max_speech_seconds: MAX_SPEECH_SECONDS, the longest voice answer.
    """

    synthesizer: Synthesizer
    speech_cache: SpeechCache
    privacy: Privacy
    metrics: Metrics
    ledger: UsageLedger
    max_speech_seconds: int

    def speaker_for(self, language: str, style: SpeechStyle) -> IncrementalSpeaker:
        """A speaker that voices an answer sentence by sentence, up to MAX_SPEECH_SECONDS."""
        return IncrementalSpeaker(
            language=language,
            synthesizer=self.synthesizer,
            max_seconds=self.max_speech_seconds,
            cache=self.speech_cache,
            style=style,
        )

    async def speak(
        self,
        user_id: int,
        stored: str,
        language: str,
        speaker: IncrementalSpeaker,
        *,
        live: bool = False,
    ) -> AsyncIterator[AssistantEvent]:
        """Finish the voice note (live: every sentence); when no voice works, say so."""
        spoken_text = self.privacy.speakable(stored, language)
        try:
            with self.metrics.time_stage("synthesis"):
                if live:
                    await speaker.settle(spoken_text)
                else:
                    note = await speaker.finish(spoken_text)
        except (SpeechUnavailable, ServiceError) as error:
            log.warning("speech unavailable: %s", type(error).__name__)
            yield Notice("voice_unavailable")
            return
        await self.ledger.record_speech(user_id, spoken_text, speaker.tokens)
        if not live:
            yield Spoken(ogg=note.ogg, duration=note.duration)
