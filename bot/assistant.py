"""The voice and text loop, told top to bottom; it yields events and knows nothing of Telegram."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.admission import Gate
from bot.answering import Answerer
from bot.assistant_settings import AssistantSettings
from bot.core.language import detect_typed_language
from bot.core.privacy import PLACEHOLDER_RE, restore
from bot.core.prompt import about_voice_note
from bot.core.wake import calls_bot
from bot.db.accounts import Accounts, Admission
from bot.errors import CredentialsRejected, ServiceError, refusal_key
from bot.events import (
    AnswerDelta,
    Answered,
    AssistantEvent,
    Heard,
    Hearing,
    Notice,
    Refused,
    Speaking,
    Transcribing,
)
from bot.hearing import Listener
from bot.listen_later import ListenLater
from bot.llm import ChatModel
from bot.metrics import Metrics
from bot.privacy import Privacy
from bot.recording_turn import Recordings
from bot.remembering import Memory
from bot.requests import AudioRequest, Sender, TextRequest
from bot.speaking import AnswerVoice
from bot.stores.caches import AnswerCache, SpeechCache
from bot.stores.listen import ListenStore
from bot.stores.locks import Locks
from bot.stores.memory import ConversationStore
from bot.stores.prefs import Preferences, PreferenceStore
from bot.tts.base import Synthesizer
from bot.turn_guard import TurnGuard
from bot.usage_ledger import UsageLedger
from bot.voice_notes import VoiceNotes

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


@dataclass
class Assistant:
    """Hears, answers, remembers and speaks; every I/O step is one call to an adapter."""

    settings: AssistantSettings
    conversations: ConversationStore
    prefs: PreferenceStore
    privacy: Privacy
    answers: AnswerCache
    speech_cache: SpeechCache
    listener: Listener
    chat: ChatModel
    synthesizer: Synthesizer
    accounts: Accounts
    metrics: Metrics
    locks: Locks
    listens: ListenStore
    clock: Clock = lambda: datetime.now(UTC)
    _guard: TurnGuard = field(init=False, repr=False)
    _ledger: UsageLedger = field(init=False, repr=False)
    _recordings: Recordings = field(init=False, repr=False)
    _gate: Gate = field(init=False, repr=False)
    _notes: VoiceNotes = field(init=False, repr=False)
    _memory: Memory = field(init=False, repr=False)
    _answerer: Answerer = field(init=False, repr=False)
    _voice: AnswerVoice = field(init=False, repr=False)
    _listen_later: ListenLater = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Bound the turns worked on at once; build the steps a turn is told in."""
        s, privacy, metrics = self.settings, self.privacy, self.metrics
        self._guard = TurnGuard(asyncio.Semaphore(s.max_concurrent_turns), self.locks, metrics)
        self._ledger = UsageLedger(self.accounts, metrics, self.chat, s.tts_model, self.clock)
        self._gate = Gate(self.accounts, metrics, self.clock)
        self._notes = VoiceNotes(self.listener, self._ledger)
        self._memory = Memory(
            self.conversations, self.answers, privacy, s.openai_model, s.system_prompt
        )
        self._answerer = Answerer(
            self.chat, privacy, metrics, s.system_prompt, s.memory_max_turns, s.memory_max_tokens
        )
        self._voice = AnswerVoice(
            self.synthesizer,
            self.speech_cache,
            privacy,
            metrics,
            self._ledger,
            s.max_speech_seconds,
        )
        self._listen_later = ListenLater(self.listens, privacy, self._gate, self.prefs, self._voice)
        self._recordings = Recordings(
            answerer=self._answerer,
            voice=self._voice,
            ledger=self._ledger,
            listener=self.listener,
            privacy=privacy,
            conversations=self.conversations,
            accounts=self.accounts,
            long_note_seconds=s.long_note_seconds,
            memory_max_tokens=s.memory_max_tokens,
        )

    async def answer_text(self, request: TextRequest) -> AsyncGenerator[AssistantEvent, None]:
        """Answer a typed message: in text, and in voice when the user asked for it."""
        async for event in self._guard.run(request.sender, self._answer_text(request)):
            yield event

    async def answer_voice(self, request: AudioRequest) -> AsyncGenerator[AssistantEvent, None]:
        """Answer a voice note: show what was heard, answer it, and speak the answer."""
        async for event in self._guard.run(request.sender, self._answer_voice(request)):
            yield event

    async def answer_live(self, request: AudioRequest) -> AsyncGenerator[AssistantEvent, None]:
        """Answer an utterance of a live session: a voice note whose answer is always spoken.

        Sentence by sentence as each is ready: `Speaking` comes before the answer streams.
        """
        async for event in self._guard.run(request.sender, self._answer_voice(request, live=True)):
            yield event

    async def speak_saved(self, sender: Sender, token: str) -> AsyncGenerator[AssistantEvent, None]:
        """Speak a text answer once, on demand (its "🔊" button): Spoken, or why not."""
        async for event in self._guard.run(sender, self._listen_later.speak(sender, token)):
            yield event

    async def forget(self, sender: Sender) -> None:
        """Forget the conversation and its private values (/reset)."""
        await self.conversations.reset(sender.conversation)
        await self.privacy.forget(sender)

    async def _answer_text(self, request: TextRequest) -> AsyncIterator[AssistantEvent]:
        sender = request.sender
        refusal = await self._gate.admit(sender)
        if refusal:
            yield refusal
            return
        prefs = await self.prefs.load(sender.user_id)
        text = request.text
        if request.about is not None:  # a question about the voice note it replies to
            heard = await self._notes.heard_of(request.about, prefs)
            if isinstance(heard, Refused):
                yield heard
                return
            yield heard
            if not text:  # the bot's name alone: the transcript is the answer
                return
            text = about_voice_note(question=text, transcript=heard.text)
        language = detect_typed_language(
            request.text or text,
            telegram_language=sender.telegram_language,
            last_spoken=prefs.last_language,
            pinned=prefs.pinned_language,
        )
        voice = prefs.speaks(to_voice_note=False) and not request.text_only
        converse = self._converse(
            sender, text, language, voice, prefs, listenable=not request.text_only
        )
        async for event in converse:
            yield event

    async def _answer_voice(
        self, request: AudioRequest, *, live: bool = False
    ) -> AsyncIterator[AssistantEvent]:
        """A voice note, answered; or, overheard in a group, perhaps only heard.

        An overheard one is answered when its first words call the bot, gets its transcript
        when the group turned them on, and never gets a refusal (nor a growing transcript).
        A live utterance (never overheard) is always answered, and always aloud.
        """
        sender, overheard = request.sender, request.overheard
        admitted = await self._gate.admission(sender)
        # A recording over MAX_VOICE_SECONDS is heard in pieces, once the user can afford it.
        long = request.duration > self.settings.max_voice_seconds
        refusal = admitted if isinstance(admitted, Refused) else None
        if long and isinstance(admitted, Admission):
            refusal = self._recordings.afford(request.duration, admitted.left)
        if refusal:
            if overheard is None:
                yield refusal
            return
        assert isinstance(admitted, Admission)  # noqa: S101 - refused above otherwise
        prefs = await self.prefs.load(sender.user_id)
        heard: Heard | Refused = Refused("no_speech")
        hearing = (
            self._recordings.hear(request, prefs, admitted.left)
            if long
            else self._notes.hear(request, prefs)
        )
        async with contextlib.aclosing(hearing) as items:
            async for item in items:
                if isinstance(item, Hearing | Transcribing):
                    if overheard is None:
                        yield item
                else:
                    heard = item
        if isinstance(heard, Refused):
            if overheard is None:
                yield heard
            return
        if overheard is not None and not calls_bot(heard.text, overheard.names):
            if await self.prefs.group_transcripts(sender.chat_id):
                async for event in self._recordings.heard_whole(sender, heard, prefs):
                    yield event
            return
        if heard.language_source in ("speech", "text"):
            await self.prefs.update(sender.user_id, last_language=heard.language)
        if heard.audio_seconds > self.settings.long_note_seconds and not live:
            async for event in self._recordings.heard_whole(sender, heard, prefs):
                yield event
            return
        yield heard
        if prefs.mode == "transcribe" and not live:  # a live session is a conversation
            return
        voice = live or prefs.speaks(to_voice_note=True)
        async for event in self._converse(
            sender, heard.text, heard.language, voice, prefs, live=live
        ):
            yield event

    async def _converse(
        self,
        sender: Sender,
        text: str,
        language: str,
        voice: bool,
        prefs: Preferences,
        *,
        listenable: bool = True,
        live: bool = False,
    ) -> AsyncIterator[AssistantEvent]:
        """Mask, answer from cache or model (speaking sentences as they come), remember, speak.

        A text answer is kept for its "🔊" button unless it is not `listenable`. Live, each
        sentence's speech is handed out as soon as it is ready (`Speaking`), and an answer cut
        short by the user is remembered as far as it went.
        """
        question, vault = await self.privacy.mask_into_vault(sender, text, language)
        history = await self.conversations.load(sender.conversation)
        speaker = self._voice.speaker_for(language, prefs.style) if voice else None
        if speaker and live:
            yield Speaking(speaker.parts())
        answer = ""
        try:
            cached = None
            if not history and not PLACEHOLDER_RE.search(question):
                cached = await self._memory.cached(question, language)
            answer, usage = cached or "", None
            if cached is None:
                try:
                    stream = self._answerer.stream(history, question, language, speaker)
                    async for answer, usage in stream:  # noqa: B007 - the last usage is kept
                        yield AnswerDelta(restore(answer, vault, owner=sender.owner))
                except (asyncio.CancelledError, GeneratorExit):
                    if live and answer.strip():
                        await self._memory.keep_interrupted(
                            sender, question, answer, language, vault
                        )
                    raise
                except CredentialsRejected:
                    raise  # the operator's to fix: the error boundary says so, once
                except ServiceError as error:
                    log.warning("chat model failed: %s", error)
                    self.metrics.count_error("chat")
                    yield Refused(refusal_key(error))
                    return
                if not answer.strip():
                    yield Refused("service_down")
                    return
            stored, vault = await self.privacy.mask_into_vault(
                sender, answer.strip(), language, vault
            )
            remembered = await self._memory.remember(
                sender, question, stored, language, history, cached
            )
            await self._ledger.record_chat(sender.user_id, usage, cached=bool(cached))
            listen = None
            if listenable and not speaker:
                listen = await self._listen_later.save(sender, stored, language)
            yield Answered(
                text=restore(stored, vault, owner=sender.owner),
                language=language,
                from_cache=bool(cached),
                listen=listen,
            )
            if not remembered:
                yield Notice("memory_unavailable")
            if speaker:
                speaking = self._voice.speak(sender.user_id, stored, language, speaker, live=live)
                async for event in speaking:
                    yield event
        finally:
            if speaker:
                speaker.cancel()


__all__ = ["Assistant", "AssistantSettings"]
