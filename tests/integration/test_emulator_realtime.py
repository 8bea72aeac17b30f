"""The OpenAI emulator's Realtime API, as the openai SDK's `client.realtime.connect` sees it."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import openai.types.realtime as rt
import pytest
from openai import AsyncOpenAI
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.emulators.openai_api import OpenAIEmulator

MODEL = "gpt-realtime-2.1-mini"
TEXT = "Read this aloud."


@pytest.fixture
async def client(openai_api: OpenAIEmulator) -> AsyncIterator[AsyncOpenAI]:
    sdk = AsyncOpenAI(api_key="sk-test", base_url=openai_api.base_url, max_retries=0)
    yield sdk
    await sdk.close()


def read(text: str) -> rt.RealtimeResponseCreateParamsParam:
    return {
        "conversation": "none",
        "output_modalities": ["audio"],
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        ],
    }


async def events_until_done(connection) -> list[rt.RealtimeServerEvent]:
    events = []
    while not events or events[-1].type not in ("response.done", "error"):
        events.append(await connection.recv())
    return events


async def test_a_session_starts_with_session_created_and_takes_an_update(
    client: AsyncOpenAI,
) -> None:
    async with client.realtime.connect(model=MODEL) as connection:
        created = await connection.recv()
        assert isinstance(created, rt.SessionCreatedEvent)
        assert created.session.model == MODEL
        await connection.session.update(
            session={"type": "realtime", "audio": {"output": {"voice": "marin"}}}
        )
        updated = await connection.recv()
        assert isinstance(updated, rt.SessionUpdatedEvent)
        assert updated.session.audio.output.voice == "marin"
        assert updated.session.audio.output.format.type == "audio/pcm"


async def test_an_out_of_band_response_streams_pcm_its_transcript_and_its_usage(
    client: AsyncOpenAI, openai_api: OpenAIEmulator
) -> None:
    async with client.realtime.connect(model=MODEL) as connection:
        await connection.recv()
        await connection.response.create(response=read(TEXT))
        events = await events_until_done(connection)
    pcm = b"".join(
        base64.b64decode(e.delta) for e in events if isinstance(e, rt.ResponseAudioDeltaEvent)
    )
    seconds = 0.05 * len(TEXT)
    assert len(pcm) == round(seconds * 24000) * 2, "16-bit mono at 24 kHz"
    [transcript] = [e for e in events if isinstance(e, rt.ResponseAudioTranscriptDoneEvent)]
    assert transcript.transcript == TEXT
    assert isinstance(events[0], rt.ResponseCreatedEvent)
    done = events[-1]
    assert isinstance(done, rt.ResponseDoneEvent)
    assert (done.response.status, done.response.conversation_id) == ("completed", None)
    usage = done.response.usage
    assert usage.output_token_details.audio_tokens == round(seconds * 20)
    assert usage.output_tokens == usage.output_token_details.audio_tokens + (
        usage.output_token_details.text_tokens
    )
    assert openai_api.realtime.connections == 1


async def test_scripted_faults_answer_an_error_event_or_close_the_socket_mid_answer(
    client: AsyncOpenAI, openai_api: OpenAIEmulator
) -> None:
    openai_api.realtime.error_next("server_error")
    openai_api.realtime.close_next(after_deltas=1)
    async with client.realtime.connect(model=MODEL) as connection:
        await connection.recv()
        await connection.response.create(response=read(TEXT))
        [error] = await events_until_done(connection)
        assert isinstance(error, rt.RealtimeErrorEvent)
        assert (error.error.type, error.error.code) == ("server_error", "server_error")
        await connection.response.create(response=read(TEXT))
        with pytest.raises(ConnectionClosed):
            await events_until_done(connection)


async def test_a_retired_model_is_refused_at_the_handshake_with_model_not_found(
    client: AsyncOpenAI, openai_api: OpenAIEmulator
) -> None:
    openai_api.realtime.retire(MODEL)
    with pytest.raises(InvalidStatus) as caught:
        async with client.realtime.connect(model=MODEL):
            pass
    assert caught.value.response.status_code == 404
    assert json.loads(caught.value.response.body)["error"]["code"] == "model_not_found"
    assert openai_api.realtime.connections == 0
