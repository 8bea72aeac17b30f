"""Voice notes in, voice notes out, through the real bot and both emulators."""

from __future__ import annotations

import os
import subprocess

import imageio_ffmpeg
import pytest

from bot.i18n import t
from tests.conftest import manifest, sample
from tests.emulators.audio_tools import ogg_without_audio
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.openai_replies import CANNED, LANGUAGE_NAMES
from tests.turns import turns_ended

USER = 3003
OTHER = 4004
# Tests of /v1/audio/speech name one of its models (the default speaks through the Realtime API).
SPEECH_ENDPOINT = "gpt-4o-mini-tts"
SAMPLES = ["en_1.ogg", "zh_1.ogg", "ru_1.ogg", "es_1.ogg", "de_1.ogg"]


def assert_voice_bubble(message) -> None:
    assert message.kind == "voice"
    assert message.data.startswith(b"OggS") and b"OpusHead" in message.data
    assert message.duration and message.duration > 0


@pytest.mark.parametrize("name", SAMPLES)
async def test_a_voice_note_gets_transcript_answer_and_voice_in_its_language(
    name: str, bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    entry = manifest()[name]
    language = entry["language"]
    openai_api.transcribe_with(entry["text"], LANGUAGE_NAMES[language])
    await start_bot(make_settings())
    bot_api.send_voice(USER, sample(name), duration=round(entry["duration"]), language_code="en")
    text, voice = await bot_api.wait_for_messages(USER, 2, timeout=30)
    assert bot_api.calls_to("getFile"), "the voice note is downloaded"
    [transcription] = openai_api.transcription_requests()
    assert transcription.form["model"] == "gpt-transcribe"
    assert transcription.form["response_format"] == "json"
    [chat] = openai_api.chat_requests()
    assert chat.json["messages"][-1]["content"] == entry["text"]
    assert f"language code: {language}" in chat.json["messages"][0]["content"]
    assert text.text.startswith(t("heard", language, text=entry["text"]))
    assert CANNED[language] in text.text
    assert_voice_bubble(voice)


async def test_audio_files_documents_and_video_notes_are_heard_too(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot, tmp_path
) -> None:
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    (tmp_path / "in.ogg").write_bytes(sample("en_1.ogg"))
    for out, codec in (("note.mp4", "aac"), ("song.mp3", "libmp3lame")):
        subprocess.run(  # noqa: ASYNC221 - test set-up, before the bot starts
            [
                ffmpeg,
                "-loglevel",
                "error",
                "-i",
                str(tmp_path / "in.ogg"),
                "-c:a",
                codec,
                str(tmp_path / out),
            ],
            check=True,
        )
    await start_bot(make_settings())
    bot_api.send_audio(USER, (tmp_path / "song.mp3").read_bytes(), duration=6, file_name="song.mp3")
    bot_api.send_video_note(USER, (tmp_path / "note.mp4").read_bytes(), duration=6)
    bot_api.send_document(USER, sample("en_2.ogg"), file_name="memo.ogg", mime_type="audio/ogg")
    await bot_api.wait_for_messages(USER, 3, kind="voice", timeout=40)
    assert len(openai_api.transcription_requests()) == 3


@pytest.mark.parametrize(
    ("data", "language"),
    [
        pytest.param(sample("empty.ogg"), "ru", id="a zero-byte file"),
        pytest.param(os.urandom(20_000), "de", id="random bytes"),
        pytest.param(ogg_without_audio(sample("en_1.ogg")), "es", id="an ogg holding no audio"),
    ],
)
async def test_audio_that_cannot_be_decoded_gets_a_clear_answer_and_no_model_call(
    data: bytes,
    language: str,
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings,
    start_bot,
) -> None:
    await start_bot(make_settings())
    bot_api.send_voice(USER, data, duration=3, language_code=language)
    [message] = await bot_api.wait_for_messages(USER, 1)
    assert message.text == t("bad_audio", language)
    assert not openai_api.transcription_requests() and not openai_api.chat_requests()


async def test_a_truncated_voice_note_is_answered_from_what_decodes(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with("I would like to book a table", "english")
    await start_bot(make_settings())
    bot_api.send_voice(USER, sample("corrupt_truncated.ogg"), duration=8)
    await bot_api.wait_for_messages(USER, 2, timeout=30)
    assert openai_api.transcription_requests()[0].files, "the decoded part was transcribed"


async def test_silence_gets_i_could_not_hear_any_speech_and_no_model_call(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with("", "english")
    await start_bot(make_settings())
    bot_api.send_voice(USER, sample("silence_5s.ogg"), duration=5, language_code="es")
    [message] = await bot_api.wait_for_messages(USER, 1)
    assert message.text == t("no_speech", "es")
    assert not openai_api.chat_requests()


@pytest.mark.parametrize(
    ("declared", "key", "params"),
    [
        pytest.param(
            {"duration": 301},
            "too_long",
            {"seconds": 301, "limit": 300},
            id="a voice note over the duration limit",
        ),
        pytest.param(
            {"duration": 10, "file_size": 25 * 2**20},
            "too_big",
            {"size_mb": 25.0, "limit_mb": 20},
            id="a file over the size limit",
        ),
    ],
)
async def test_oversized_voice_notes_are_refused_before_download(
    declared: dict, key: str, params: dict, bot_api: BotApiEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_voice(USER, sample("en_1.ogg"), language_code="zh", **declared)
    [message] = await bot_api.wait_for_messages(USER, 1)
    assert message.text == t(key, "zh", **params)
    assert not bot_api.calls_to("getFile")


async def test_an_unsupported_file_type_is_refused_clearly(
    bot_api: BotApiEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_document(
        USER, b"%PDF-1.4 not audio", file_name="report.pdf", mime_type="application/pdf"
    )
    [message] = await bot_api.wait_for_messages(USER, 1)
    assert message.text == t("unsupported_file", "en")
    assert not bot_api.calls_to("getFile")


async def test_a_transcription_service_that_is_down_gets_an_apology_and_the_bot_recovers(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.set_down(True)
    await start_bot(make_settings(openai_retry_budget_seconds=1.0))
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6, language_code="ru")
    [message] = await bot_api.wait_for_messages(USER, 1, timeout=20)
    assert message.text == t("transcription_failed", "ru")
    assert not openai_api.chat_requests()
    openai_api.set_down(False)
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6, language_code="ru")
    bot_api.send_text(USER, "Ты здесь?", language_code="ru")
    await bot_api.wait_for_messages(USER, 4, timeout=30)
    assert len(openai_api.chat_requests()) == 2


async def test_when_speech_fails_everywhere_the_text_arrives_with_a_short_note(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.fail_next("/audio/speech", status=500, times=50)
    await start_bot(
        make_settings(tts_backend="openai", tts_model=SPEECH_ENDPOINT, tts_fallbacks=())
    )
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    answer, note = await bot_api.wait_for_messages(USER, 2, timeout=20)
    assert "Here is my answer." in answer.text
    assert note.text == t("voice_unavailable", "en")
    assert not [m for m in bot_api.chat_messages(USER) if m.kind == "voice"]


async def test_when_openai_speech_fails_espeak_speaks_instead(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.fail_next("/audio/speech", status=500, times=50)
    await start_bot(
        make_settings(tts_backend="openai", tts_model=SPEECH_ENDPOINT, tts_fallbacks=("espeak",))
    )
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    [voice] = await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=20)
    assert_voice_bubble(voice)


async def test_openai_speech_is_the_voice_when_chosen(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(
        make_settings(tts_backend="openai", tts_model=SPEECH_ENDPOINT, tts_fallbacks=())
    )
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    [voice] = await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=20)
    assert_voice_bubble(voice)
    assert openai_api.speech_requests()[0].json["response_format"] == "opus"


async def test_one_slow_voice_note_does_not_delay_another_users_text(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.delay_next("/audio/transcriptions", 4.0)
    await start_bot(make_settings())
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    await openai_api.wait_for(lambda: len(openai_api.transcription_requests()) == 1)
    bot_api.send_text(OTHER, "quick question")
    await bot_api.wait_for_messages(OTHER, 1, timeout=3.5)
    assert not bot_api.chat_messages(USER), "the slow voice note is still being transcribed"


async def test_transcribe_mode_returns_only_the_transcript(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with("Note to self: buy milk", "english")
    services = await start_bot(make_settings())
    bot_api.send_text(USER, "/mode transcribe")
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    confirmation, transcript = await bot_api.wait_for_messages(USER, 2)
    assert confirmation.text == t("mode_transcribe", "en")
    assert transcript.text == t("heard", "en", text="Note to self: buy milk")
    await turns_ended(bot_api, services)
    assert not openai_api.chat_requests()


async def test_text_mode_answers_voice_notes_without_a_voice(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    services = await start_bot(make_settings())
    bot_api.send_text(USER, "/mode text")
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    await bot_api.wait_for_messages(USER, 2)
    await turns_ended(bot_api, services)
    assert [m.kind for m in bot_api.chat_messages(USER)] == ["text", "text"]


async def test_voice_on_makes_typed_messages_get_a_voice_reply_too(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_text(USER, "/voice on")
    bot_api.send_text(USER, "Guten Morgen, wie geht es dir heute?", language_code="de")
    [voice] = await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=20)
    assert_voice_bubble(voice)
    assert "language code: de" in openai_api.chat_requests()[0].json["messages"][0]["content"]


async def test_a_pinned_language_is_forced_on_transcription_and_answer(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_text(USER, "/lang es")
    bot_api.send_voice(USER, sample("es_1.ogg"), duration=6)
    await bot_api.wait_for_messages(USER, 2, timeout=20)
    [transcription] = openai_api.transcription_requests()
    assert transcription.form_lists["languages[]"] == ["es"], "gpt-transcribe's language hint"
    assert "language" not in transcription.form
    assert "language code: es" in openai_api.chat_requests()[0].json["messages"][0]["content"]


async def test_chat_actions_show_recording_while_working(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=20)
    actions = bot_api.chat_actions(USER)
    assert "record_voice" in actions and "upload_voice" in actions


async def test_remote_transcription_uploads_the_voice_note_as_telegram_sent_it(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    note = sample("en_1.ogg")
    await start_bot(make_settings())
    bot_api.send_voice(USER, note, duration=5)
    await bot_api.wait_for_messages(USER, 2, timeout=30)
    [upload] = openai_api.transcription_requests()
    assert upload.filenames["file"] == "voice.ogg"
    assert upload.files["file"] == note, "OGG/Opus as sent, not a WAV eight times its size"
