"""The "🔊" button: a text answer spoken once, on demand, counted and cached like any speech."""

from __future__ import annotations

from typing import Any

from bot.i18n import t
from tests.conftest import RedisKeyspace, sample
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.turns import turns_ended

USER = 6006
OTHER = 6007
SENTENCES = ("Paris is the capital of France.", "It lies on the Seine.")
ANSWER = " ".join(SENTENCES)


def markup(bot_api: BotApiEmulator, chat_id: int, message_id: int) -> dict[str, Any] | None:
    return bot_api.messages[chat_id][message_id].get("reply_markup")


def listen_data(bot_api: BotApiEmulator, chat_id: int, message_id: int) -> str:
    """The data of the 🔊 button under a message."""
    [[button]] = (markup(bot_api, chat_id, message_id) or {})["inline_keyboard"]
    assert button["text"] == "🔊"
    return str(button["callback_data"])


def alerts(bot_api: BotApiEmulator) -> list[str]:
    """The texts shown by answered button presses (empty for a silent acknowledgement)."""
    return [str(c.params.get("text") or "") for c in bot_api.calls_to("answerCallbackQuery")]


async def ask(bot_api: BotApiEmulator, user_id: int, question: str) -> int:
    bot_api.send_text(user_id, question)
    [answer] = await bot_api.wait_for_messages(user_id, 1, timeout=30)
    return answer.message_id


async def test_a_text_answer_carries_a_button_that_speaks_it_once_and_then_goes(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.reply_with(ANSWER)
    await start_bot(make_settings(tts_backend="openai", tts_fallbacks=()))
    answer_id = await ask(bot_api, USER, "What is the capital of France?")
    data = listen_data(bot_api, USER, answer_id)
    assert not bot_api.chat_messages(USER)[0].kind == "voice"

    bot_api.press_button(USER, data, message_id=answer_id)
    [voice] = await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=30)
    assert voice.reply_to_message_id == answer_id
    assert voice.data.startswith(b"OggS")
    await bot_api.wait_for(lambda: markup(bot_api, USER, answer_id) is None)
    read = [r["input"][0]["content"][0]["text"] for r in openai_api.realtime.responses()]
    # Sentences are read side by side (on several sessions), so they may arrive in any order.
    assert sorted(read) == sorted(SENTENCES), "the Realtime voice read each sentence once"

    bot_api.press_button(USER, data, message_id=answer_id)  # a client that still shows it
    await bot_api.wait_for(lambda: len(alerts(bot_api)) == 2)
    assert alerts(bot_api)[1] == t("listen_gone", "en")
    assert len(bot_api.chat_messages(USER)) == 2, "one answer, one voice note"
    assert len(openai_api.realtime.responses()) == len(read), "nothing read twice"


async def test_the_same_answer_spoken_for_someone_else_comes_from_the_speech_cache(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.reply_with(ANSWER)
    await start_bot(make_settings(tts_backend="openai", tts_fallbacks=()))
    first = await ask(bot_api, USER, "What is the capital of France?")
    bot_api.press_button(USER, listen_data(bot_api, USER, first), message_id=first)
    await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=30)
    synthesised = len(openai_api.speech_requests())

    second = await ask(bot_api, OTHER, "What is the capital of France?")
    bot_api.press_button(OTHER, listen_data(bot_api, OTHER, second), message_id=second)
    [voice] = await bot_api.wait_for_messages(OTHER, 1, kind="voice", timeout=30)
    assert voice.data.startswith(b"OggS")
    assert len(openai_api.speech_requests()) == synthesised, "every sentence was cached"


async def test_speaking_on_demand_counts_against_the_spoken_characters_quota(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.reply_with(ANSWER)
    await start_bot(make_settings(daily_tts_chars_limit=len(ANSWER)))
    first = await ask(bot_api, USER, "What is the capital of France?")
    bot_api.send_text(USER, "And of Italy?")
    second = (await bot_api.wait_for_messages(USER, 2, timeout=30))[-1].message_id
    bot_api.press_button(USER, listen_data(bot_api, USER, first), message_id=first)
    await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=30)

    bot_api.press_button(USER, listen_data(bot_api, USER, second), message_id=second)
    await bot_api.wait_for(lambda: len(alerts(bot_api)) == 2)
    assert alerts(bot_api)[1].startswith(t("over_quota", "en").split("{")[0])
    assert markup(bot_api, USER, second) is not None, "the button stays for when quota is back"


async def test_an_answer_older_than_a_day_is_too_old_to_speak_and_loses_its_button(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings,
    start_bot,
    redis_keyspace: RedisKeyspace,
) -> None:
    openai_api.reply_with(ANSWER)
    services = await start_bot(make_settings())
    answer_id = await ask(bot_api, USER, "What is the capital of France?")
    data = listen_data(bot_api, USER, answer_id)
    [key] = redis_keyspace.keys("listen:*")
    assert 86_000 < redis_keyspace.client.ttl(key) <= 86_400
    redis_keyspace.client.delete(key)  # what the day's expiry does

    bot_api.press_button(USER, data, message_id=answer_id)
    await bot_api.wait_for(lambda: markup(bot_api, USER, answer_id) is None)
    await turns_ended(bot_api, services)
    assert alerts(bot_api) == [t("listen_gone", "en")]
    assert not bot_api.chat_messages(USER)[1:], "no voice note"


async def test_what_waits_to_be_spoken_holds_no_private_value(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings,
    start_bot,
    redis_keyspace: RedisKeyspace,
) -> None:
    openai_api.reply_with(lambda body: f"I will call {body['messages'][-1]['content']} later.")
    await start_bot(make_settings())
    answer_id = await ask(bot_api, USER, "+44 20 7946 0958")
    assert "+44 20 7946 0958" in bot_api.chat_messages(USER)[0].text, "the user sees their value"
    listen_data(bot_api, USER, answer_id)
    [key] = redis_keyspace.keys("listen:*")
    saved = redis_keyspace.client.hget(key, "text").decode()
    assert "7946" not in saved and t("private_value", "en") in saved


async def test_an_answer_that_comes_with_a_voice_note_has_no_button(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    services = await start_bot(make_settings())
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    text, _voice = await bot_api.wait_for_messages(USER, 2, timeout=30)
    await turns_ended(bot_api, services)
    assert markup(bot_api, USER, text.message_id) is None


async def test_in_a_group_the_button_speaks_for_the_asker_only(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    group = -100888
    openai_api.reply_with(ANSWER)
    await start_bot(make_settings())
    bot_api.send_text(USER, "@voice_test_bot capital of France?", chat_id=group, chat_type="group")
    [answer] = await bot_api.wait_for_messages(group, 1, timeout=30)
    await bot_api.wait_for(lambda: markup(bot_api, group, answer.message_id) is not None)
    data = listen_data(bot_api, group, answer.message_id)

    bot_api.press_button(OTHER, data, message_id=answer.message_id, chat_id=group)
    await bot_api.wait_for(lambda: len(alerts(bot_api)) == 1)
    assert alerts(bot_api) == [t("listen_not_yours", "en")]
    bot_api.press_button(USER, data, message_id=answer.message_id, chat_id=group)
    [voice] = await bot_api.wait_for_messages(group, 1, kind="voice", timeout=30)
    assert voice.reply_to_message_id == answer.message_id
