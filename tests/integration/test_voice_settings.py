"""A voice of one's own: the /voice menu, and every backend speaking in that voice and speed."""

from __future__ import annotations

from typing import Any

from bot.audio import wav_duration
from bot.i18n import t
from bot.speech import speak_answer
from bot.stores.prefs import PreferenceStore
from bot.tts.base import DEFAULT_STYLE, Speech, SpeechStyle, Synthesizer
from bot.tts.espeak import EspeakSynthesizer
from bot.tts.piper import PiperSynthesizer
from tests.conftest import RedisKeyspace, sample
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.turns import turns_ended

USER = 5005
SPEECH_ENDPOINT = "gpt-4o-mini-tts"  # audio.speech: its voices, and a speed of its own
SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank today."


def buttons(bot_api: BotApiEmulator, chat_id: int, message_id: int) -> list[list[str]]:
    """The labels of a message's inline keyboard, row by row."""
    markup: dict[str, Any] = bot_api.messages[chat_id][message_id].get("reply_markup") or {}
    return [[b["text"] for b in row] for row in markup.get("inline_keyboard", [])]


async def open_menu(bot_api: BotApiEmulator, language: str = "en") -> int:
    bot_api.send_text(USER, "/voice", language_code=language)
    [menu] = await bot_api.wait_for_messages(USER, 1)
    return menu.message_id


async def test_voice_opens_a_settings_menu_in_the_users_language_with_the_backends_voices(
    bot_api: BotApiEmulator, make_settings, start_bot
) -> None:
    await start_bot(
        make_settings(
            tts_backend="openai", tts_model=SPEECH_ENDPOINT, tts_fallbacks=(), tts_voice="alloy"
        )
    )
    menu_id = await open_menu(bot_api, "de")
    [menu] = bot_api.chat_messages(USER)
    assert menu.text.splitlines() == [
        t("voice_menu", "de"),
        t("voice_menu_replies", "de", choice=t("replies_notes", "de")),
        t("voice_menu_voice", "de", voice="alloy"),
        t("voice_menu_speed", "de", speed="1×"),
    ]
    rows = buttons(bot_api, USER, menu_id)
    assert rows[0] == [t("replies_off", "de"), "✓ " + t("replies_notes", "de"), "Immer"]
    voices = [label for row in rows[1:-1] for label in row]
    assert voices[0] == "✓ alloy" and "nova" in voices and "shimmer" in voices
    assert rows[-1] == ["0.8×", "✓ 1×", "1.25×", "1.5×"]


async def test_the_realtime_voice_offers_its_own_voices_and_reads_in_the_chosen_one(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings(tts_backend="openai", tts_fallbacks=()))
    menu_id = await open_menu(bot_api)
    voices = [label for row in buttons(bot_api, USER, menu_id)[1:-1] for label in row]
    assert "coral" in voices and "nova" not in voices, "nova is a speech-endpoint voice only"
    bot_api.press_button(USER, "vm:v:coral", message_id=menu_id)
    await bot_api.wait_for(
        lambda: "✓ coral" in [b for row in buttons(bot_api, USER, menu_id) for b in row]
    )
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=30)
    sessions = openai_api.realtime.sessions
    assert sessions and all(
        s.config["audio"]["output"]["voice"] == "coral" for s in sessions if s.responses
    )


async def test_the_menu_changes_voice_and_speed_in_place_and_openai_is_asked_for_them(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(
        make_settings(tts_backend="openai", tts_model=SPEECH_ENDPOINT, tts_fallbacks=())
    )
    menu_id = await open_menu(bot_api)
    bot_api.press_button(USER, "vm:v:nova", message_id=menu_id)
    await bot_api.wait_for(
        lambda: "✓ nova" in [b for row in buttons(bot_api, USER, menu_id) for b in row]
    )
    bot_api.press_button(USER, "vm:s:1.25", message_id=menu_id)
    await bot_api.wait_for(lambda: "✓ 1.25×" in buttons(bot_api, USER, menu_id)[-1])
    [menu] = bot_api.chat_messages(USER)
    assert len(menu.edits) == 2, "both choices edited the same message"
    assert t("voice_menu_voice", "en", voice="nova") in menu.text
    assert t("voice_menu_speed", "en", speed="1.25×") in menu.text
    assert len(bot_api.calls_to("answerCallbackQuery")) == 2, "every press stops its spinner"

    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=30)
    spoken = openai_api.speech_requests()
    assert spoken and all(r.json["voice"] == "nova" for r in spoken)
    assert all(r.json["speed"] == 1.25 for r in spoken)


async def test_replies_always_from_the_menu_speaks_typed_answers_and_off_silences_voice_notes(
    bot_api: BotApiEmulator, make_settings, start_bot
) -> None:
    services = await start_bot(make_settings())
    menu_id = await open_menu(bot_api)
    always, off = "✓ " + t("replies_always", "en"), "✓ " + t("replies_off", "en")
    bot_api.press_button(USER, "vm:r:always", message_id=menu_id)
    await bot_api.wait_for(lambda: always in buttons(bot_api, USER, menu_id)[0])
    bot_api.send_text(USER, "Tell me something nice.")
    await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=30)

    bot_api.press_button(USER, "vm:r:off", message_id=menu_id)
    await bot_api.wait_for(lambda: off in buttons(bot_api, USER, menu_id)[0])
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    await bot_api.wait_for_messages(USER, 4, timeout=30)  # menu, answer, voice, answer
    await turns_ended(bot_api, services)
    assert [m.kind for m in bot_api.chat_messages(USER)] == ["text", "text", "voice", "text"]


async def test_voice_on_and_off_keep_their_meaning_as_shortcuts(
    redis_keyspace: RedisKeyspace, redis_url: str
) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    store = PreferenceStore(client, prefix=redis_keyspace.prefix)
    # Saved before the menu existed: "voice" was "1" after /voice on.
    await client.hset(redis_keyspace.key(f"prefs:{USER}"), mapping={"voice": "1", "mode": "chat"})
    old = await store.load(USER)
    assert old.replies == "always" and old.speaks(to_voice_note=False)
    off = await store.update(USER, replies="notes")
    assert off.speaks(to_voice_note=True) and not off.speaks(to_voice_note=False)
    await client.aclose()


async def test_espeak_speaks_faster_at_a_higher_speed() -> None:
    espeak = EspeakSynthesizer()
    normal = await espeak.synthesize(SENTENCE, language="en")
    fast = await espeak.synthesize(SENTENCE, language="en", style=SpeechStyle(speed=1.5))
    assert fast.speed == 1.5, "espeak's own -s did the work"
    ratio = wav_duration(normal.audio) / wav_duration(fast.audio)
    assert 1.3 < ratio < 1.7


async def test_piper_speaks_faster_at_a_higher_speed() -> None:
    piper = PiperSynthesizer()
    try:
        normal = await piper.synthesize(SENTENCE, language="en")
        fast = await piper.synthesize(SENTENCE, language="en", style=SpeechStyle(speed=1.5))
    finally:
        await piper.aclose()
    assert fast.speed == 1.5, "Piper's own length_scale did the work"
    # The pauses around the sentence keep their length: the words alone are 1.5 times faster.
    assert wav_duration(normal.audio) / wav_duration(fast.audio) > 1.25


async def test_espeak_speaks_in_the_chosen_variant() -> None:
    espeak = EspeakSynthesizer()
    plain = await espeak.synthesize(SENTENCE, language="en")
    whisper = await espeak.synthesize(SENTENCE, language="en", style=SpeechStyle("whisper"))
    assert plain.audio != whisper.audio


class OnePaceSynthesizer(Synthesizer):
    """A backend with no speed of its own (like gTTS): espeak's audio, always at its pace."""

    name = "one-pace"

    async def synthesize(
        self, text: str, *, language: str, style: SpeechStyle = DEFAULT_STYLE
    ) -> Speech:
        speech = await EspeakSynthesizer().synthesize(text, language=language)
        return Speech(speech.audio, "wav", self.name)


async def test_a_backend_without_a_speed_of_its_own_gets_a_tempo_filter_scaling_the_duration() -> (
    None
):
    backend = OnePaceSynthesizer()
    normal = await speak_answer(SENTENCE, language="en", synthesizer=backend, max_seconds=60)
    for speed in (0.8, 1.25, 1.5):
        styled = await speak_answer(
            SENTENCE,
            language="en",
            synthesizer=backend,
            max_seconds=60,
            style=SpeechStyle(speed=speed),
        )
        assert abs(normal.duration / styled.duration - speed) < 0.08, speed
