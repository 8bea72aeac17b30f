"""The chat model: streamed replies from any OpenAI-compatible server, SDK errors translated."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from bot.openai_errors import translate_openai_error
from bot.retry import call_with_retries

if TYPE_CHECKING:
    import openai
    from openai.types import CompletionUsage, ReasoningEffort
    from openai.types.chat import ChatCompletionChunk

    from bot.openai_client import OpenAIResources


# Reasoning models take reasoning_effort; gpt-4o, gpt-4.1, the *-chat models and self-hosted
# models refuse or ignore it. An "org/" prefix (OpenAI-compatible routers) is skipped.
_REASONING_MODEL = re.compile(r"^(?:[\w.-]+/)?(?:o\d|gpt-(?:[5-9]|\d\d))(?![\w.-]*-chat)")


def is_reasoning_model(model: str) -> bool:
    """Whether `model` is one of OpenAI's reasoning models (o1, o3, o4, gpt-5 and later)."""
    return _REASONING_MODEL.match(model.strip().lower()) is not None


@dataclass(frozen=True)
class ChatUsage:
    """Tokens the model counted for one reply.

    Args:
        prompt_tokens: tokens read.
        completion_tokens: tokens written, the reasoning ones included (as OpenAI counts and
            bills them: as output).
        reasoning_tokens: of `completion_tokens`, those spent reasoning, never shown.
    """

    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int = 0


class ChatModel:
    """Streams answers from the chat completions API with the project's retry policy."""

    def __init__(
        self,
        client: OpenAIResources,
        *,
        model: str,
        retry_budget_seconds: float,
        max_attempts: int,
        on_retry: Callable[[str], None] | None = None,
        reasoning_effort: str = "",
    ) -> None:
        self._client = client
        self.model = model
        # Empty, or a model that does not reason: the parameter is not sent at all.
        self._effort = (
            cast("ReasoningEffort", reasoning_effort)
            if reasoning_effort and is_reasoning_model(model)
            else None
        )
        self._budget = retry_budget_seconds
        self._max_attempts = max_attempts
        self._on_retry = on_retry

    async def stream_reply(
        self, messages: Sequence[dict[str, str]]
    ) -> AsyncIterator[str | ChatUsage]:
        """Yield text deltas, then the ChatUsage the server reported for this reply.

        The usage travels in the stream it belongs to: the model object is shared by every
        conversation, so it never keeps "the last usage". Retries cover opening the stream
        (429, 5xx, timeouts); a stream that breaks midway raises, because its first half has
        already been shown.
        """
        import openai  # loaded by bot.app's warm-up, not at start-up (see bot.openai_client)

        stream = await call_with_retries(
            lambda: self._open(messages),
            stage="chat",
            budget_seconds=self._budget,
            max_attempts=self._max_attempts,
            on_retry=self._on_retry,
        )
        try:
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
                if chunk.usage is not None:
                    yield _usage(chunk.usage)
        except openai.OpenAIError as error:
            raise translate_openai_error("chat", error) from error
        finally:
            await stream.close()

    async def _open(
        self, messages: Sequence[dict[str, str]]
    ) -> openai.AsyncStream[ChatCompletionChunk]:
        import openai  # loaded by bot.app's warm-up, not at start-up (see bot.openai_client)

        # Our messages are plain role/content dicts, which the SDK's TypedDicts accept as is.
        params: Any = list(messages)
        try:
            return await self._client.chat.completions.create(
                model=self.model,
                messages=params,
                stream=True,
                stream_options={"include_usage": True},
                reasoning_effort=self._effort or openai.omit,
            )
        except openai.OpenAIError as error:
            raise translate_openai_error("chat", error) from error


def _usage(usage: CompletionUsage) -> ChatUsage:
    """Our ChatUsage from the SDK's; completion_tokens already holds the reasoning tokens."""
    details = usage.completion_tokens_details
    reasoning = (details.reasoning_tokens if details else None) or 0
    return ChatUsage(usage.prompt_tokens, usage.completion_tokens, reasoning_tokens=reasoning)
