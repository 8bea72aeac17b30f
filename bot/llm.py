"""The chat model: streamed replies from any OpenAI-compatible server, SDK errors translated."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.openai_errors import translate_openai_error
from bot.retry import call_with_retries

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletionChunk

    from bot.openai_client import OpenAIResources


@dataclass(frozen=True)
class ChatUsage:
    """Tokens the model counted for one reply."""

    prompt_tokens: int
    completion_tokens: int


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
    ) -> None:
        self._client = client
        self.model = model
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
                    yield ChatUsage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
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
            )
        except openai.OpenAIError as error:
            raise translate_openai_error("chat", error) from error
