"""The voice and text loop, told top to bottom; it yields events and knows nothing of Telegram."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.config import Settings
from bot.core.cache_keys import is_cacheable
from bot.core.language import detect_typed_language
from bot.core.privacy import PLACEHOLDER_RE, Vault, mask, regions_for, restore
from bot.core.prompt import Turn, build_messages
from bot.db.accounts import Accounts
from bot.errors import AudioError, ServiceError, SpeechUnavailable
from bot.events import AnswerDelta, Answered, AssistantEvent, Heard, Notice, Refused, Spoken
from bot.hearing import Listener
from bot.i18n import Key, t
from bot.llm import ChatModel
from bot.metrics import Metrics
from bot.speech import IncrementalSpeaker
from bot.stores.caches import AnswerCache, SpeechCache
from bot.stores.memory import ConversationStore
from bot.stores.prefs import PreferenceStore, VaultStore
from bot.tts.base import Synthesizer

log = logging.getLogger(__name__)
_SENTENCE_END = re.compile(r"[.!?…][\"'»”’)\]]*\s|[。！？]|\n")  # CJK marks need no space
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Sender:
    """Who wrote, and in which conversation (the user in private, the chat in groups)."""

    user_id: int
    chat_id: int
    is_group: bool = False
    telegram_language: str | None = None
    username: str | None = None
    full_name: str | None = None

    @property
    def conversation(self) -> str:
        """The memory key: private chats per user, groups per chat."""
        return f"chat:{self.chat_id}" if self.is_group else f"user:{self.user_id}"


@dataclass(frozen=True)
class TextRequest:
    """A typed message."""

    sender: Sender
    text: str


@dataclass(frozen=True)
class AudioRequest:
    """A voice note (or audio, video note); `fetch` downloads its bytes when needed."""

    sender: Sender
    file_unique_id: str
    duration: float
    fetch: Callable[[], Awaitable[bytes]]


@dataclass
class Assistant:
    """Hears, answers, remembers and speaks; every I/O step is one call to an adapter."""

    settings: Settings
    conversations: ConversationStore
    prefs: PreferenceStore
    vaults: VaultStore
    answers: AnswerCache
    speech_cache: SpeechCache
    listener: Listener
    chat: ChatModel
    synthesizer: Synthesizer
    accounts: Accounts
    metrics: Metrics
    clock: Clock = lambda: datetime.now(UTC)

    async def answer_text(self, request: TextRequest) -> AsyncIterator[AssistantEvent]:
        """Answer a typed message: in text, and in voice when the user asked for it."""
        refusal = await self._admit(request.sender)
        if refusal:
            yield refusal
            return
        prefs = await self.prefs.load(request.sender.user_id)
        language = detect_typed_language(
            request.text,
            telegram_language=request.sender.telegram_language,
            last_spoken=prefs.last_language,
            pinned=prefs.pinned_language,
        )
        voice = prefs.voice_for_text and prefs.mode != "text"
        async for event in self._converse(request.sender, request.text, language, voice):
            yield event

    async def answer_voice(self, request: AudioRequest) -> AsyncIterator[AssistantEvent]:
        """Answer a voice note: show what was heard, answer it, and speak the answer."""
        sender = request.sender
        refusal = await self._admit(sender)
        if refusal:
            yield refusal
            return
        prefs = await self.prefs.load(sender.user_id)
        try:
            heard = await self.listener.hear(
                file_unique_id=request.file_unique_id,
                fetch=request.fetch,
                prefs=prefs,
                telegram_language=sender.telegram_language,
            )
        except AudioError as error:
            log.info("undecodable audio: %s", error)
            yield Refused("bad_audio")
            return
        except ServiceError as error:
            log.warning("transcription failed: %s", error)
            yield Refused("transcription_failed")
            return
        if not heard.from_cache:
            await self._record(
                sender.user_id, kind="transcription", audio_seconds=heard.audio_seconds
            )
        if not heard.text:
            yield Refused("no_speech")
            return
        yield Heard(text=heard.text, language=heard.language)
        if heard.language_source in ("speech", "text"):
            await self.prefs.update(sender.user_id, last_language=heard.language)
        if prefs.mode == "transcribe":
            return
        async for event in self._converse(sender, heard.text, heard.language, prefs.mode != "text"):
            yield event

    async def forget(self, sender: Sender) -> None:
        """Forget the conversation and its private values (/reset)."""
        await self.conversations.reset(sender.conversation)
        await self.vaults.reset(sender.conversation)

    async def _admit(self, sender: Sender) -> Refused | None:
        """Access and quota, checked before any expensive work."""
        now = self.clock()
        try:
            await self.accounts.seen(
                sender.user_id,
                username=sender.username,
                full_name=sender.full_name,
                language=sender.telegram_language,
                now=now,
            )
            access = await self.accounts.access(sender.user_id)
            if access != "ok":
                return Refused(access)
            decision = await self.accounts.check_quota(sender.user_id, now=now)
        except ServiceError as error:
            log.error("database unavailable: %s", error)
            return Refused("db_down")
        if decision.allowed:
            return None
        self.metrics.count_quota_refusal(decision.kind or "unknown")
        resets = decision.resets_at.strftime("%Y-%m-%d %H:%M") if decision.resets_at else "-"
        return Refused(
            "over_quota",
            {
                "kind": Key(f"kind_{decision.kind}"),
                "period": Key(f"period_{decision.period}"),
                "resets_at": resets,
            },
        )

    async def _converse(
        self, sender: Sender, text: str, language: str, voice: bool
    ) -> AsyncIterator[AssistantEvent]:
        """Mask, answer from cache or model (speaking sentences as they come), remember, speak."""
        conversation = sender.conversation
        private = self.settings.privacy_mode == "mask"
        vault = await self.vaults.load(conversation) if private else Vault()
        question, vault = self._mask(text, vault, language)
        history = await self.conversations.load(conversation)
        speaker = self._speaker(language) if voice else None
        try:
            cached = None
            if not history and not PLACEHOLDER_RE.search(question):
                cached = await self.answers.get(**self._answer_key(question, language))
            answer = cached or ""
            if cached is None:
                sentence_ends = 0
                async for answer in self._stream(history, question, language):
                    yield AnswerDelta(restore(answer, vault))
                    # Masking the whole answer on every delta would be quadratic on the event
                    # loop; a new sentence is the only moment the speaker has more to say.
                    if speaker and (ends := len(_SENTENCE_END.findall(answer))) > sentence_ends:
                        sentence_ends = ends
                        speaker.feed(self._speakable(answer, language))
                if not answer.strip():
                    yield Refused("service_down")
                    return
            stored, vault = self._mask(answer.strip(), vault, language)
            await self._remember(
                sender,
                question,
                stored,
                language,
                vault=vault,
                history=history,
                cached=bool(cached),
            )
            yield Answered(text=restore(stored, vault), language=language, from_cache=bool(cached))
            if speaker:
                async for event in self._speak(sender.user_id, stored, language, speaker):
                    yield event
        finally:
            if speaker:
                speaker.cancel()

    def _mask(self, text: str, vault: Vault, language: str) -> tuple[str, Vault]:
        if self.settings.privacy_mode != "mask":
            return text, vault
        return mask(text, vault, regions=regions_for(language))

    async def _remember(
        self,
        sender: Sender,
        question: str,
        stored: str,
        language: str,
        *,
        vault: Vault,
        history: list[Turn],
        cached: bool,
    ) -> None:
        """Keep the turn and the vault, record the usage, share the answer when allowed."""
        conversation = sender.conversation
        if self.settings.privacy_mode == "mask":
            await self.vaults.save(conversation, vault)
        await self.conversations.append(conversation, Turn(user=question, assistant=stored))
        usage = None if cached else self.chat.last_usage
        await self._record(
            sender.user_id,
            kind="chat",
            model=self.chat.model,
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
            cache_hit=cached,
        )
        if not cached and is_cacheable(question=question, answer=stored, has_context=bool(history)):
            await self.answers.put(**self._answer_key(question, language), answer=stored)

    async def _stream(
        self, history: list[Turn], question: str, language: str
    ) -> AsyncIterator[str]:
        """The answer so far after each delta; an empty final value means the model failed."""
        messages = build_messages(
            system_prompt=self.settings.system_prompt,
            history=history,
            user_text=question,
            language=language,
            max_turns=self.settings.memory_max_turns,
            max_tokens=self.settings.memory_max_tokens,
        )
        started = time.perf_counter()
        answer = ""
        try:
            async for delta in self.chat.stream_reply(messages):
                if not answer:
                    self.metrics.observe("model_first_token", time.perf_counter() - started)
                answer += delta
                yield answer
        except ServiceError as error:
            log.warning("chat model failed: %s", error)
            self.metrics.count_error("chat")
            yield ""
            return
        self.metrics.observe("model_total", time.perf_counter() - started)

    def _speaker(self, language: str) -> IncrementalSpeaker:
        return IncrementalSpeaker(
            language=language,
            synthesizer=self.synthesizer,
            max_seconds=self.settings.max_speech_seconds,
            cache=self.speech_cache,
        )

    def _speakable(self, text: str, language: str) -> str:
        """What may be spoken: speech can go to a remote service, so never a private value."""
        if self.settings.privacy_mode != "mask":
            return text
        return PLACEHOLDER_RE.sub(t("private_value", language), mask(text)[0])

    async def _speak(
        self, user_id: int, stored: str, language: str, speaker: IncrementalSpeaker
    ) -> AsyncIterator[AssistantEvent]:
        """Finish the voice note; when no voice works, say so and keep the text."""
        spoken_text = self._speakable(stored, language)
        try:
            with self.metrics.time_stage("synthesis"):
                note = await speaker.finish(spoken_text)
        except (SpeechUnavailable, ServiceError) as error:
            log.warning("speech unavailable: %s", type(error).__name__)
            yield Notice("voice_unavailable")
            return
        await self._record(user_id, kind="synthesis", tts_chars=len(spoken_text))
        yield Spoken(ogg=note.ogg, duration=note.duration)

    def _answer_key(self, question: str, language: str) -> dict[str, str]:
        return {
            "question": question,
            "language": language,
            "model": self.settings.openai_model,
            "system_prompt": self.settings.system_prompt,
        }

    async def _record(self, user_id: int, *, kind: str, **amounts: object) -> None:
        """Write one ledger row; a database outage is logged, not shown to the user."""
        amounts.setdefault("model", "")
        try:
            await self.accounts.record_usage(user_id, kind=kind, now=self.clock(), **amounts)  # type: ignore[arg-type]
        except ServiceError as error:
            log.error("usage not recorded (%s): %s", kind, error)


__all__ = ["Assistant", "AudioRequest", "Sender", "TextRequest"]
