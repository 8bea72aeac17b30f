"""One translation of the openai SDK's errors, the same for chat, transcription and speech."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import openai
import pytest

from bot.asr.openai import OpenAITranscriber
from bot.errors import MAX_RETRY_AFTER_SECONDS, MODEL_NOT_FOUND, ServiceError
from bot.openai_errors import translate_openai_error
from bot.tts.openai import OpenAISynthesizer
from tests.emulators.audio_tools import tone
from tests.emulators.openai_api import OpenAIEmulator

Call = Callable[[openai.AsyncOpenAI], Awaitable[object]]


async def chat(client: openai.AsyncOpenAI) -> object:
    """A chat completion through the SDK, its error translated as bot.llm does."""
    try:
        return await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    except openai.OpenAIError as error:
        raise translate_openai_error("chat", error) from error


async def transcription(client: openai.AsyncOpenAI) -> object:
    return await OpenAITranscriber(client).transcribe(tone(1.0, "wav"))


async def synthesis(client: openai.AsyncOpenAI) -> object:
    return await OpenAISynthesizer(client, model="tts-1", voice="alloy").synthesize(
        "Hello.", language="en"
    )


ADAPTERS = [
    pytest.param("/chat/completions", chat, "chat", id="chat"),
    pytest.param("/audio/transcriptions", transcription, "transcription", id="transcription"),
    pytest.param("/audio/speech", synthesis, "synthesis", id="speech"),
]


def sdk_client(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="sk-test", base_url=base_url, max_retries=0, timeout=5)


@pytest.mark.parametrize(("path", "call", "stage"), ADAPTERS)
async def test_a_rate_limit_is_retryable_after_at_most_the_capped_retry_after(
    path: str, call: Call, stage: str, openai_api: OpenAIEmulator
) -> None:
    openai_api.fail_next(path, status=429, retry_after=120)
    with pytest.raises(ServiceError) as caught:
        await call(sdk_client(openai_api.base_url))
    error = caught.value
    assert (error.stage, error.status, error.retryable) == (stage, 429, True)
    assert error.retry_after == MAX_RETRY_AFTER_SECONDS


@pytest.mark.parametrize(("path", "call", "stage"), ADAPTERS)
async def test_a_refused_request_is_not_retryable(
    path: str, call: Call, stage: str, openai_api: OpenAIEmulator
) -> None:
    openai_api.fail_next(path, status=400)
    with pytest.raises(ServiceError) as caught:
        await call(sdk_client(openai_api.base_url))
    error = caught.value
    assert (error.stage, error.status, error.retryable, error.retry_after) == (
        stage,
        400,
        False,
        None,
    )


@pytest.mark.parametrize(("path", "call", "stage"), ADAPTERS)
async def test_a_server_that_cannot_be_reached_is_retryable(
    path: str, call: Call, stage: str, openai_api: OpenAIEmulator
) -> None:
    await openai_api.stop()  # its port is closed now: the connection is refused
    with pytest.raises(ServiceError) as caught:
        await call(sdk_client(openai_api.base_url))
    error = caught.value
    assert (error.stage, error.status, error.retryable) == (stage, None, True)


@pytest.mark.parametrize(("path", "call", "stage"), ADAPTERS)
async def test_a_model_the_server_no_longer_has_keeps_its_reason_and_is_not_retried(
    path: str, call: Call, stage: str, openai_api: OpenAIEmulator
) -> None:
    openai_api.retire_model("gpt-4o-mini", "gpt-transcribe", "tts-1")
    with pytest.raises(ServiceError) as caught:
        await call(sdk_client(openai_api.base_url))
    error = caught.value
    assert (error.stage, error.status, error.retryable) == (stage, 404, False)
    assert error.reason == MODEL_NOT_FOUND
