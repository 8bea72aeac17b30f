"""The offline defaults end to end: the real Whisper base model hears, espeak-ng speaks."""

from __future__ import annotations

import re

import pytest

from tests.conftest import manifest, sample
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.openai_replies import CANNED

pytestmark = pytest.mark.model

SCRIPTS = {
    "en": re.compile(r"[A-Za-z]"),
    "de": re.compile(r"[A-Za-zäöüß]"),
    "es": re.compile(r"[A-Za-záéíóúñ]"),
    "ru": re.compile(r"[А-Яа-яЁё]"),
    "zh": re.compile(r"[\u4e00-\u9fff]"),
}
SAMPLES = {"en": "en_1.ogg", "de": "de_1.ogg", "es": "es_1.ogg", "ru": "ru_1.ogg", "zh": "zh_2.ogg"}


async def test_five_languages_get_transcript_answer_and_voice_in_their_language_offline(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    """Each speaker's Telegram language tells the bot what to expect when Whisper is unsure."""
    await start_bot(make_settings(asr_backend="faster-whisper", tts_backend="espeak"))
    users = {language: 7000 + i for i, language in enumerate(SAMPLES)}
    for language, name in SAMPLES.items():
        duration = round(manifest()[name]["duration"])
        bot_api.send_voice(users[language], sample(name), duration=duration, language_code=language)
    for language, user in users.items():
        text, voice = await bot_api.wait_for_messages(user, 2, timeout=180)
        heard = text.text.split("\n\n")[0]
        assert SCRIPTS[language].search(heard), (language, heard)
        assert CANNED[language] in text.text, (language, text.text)
        assert voice.kind == "voice" and voice.data.startswith(b"OggS") and voice.duration > 0
    assert not openai_api.transcription_requests(), "nothing was sent out to be transcribed"
    languages = {
        re.search(r"language code: (\w+)", r.json["messages"][0]["content"]).group(1)
        for r in openai_api.chat_requests()
    }
    assert languages == set(SAMPLES)


async def test_silence_and_noise_get_no_speech_from_the_real_model(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings(asr_backend="faster-whisper", tts_backend="espeak"))
    bot_api.send_voice(8001, sample("silence_5s.ogg"), duration=5, language_code="de")
    bot_api.send_voice(8002, sample("white_noise_5s.ogg"), duration=5, language_code="en")
    [silence] = await bot_api.wait_for_messages(8001, 1, timeout=120)
    [noise] = await bot_api.wait_for_messages(8002, 1, timeout=120)
    from bot.i18n import t

    assert silence.text == t("no_speech", "de")
    assert noise.text == t("no_speech", "en")
    assert not openai_api.chat_requests()
