"""The OpenAI emulator speaks gpt-transcribe and model lifecycles as the openai SDK reads them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
from openai import AsyncOpenAI
from openai.types.audio import TranscriptionTextDeltaEvent, TranscriptionTextDoneEvent

from tests.emulators import OpenAIEmulator
from tests.emulators.audio_tools import tone


@pytest.fixture
async def client(openai_api: OpenAIEmulator) -> AsyncIterator[AsyncOpenAI]:
    """A real AsyncOpenAI client pointed at the emulator."""
    async with AsyncOpenAI(api_key="sk-test", base_url=openai_api.base_url, max_retries=0) as c:
        yield c


async def test_gpt_transcribe_names_the_languages_and_the_seconds_it_bills(
    client: AsyncOpenAI, openai_api: OpenAIEmulator
) -> None:
    openai_api.transcribe_with("Hola, ¿qué tal?", "spanish")
    result = await client.audio.transcriptions.create(
        model="gpt-transcribe", file=("note.wav", tone(2.5, "wav"), "audio/wav")
    )
    assert result.text == "Hola, ¿qué tal?"
    assert [language.code for language in result.languages or []] == ["es"]
    assert result.usage is not None and result.usage.type == "duration"
    assert result.usage.seconds == 3


async def test_gpt_transcribe_answers_an_empty_list_when_it_cannot_tell(
    client: AsyncOpenAI, openai_api: OpenAIEmulator
) -> None:
    openai_api.transcribe_with("Mm-hmm", None)
    result = await client.audio.transcriptions.create(
        model="gpt-transcribe", file=("note.wav", tone(1.0, "wav"), "audio/wav")
    )
    assert result.languages == []


async def test_gpt_transcribe_takes_languages_and_refuses_language_and_verbose_json(
    client: AsyncOpenAI, openai_api: OpenAIEmulator
) -> None:
    wav = ("note.wav", tone(1.0, "wav"), "audio/wav")
    hinted = await client.audio.transcriptions.create(
        model="gpt-transcribe", file=wav, languages=["de"]
    )
    assert [language.code for language in hinted.languages or []] == ["de"]
    for wrong in ({"language": "de"}, {"response_format": "verbose_json"}):
        with pytest.raises(openai.BadRequestError):
            await client.audio.transcriptions.create(model="gpt-transcribe", file=wav, **wrong)


async def test_a_streamed_transcript_comes_as_deltas_then_the_whole_text(
    client: AsyncOpenAI, openai_api: OpenAIEmulator
) -> None:
    openai_api.transcribe_with("one two three", "english")
    stream = await client.audio.transcriptions.create(
        model="gpt-transcribe", file=("note.wav", tone(1.0, "wav"), "audio/wav"), stream=True
    )
    events = [event async for event in stream]
    deltas = [e.delta for e in events if isinstance(e, TranscriptionTextDeltaEvent)]
    [done] = [e for e in events if isinstance(e, TranscriptionTextDoneEvent)]
    assert "".join(deltas) == done.text == "one two three"
    assert [language.code for language in done.languages or []] == ["en"]


async def test_a_model_tells_its_shutdown_date_and_a_retired_one_is_not_found(
    client: AsyncOpenAI, openai_api: OpenAIEmulator
) -> None:
    openai_api.announce_shutdown("gpt-4o-mini", "2027-01-14")
    openai_api.retire_model("whisper-1")
    assert (await client.models.retrieve("gpt-4o-mini")).shutdown_date == "2027-01-14"
    assert (await client.models.retrieve("gpt-6-luna")).shutdown_date is None
    with pytest.raises(openai.NotFoundError) as caught:
        await client.models.retrieve("whisper-1")
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError) as refused:
        await client.audio.transcriptions.create(
            model="whisper-1", file=("note.wav", tone(1.0, "wav"), "audio/wav")
        )
    assert refused.value.code == "model_not_found"
    listed = [m.id async for m in client.models.list()]
    assert "gpt-4o-mini" in listed and "whisper-1" not in listed


async def test_without_a_models_endpoint_a_lookup_is_a_plain_404(
    client: AsyncOpenAI, openai_api: OpenAIEmulator
) -> None:
    openai_api.drop_models_endpoint()
    with pytest.raises(openai.NotFoundError) as caught:
        await client.models.retrieve("gpt-6-luna")
    assert caught.value.code is None
