"""gpt-transcribe by default, whisper-1 when configured: languages, charged seconds, streaming."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.db.engine import make_engine
from bot.db.models import UsageEvent
from bot.i18n import t
from tests.conftest import manifest, sample
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.openai_replies import CANNED
from tests.turns import turns_ended

USER = 7007
# Every model the bot used by default before gpt-transcribe and gpt-6-luna: shut down.
SHUT_DOWN = (
    "whisper-1",
    "gpt-4o-transcribe",
    "gpt-4o-mini-transcribe",
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1-mini",
    "tts-1",
    "tts-1-hd",
    "gpt-4o-mini-tts",
)


async def ledger(url: str, *columns: Any, **where: Any) -> list[Any]:
    """Rows of the usage ledger: the given columns, filtered by equality."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(select(*columns).filter_by(**where))).all())
    finally:
        await engine.dispose()


def system_prompt(openai_api: OpenAIEmulator) -> str:
    return openai_api.chat_requests()[-1].json["messages"][0]["content"]


async def test_a_spanish_voice_note_from_an_english_telegram_user_is_heard_and_answered_in_spanish(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.retire_model(*SHUT_DOWN)
    entry = manifest()["es_1.ogg"]
    openai_api.transcribe_with(entry["text"], "spanish")
    await start_bot(make_settings())
    bot_api.send_voice(USER, sample("es_1.ogg"), duration=6, language_code="en")
    text, voice = await bot_api.wait_for_messages(USER, 2, timeout=30)
    [transcription] = openai_api.transcription_requests()
    assert (transcription.form["model"], transcription.form["response_format"]) == (
        "gpt-transcribe",
        "json",
    )
    assert text.text.startswith(t("heard", "es", text=entry["text"]))
    assert CANNED["es"] in text.text
    assert "language code: es" in system_prompt(openai_api)
    assert voice.kind == "voice" and voice.data.startswith(b"OggS")
    calls = [r for r in openai_api.requests if not r.path.startswith("/v1/models")]
    assert all(r.status < 400 for r in calls), "no shut-down model was called"


async def test_on_default_voices_a_spanish_answer_is_read_aloud_through_the_realtime_api(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    # Every model OpenAI shuts down is gone; the voice settings are the defaults (gTTS first,
    # which cannot reach Google here, then OpenAI's Realtime voice).
    openai_api.retire_model(*SHUT_DOWN)
    entry = manifest()["es_1.ogg"]
    openai_api.transcribe_with(entry["text"], "spanish")
    await start_bot(make_settings(tts_backend=None, tts_fallbacks=None))
    bot_api.send_voice(USER, sample("es_1.ogg"), duration=6, language_code="en")
    text, voice = await bot_api.wait_for_messages(USER, 2, timeout=60)
    assert text.text.startswith(t("heard", "es", text=entry["text"]))
    assert CANNED["es"] in text.text
    assert voice.kind == "voice" and voice.data.startswith(b"OggS")
    read = [r["input"][0]["content"][0]["text"] for r in openai_api.realtime.responses()]
    # Sentences are read side by side (on several sessions), so they may arrive in any order.
    assert any(r.startswith(CANNED["es"]) for r in read), "the Realtime model read the answer"
    assert all(sentence in text.text for sentence in read), "sentence by sentence"
    assert sum(map(len, read)) + len(read) - 1 == len(text.text.split("\n\n", 1)[1]), "all of it"
    assert {s.model for s in openai_api.realtime.sessions} == {"gpt-realtime-2.1-mini"}
    assert not openai_api.speech_requests(), "no shut-down speech model was asked"


async def test_german_speech_whose_language_gpt_transcribe_cannot_tell_gets_a_german_answer(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    spoken = "Guten Morgen, wie wird das Wetter heute in Berlin?"
    openai_api.transcribe_with(spoken, None)  # answered with `languages: []`
    await start_bot(make_settings())
    bot_api.send_voice(USER, sample("de_1.ogg"), duration=6, language_code="en")
    [text] = await bot_api.wait_for_messages(USER, 1, timeout=30)
    assert text.text.startswith(t("heard", "de", text=spoken))
    assert CANNED["de"] in text.text
    assert "language code: de" in system_prompt(openai_api)


async def test_a_voice_note_gpt_transcribe_cannot_place_follows_the_language_last_spoken(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    services = await start_bot(make_settings())
    openai_api.transcribe_with("Доброе утро, как у тебя сегодня дела?", "russian")
    bot_api.send_voice(USER, sample("ru_1.ogg"), duration=6, language_code="en")
    await bot_api.wait_for_messages(USER, 2, timeout=30)
    await turns_ended(bot_api, services)
    openai_api.transcribe_with("Ok", None)  # no language reported, and one word tells nothing
    bot_api.send_voice(USER, sample("ru_2.ogg"), duration=6, language_code="en")
    await bot_api.wait_for(lambda: len(openai_api.chat_requests()) == 2, timeout=30)
    assert "language code: ru" in system_prompt(openai_api)


async def test_whisper_1_with_verbose_json_still_works_when_configured(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    entry = manifest()["ru_1.ogg"]
    openai_api.transcribe_with(entry["text"], "russian")
    await start_bot(make_settings(transcribe_model="whisper-1", openai_model="gpt-4o-mini"))
    bot_api.send_voice(USER, sample("ru_1.ogg"), duration=6, language_code="en")
    text, _voice = await bot_api.wait_for_messages(USER, 2, timeout=30)
    [transcription] = openai_api.transcription_requests()
    assert transcription.form["model"] == "whisper-1"
    assert transcription.form["response_format"] == "verbose_json"
    assert "stream" not in transcription.form, "whisper-1 does not stream"
    assert text.text.startswith(t("heard", "ru", text=entry["text"]))
    assert CANNED["ru"] in text.text


async def test_the_seconds_charged_are_those_the_transcription_service_reports(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.bill_seconds(42.0)
    # A streamed transcript's usage counts tokens; the json answer's counts seconds.
    settings = make_settings(transcribe_stream=False)
    await start_bot(settings)
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    await bot_api.wait_for_messages(USER, 2, timeout=30)
    [(seconds, cost)] = await ledger(
        settings.database_url, UsageEvent.voice_seconds, UsageEvent.cost, kind="transcription"
    )
    assert seconds == 42.0
    assert cost == 42.0 / 60 * settings.price_transcription_per_minute


async def test_without_usage_in_the_response_the_seconds_charged_are_the_audios(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    settings = make_settings(transcribe_model="whisper-1")
    await start_bot(settings)
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    await bot_api.wait_for_messages(USER, 2, timeout=30)
    [(seconds,)] = await ledger(
        settings.database_url, UsageEvent.voice_seconds, kind="transcription"
    )
    assert abs(seconds - manifest()["en_1.ogg"]["duration"]) < 0.5


async def test_the_transcript_grows_in_the_draft_while_the_model_streams_it(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    spoken = "Uno dos tres cuatro cinco seis siete ocho"
    openai_api.transcribe_with(spoken, "spanish")
    openai_api.hold("/audio/transcriptions#stream")  # after the first word, until released
    await start_bot(make_settings())
    bot_api.send_voice(USER, sample("es_1.ogg"), duration=6, language_code="es")
    first_word = t("heard", "es", text="Uno")
    await bot_api.wait_for(lambda: first_word in bot_api.drafts(USER), timeout=30)
    assert not bot_api.chat_messages(USER), "only the draft so far: the rest is not heard yet"
    openai_api.release("/audio/transcriptions#stream")
    text, _voice = await bot_api.wait_for_messages(USER, 2, timeout=30)
    assert text.text.startswith(t("heard", "es", text=spoken))
    [transcription] = openai_api.transcription_requests()
    assert transcription.form["stream"] == "true"


async def test_cancel_while_the_transcript_streams_stops_the_turn_before_any_answer(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with("Eins zwei drei vier fünf sechs", "german")
    openai_api.hold("/audio/transcriptions#stream")
    services = await start_bot(make_settings())
    bot_api.send_voice(USER, sample("de_1.ogg"), duration=6, language_code="de")
    await bot_api.wait_for(lambda: t("heard", "de", text="Eins") in bot_api.drafts(USER))
    bot_api.send_text(USER, "/cancel", language_code="de")
    [stopped] = await bot_api.wait_for_messages(USER, 1, timeout=30)
    assert stopped.text == t("cancel_done", "de")
    openai_api.release("/audio/transcriptions#stream")
    await turns_ended(bot_api, services)
    assert not openai_api.chat_requests()
    assert [m.text for m in bot_api.chat_messages(USER)] == [stopped.text]
