"""A long recording's flow: afforded first, heard in pieces, then its transcript and summary.

A recording over MAX_VOICE_SECONDS is heard piece by piece (charged as heard, also if stopped);
a note over LONG_NOTE_SECONDS gets its whole transcript and a summary instead of an answer.
The assistant calls it; the steps shared with any answer (the model's stream and speech)
are `Answerer` and `AnswerVoice`, as in any other turn.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass

from bot.answering import Answerer
from bot.core.privacy import restore
from bot.core.prompt import Turn
from bot.core.quota import QuotaKind, cost_of
from bot.core.recording import recording_turn, summary_messages
from bot.core.usage_rows import UsageRecord
from bot.db.accounts import Accounts
from bot.errors import AudioError, AudioTooLong, CredentialsRejected, ServiceError, refusal_key
from bot.events import (
    AnswerDelta,
    Answered,
    AssistantEvent,
    Heard,
    Notice,
    Recording,
    Refused,
    Transcribing,
)
from bot.hearing import Listener, Tally
from bot.privacy import Privacy
from bot.requests import AudioRequest, Sender
from bot.speaking import AnswerVoice
from bot.stores.memory import ConversationStore
from bot.stores.prefs import Preferences
from bot.stores.redis import OUTAGES
from bot.tasks import unless_cancelled
from bot.usage_ledger import UsageLedger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recordings:
    """Long recordings, from the quota they need to the summary memory keeps.

    Args:
        answerer: streams the summary from the chat model.
        voice: speaks the summary.
        ledger: where what was heard and summarised is charged.
        listener: hears a recording piece by piece.
        privacy: masks the transcript and summary into the vault.
        conversations: memory, which keeps the recording's turn.
        accounts: its prices (what a recording would cost).
        long_note_seconds: LONG_NOTE_SECONDS.
        memory_max_tokens: MEMORY_MAX_TOKENS (how much of the transcript memory keeps).
    """

    answerer: Answerer
    voice: AnswerVoice
    ledger: UsageLedger
    listener: Listener
    privacy: Privacy
    conversations: ConversationStore
    accounts: Accounts
    long_note_seconds: int
    memory_max_tokens: int

    async def hear(
        self, request: AudioRequest, prefs: Preferences, left: Mapping[QuotaKind, float | None]
    ) -> AsyncGenerator[Transcribing | Heard | Refused, None]:
        """A long recording's progress, then what was heard; charged as heard, also if stopped.

        The charge is written when the recording ends by any path: finished, failed, or
        stopped by /cancel (the generator is closed then, and its `finally` still runs).
        Decoding stops at the voice seconds the user has left, whatever was declared.
        """
        tally, voice_left = Tally(), left.get("voice_seconds")
        heard: Heard | None = None
        try:
            async for item in self.listener.hear_recording(
                fetch=request.fetch,
                prefs=prefs,
                telegram_language=request.sender.telegram_language,
                declared_seconds=request.duration,
                tally=tally,
                allowed_seconds=float("inf") if voice_left is None else voice_left,
            ):
                if isinstance(item, Heard):
                    heard = item
                else:
                    yield item
        except AudioTooLong as error:
            log.info("recording longer than allowed: %s", error)
            yield Refused("too_long", {"seconds": round(error.seconds), "limit": int(error.limit)})
        except AudioError as error:
            log.info("undecodable recording: %s", error)
            yield Refused("bad_audio")
        except CredentialsRejected:
            raise  # the operator's to fix: the error boundary says so, once
        except ServiceError as error:
            log.warning("recording not heard: %s", error)
            yield Refused(refusal_key(error))
        finally:
            if tally.seconds:
                await self.ledger.record(
                    request.sender.user_id,
                    UsageRecord("transcription", voice_seconds=tally.seconds),
                )
        if heard is not None:
            yield heard if heard.text else Refused("no_speech")

    def afford(self, seconds: float, left: Mapping[QuotaKind, float | None]) -> Refused | None:
        """Refuse, with the numbers, a recording longer than the listening or money left."""
        voice = left.get("voice_seconds")
        if voice is not None and seconds > voice:
            return Refused("recording_over_quota", {"seconds": round(seconds), "left": int(voice)})
        money = left.get("cost")
        cost = cost_of(self.accounts.prices, voice_seconds=seconds)
        if money is not None and cost > money:
            return Refused("recording_over_budget", {"cost": f"{cost:.2f}", "left": f"{money:.2f}"})
        return None

    async def heard_whole(
        self, sender: Sender, heard: Heard, prefs: Preferences
    ) -> AsyncIterator[AssistantEvent]:
        """A long note's transcript (a document when long), then its summary unless only heard."""
        if heard.audio_seconds <= self.long_note_seconds:
            yield heard
            return
        yield Recording(heard.text, heard.language, heard.audio_seconds)
        if prefs.mode != "transcribe":
            async for event in self._summarize(sender, heard, prefs):
                yield event

    async def _summarize(
        self, sender: Sender, heard: Heard, prefs: Preferences
    ) -> AsyncIterator[AssistantEvent]:
        """A recording's summary in its language, as text and voice; memory keeps both."""
        language, minutes = heard.language, max(1, round(heard.audio_seconds / 60))
        transcript, vault = await self.privacy.mask_into_vault(sender, heard.text, language)
        messages = summary_messages(transcript, language=language, minutes=minutes)
        voice = prefs.speaks(to_voice_note=True)
        speaker = self.voice.speaker_for(language, prefs.style) if voice else None
        try:
            summary, usage = "", None
            try:
                stream = self.answerer.stream([], "", language, speaker, messages=messages)
                async for summary, usage in stream:  # noqa: B007 - the last usage is kept
                    yield AnswerDelta(restore(summary, vault, owner=sender.owner))
            except CredentialsRejected:
                raise
            except ServiceError as error:
                log.warning("summary failed: %s", error)
                yield Refused(refusal_key(error))
                return
            if not summary.strip():
                yield Refused("service_down")
                return
            stored, vault = await self.privacy.mask_into_vault(
                sender, summary.strip(), language, vault
            )
            turn = recording_turn(
                transcript, stored, minutes=minutes, max_tokens=self.memory_max_tokens
            )
            remembered = await self._keep(sender, turn)
            await self.ledger.record_chat(sender.user_id, usage, cached=False)
            yield Answered(text=restore(stored, vault, owner=sender.owner), language=language)
            if not remembered:
                yield Notice("memory_unavailable")
            if speaker:
                async for event in self.voice.speak(sender.user_id, stored, language, speaker):
                    yield event
        finally:
            if speaker:
                speaker.cancel()

    async def _keep(self, sender: Sender, turn: Turn) -> bool:
        """Remember a turn; False when Redis could not keep it (the answer is still given)."""
        try:
            await self.conversations.append(sender.conversation, turn)
        except OUTAGES as error:
            unless_cancelled()
            log.error("turn not remembered: %s", type(error).__name__)
            return False
        return True
