"""The chat model's answer streamed, its speaker fed once per new sentence."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.core.patterns import SENTENCE_ENDED
from bot.core.prompt import Turn, build_messages
from bot.llm import ChatModel, ChatUsage
from bot.metrics import Metrics
from bot.privacy import Privacy
from bot.speech import IncrementalSpeaker


@dataclass(frozen=True)
class Answerer:
    """Streams an answer from the chat model: for a question, or for a prompt of its own.

    Args:
        chat: the chat model.
        privacy: what the speaker is fed is made speakable first.
        metrics: the model's first-token and total times.
        system_prompt: SYSTEM_PROMPT.
        memory_max_turns: MEMORY_MAX_TURNS, turns of history in a prompt.
        memory_max_tokens: MEMORY_MAX_TOKENS, tokens of history in a prompt.
    """

    chat: ChatModel
    privacy: Privacy
    metrics: Metrics
    system_prompt: str
    memory_max_turns: int
    memory_max_tokens: int

    async def stream(
        self,
        history: list[Turn],
        question: str,
        language: str,
        speaker: IncrementalSpeaker | None,
        *,
        messages: list[dict[str, str]] | None = None,
    ) -> AsyncIterator[tuple[str, ChatUsage | None]]:
        """(answer so far, usage once reported) after each delta; raises ServiceError.

        The speaker is fed once per new sentence: masking the whole answer on every delta
        would be quadratic on the event loop. `messages`, when given, replace the chat
        prompt built from the history and question (a recording's summary).
        """
        messages = messages or build_messages(
            system_prompt=self.system_prompt,
            history=history,
            user_text=question,
            language=language,
            max_turns=self.memory_max_turns,
            max_tokens=self.memory_max_tokens,
        )
        started = time.perf_counter()
        answer, usage, sentence_ends = "", None, 0
        async for item in self.chat.stream_reply(messages):
            if isinstance(item, ChatUsage):
                usage = item
                yield answer, usage
                continue
            if not answer:
                self.metrics.observe("model_first_token", time.perf_counter() - started)
            answer += item
            if speaker and (ends := len(SENTENCE_ENDED.findall(answer))) > sentence_ends:
                sentence_ends = ends
                speaker.feed(self.privacy.speakable(answer, language))
            yield answer, usage
        self.metrics.observe("model_total", time.perf_counter() - started)
