"""Voice replies read aloud by a Realtime model, through the real bot and the OpenAI emulator."""

from __future__ import annotations

import itertools
import logging

import pytest
from sqlalchemy import select

from bot.db.engine import make_engine
from bot.db.models import UsageEvent
from bot.errors import ServiceError
from bot.openai_client import LazyOpenAI
from bot.tts import make_synthesizer
from bot.tts.realtime_pool import MAX_SESSION_AGE_SECONDS, RealtimePool
from tests.conftest import sample
from tests.emulators.audio_tools import ogg_opus_duration
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator

USER = 7007
SENTENCES = ["The sun is out today.", "Take a hat with you.", "Have a good walk!"]
ANSWER = " ".join(SENTENCES)
PAUSE_SECONDS = 0.15  # between two sentences of a voice note (bot.voice_out.CLIP_PAUSE_MS)


def realtime(make_settings, **overrides: object):
    """Settings speaking through OpenAI's default (Realtime) model only, no other voice."""
    return make_settings(tts_backend="openai", tts_fallbacks=(), **overrides)


def tone_seconds(text: str) -> float:
    """How long the emulator speaks `text` (as its /v1/audio/speech does)."""
    return round(min(max(0.05 * len(text), 0.2), 10.0), 2)


def read_texts(openai_api: OpenAIEmulator) -> list[str]:
    """The text of each response.create, in order."""
    return [
        content["text"]
        for response in openai_api.realtime.responses()
        for item in response["input"]
        for content in item["content"]
    ]


def numbered_answers(openai_api: OpenAIEmulator) -> None:
    """Each voice note gets new sentences, so none comes from the answer or speech cache."""
    questions, answers = itertools.count(1), itertools.count(1)
    openai_api.transcribe_with(lambda fields, audio: (f"Question {next(questions)}?", "english"))
    openai_api.reply_with(
        lambda body: " ".join(f"{n} sentence {next(answers)}." for n in ("One", "Two", "Three"))
    )


async def test_a_voice_reply_read_by_the_realtime_model_is_an_ogg_opus_voice_note_of_its_audio(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.reply_with(ANSWER)
    await start_bot(realtime(make_settings))
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    [voice] = await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=30)
    assert voice.data.startswith(b"OggS") and b"OpusHead" in voice.data
    expected = sum(tone_seconds(s) for s in SENTENCES) + PAUSE_SECONDS * (len(SENTENCES) - 1)
    assert ogg_opus_duration(voice.data) == pytest.approx(expected, abs=0.1)
    assert read_texts(openai_api) == SENTENCES
    [session] = openai_api.realtime.sessions
    assert session.model == "gpt-realtime-2.1-mini"
    assert session.config["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session.config["audio"]["output"]["voice"] == "alloy"
    assert "word for word" in session.config["instructions"]
    assert {r["conversation"] for r in session.responses} == {"none"}
    assert {tuple(r["output_modalities"]) for r in session.responses} == {("audio",)}
    assert not openai_api.speech_requests()


async def test_sentences_of_two_turns_are_read_on_one_pooled_realtime_session(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    numbered_answers(openai_api)
    await start_bot(realtime(make_settings, tts_realtime_sessions=1))
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=30)
    bot_api.send_voice(USER, sample("en_2.ogg"), duration=6)
    await bot_api.wait_for_messages(USER, 2, kind="voice", timeout=30)
    assert read_texts(openai_api) == [
        f"{n} sentence {i}."
        for i, n in enumerate(("One", "Two", "Three", "One", "Two", "Three"), start=1)
    ]
    assert openai_api.realtime.connections == 1


FAULTS_MID_ANSWER = {
    "closed": lambda realtime: realtime.close_next(after_deltas=1),
    "unreadable event": lambda realtime: realtime.garble_next(after_deltas=1),
    "error event": lambda realtime: realtime.error_next("server_error"),
}


@pytest.mark.parametrize("fault", FAULTS_MID_ANSWER)
async def test_a_session_that_fails_mid_answer_reads_the_sentence_again_on_a_fresh_session(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot, fault: str
) -> None:
    openai_api.reply_with(ANSWER)
    FAULTS_MID_ANSWER[fault](openai_api.realtime)
    await start_bot(realtime(make_settings, tts_realtime_sessions=1))
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    [text, voice] = await bot_api.wait_for_messages(USER, 2, timeout=30)
    assert ANSWER in (text.text or "")
    expected = sum(tone_seconds(s) for s in SENTENCES) + PAUSE_SECONDS * (len(SENTENCES) - 1)
    assert ogg_opus_duration(voice.data or b"") == pytest.approx(expected, abs=0.1)
    assert read_texts(openai_api) == [SENTENCES[0], *SENTENCES]
    assert openai_api.realtime.connections == 2
    assert openai_api.realtime.sessions[0].closed


async def test_two_broken_sessions_for_one_sentence_hand_it_to_the_next_voice(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.reply_with(ANSWER)
    openai_api.realtime.close_next(after_deltas=1, times=2)
    await start_bot(
        make_settings(tts_backend="openai", tts_fallbacks=("espeak",), tts_realtime_sessions=1)
    )
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    [text, voice] = await bot_api.wait_for_messages(USER, 2, timeout=30)
    assert ANSWER in (text.text or "")
    assert voice.kind == "voice"
    assert read_texts(openai_api)[:2] == [SENTENCES[0], SENTENCES[0]]


async def test_a_session_that_falls_silent_mid_answer_is_dropped_and_the_next_voice_speaks(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.reply_with(ANSWER)
    openai_api.realtime.stall_next(after_deltas=1)
    await start_bot(
        make_settings(
            tts_backend="openai",
            tts_fallbacks=("espeak",),
            tts_realtime_sessions=1,
            tts_timeout_seconds=5,  # espeak-ng, which speaks instead, gets as long
        )
    )
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    [voice] = await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=30)
    assert voice.data and voice.data.startswith(b"OggS")
    await openai_api.wait_for(lambda: openai_api.realtime.sessions[0].closed, timeout=30)
    assert read_texts(openai_api)[0] == SENTENCES[0]


async def test_a_transcript_other_than_the_text_is_logged_as_a_count_without_the_text(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings,
    start_bot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    openai_api.reply_with(SENTENCES[0])
    openai_api.realtime.say_instead_next("The moon is out tonight.")
    await start_bot(realtime(make_settings))
    with caplog.at_level(logging.WARNING, logger="bot.tts.openai"):
        bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
        await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=30)
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.tts.openai"]
    assert line == "synthesis: the realtime transcript differs from the text in 2 words"
    assert not {"sun", "moon", "today", "tonight"} & set(line.split())


async def test_realtime_usage_lands_in_the_ledger_priced_by_its_own_settings(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.reply_with(ANSWER)
    settings = realtime(
        make_settings,
        price_realtime_text_input_per_1m_tokens=1.0,
        price_realtime_text_output_per_1m_tokens=3.0,
        price_realtime_audio_output_per_1m_tokens=50.0,
    )
    await start_bot(settings)
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=30)
    usages = openai_api.realtime.usages()
    text_in = sum(u["input_tokens"] for u in usages)
    text_out = sum(u["output_token_details"]["text_tokens"] for u in usages)
    audio_out = sum(u["output_token_details"]["audio_tokens"] for u in usages)
    [row] = await synthesis_rows(settings.database_url)
    assert row == (
        "gpt-realtime-2.1-mini",
        text_in,
        text_out + audio_out,
        len(ANSWER),
        pytest.approx((text_in * 1.0 + text_out * 3.0 + audio_out * 50.0) / 1e6),
    )


async def test_a_speech_endpoint_model_still_speaks_through_audio_speech(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.reply_with(ANSWER)
    settings = realtime(make_settings, tts_model="gpt-4o-mini-tts")
    await start_bot(settings)
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=30)
    assert [r.json["input"] for r in openai_api.speech_requests()] == SENTENCES
    assert {r.json["model"] for r in openai_api.speech_requests()} == {"gpt-4o-mini-tts"}
    assert openai_api.realtime.connections == 0
    [row] = await synthesis_rows(settings.database_url)
    assert row[1:4] == (0, 0, len(ANSWER)), "billed by the character, as before"


@pytest.mark.parametrize("at", ["handshake", "session"])
async def test_a_shut_down_realtime_model_leaves_the_voice_to_the_next_backend(
    at: str, bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.reply_with(ANSWER)
    openai_api.realtime.retire("gpt-realtime-2.1-mini", at=at)
    await start_bot(make_settings(tts_backend="openai", tts_fallbacks=("espeak",)))
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    [voice] = await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=30)
    assert voice.data and voice.data.startswith(b"OggS")
    assert not openai_api.realtime.responses()


async def test_closing_the_synthesizer_closes_its_realtime_sessions(
    openai_api: OpenAIEmulator, make_settings
) -> None:
    settings = realtime(make_settings)
    client = LazyOpenAI(settings)
    synthesizer = make_synthesizer(settings, openai_client=client)
    speech = await synthesizer.synthesize(SENTENCES[0], language="en")
    assert speech.tokens is not None and speech.tokens.audio_out > 0
    [session] = openai_api.realtime.sessions
    assert not session.closed
    await synthesizer.aclose()
    await openai_api.wait_for(lambda: session.closed, timeout=30)
    await client.close()


async def test_a_session_near_openais_hour_limit_is_replaced_before_it_is_reused(
    openai_api: OpenAIEmulator, make_settings
) -> None:
    now = [0.0]
    client = LazyOpenAI(make_settings())
    pool = RealtimePool(
        client,
        model="gpt-realtime-2.1-mini",
        voice="alloy",
        size=1,
        timeout=30,
        clock=lambda: now[0],
    )
    await pool.speak(SENTENCES[0])
    now[0] += MAX_SESSION_AGE_SECONDS - 1
    await pool.speak(SENTENCES[1])
    assert openai_api.realtime.connections == 1
    now[0] += 1
    await pool.speak(SENTENCES[2])
    assert openai_api.realtime.connections == 2
    await openai_api.wait_for(lambda: openai_api.realtime.sessions[0].closed, timeout=30)
    await pool.aclose()
    await client.close()


async def test_a_voice_the_realtime_api_lacks_is_a_refusal_not_worth_retrying(
    openai_api: OpenAIEmulator, make_settings
) -> None:
    client = LazyOpenAI(make_settings())
    pool = RealtimePool(client, model="gpt-realtime-2.1-mini", voice="nova", size=1, timeout=30)
    with pytest.raises(ServiceError) as caught:
        await pool.speak(SENTENCES[0])
    assert (caught.value.stage, caught.value.retryable) == ("synthesis", False)
    assert "invalid_value" in str(caught.value)
    assert not openai_api.realtime.responses()
    await pool.aclose()
    await client.close()


async def synthesis_rows(database_url: str) -> list[tuple[object, ...]]:
    """(model, tokens in, tokens out, characters, cost) of each synthesis row."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(
                    UsageEvent.model,
                    UsageEvent.tokens_in,
                    UsageEvent.tokens_out,
                    UsageEvent.tts_chars,
                    UsageEvent.cost,
                ).where(UsageEvent.kind == "synthesis")
            )
            return [tuple(row) for row in rows]
    finally:
        await engine.dispose()
