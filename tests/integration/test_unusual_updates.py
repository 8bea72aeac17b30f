"""Legal but unusual Telegram updates, through the real bot and both emulators."""

from __future__ import annotations

from bot.core.prompt import estimate_tokens
from bot.i18n import t
from tests.conftest import sample
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator

USER = 5005
OTHER = 6006
CHANNEL = -1005550001
GROUP = -1005550002
FORUM = -1005550003


def questions(openai_api: OpenAIEmulator) -> list[str]:
    return [r.json["messages"][-1]["content"] for r in openai_api.chat_requests()]


async def test_a_channel_post_gets_no_answer_and_no_apology(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.post_in_channel(CHANNEL, "New episode out today! @voice_test_bot")
    bot_api.send_text(USER, "Hello after the post")
    await bot_api.wait_for_messages(USER, 1)
    assert bot_api.chat_messages(CHANNEL) == []
    assert bot_api.chat_actions(CHANNEL) == []
    assert questions(openai_api) == ["Hello after the post"]


async def test_a_message_on_behalf_of_a_chat_without_from_is_answered_as_that_chat(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_as_chat(GROUP, CHANNEL, "@voice_test_bot what is the capital of Peru?")
    [answer] = await bot_api.wait_for_messages(GROUP, 1)
    await bot_api.wait_for(lambda: (answer.text or "").endswith("»"))  # streamed by edits
    assert answer.text.startswith("Here is my answer.")
    assert questions(openai_api) == ["what is the capital of Peru?"]


async def test_an_edited_message_is_not_answered_a_second_time(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    asked = bot_api.send_text(USER, "What is 2 + 2?")
    [first] = await bot_api.wait_for_messages(USER, 1)
    bot_api.edit_text(USER, asked, "What is 3 + 3?")
    bot_api.send_text(USER, "Thanks!")
    await bot_api.wait_for_messages(USER, 2)
    assert questions(openai_api) == ["What is 2 + 2?", "Thanks!"]
    assert len(bot_api.chat_messages(USER)) == 2
    assert first.edits == [], "the earlier answer stays as it was"


async def test_a_text_of_only_invisible_characters_gets_please_send_text_and_no_model_call(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_text(USER, "\u200b\u200e\u2060 \ufeff\u200f\u3164", language_code="ru")
    bot_api.send_text(USER, "А теперь вопрос", language_code="ru")
    reply, _answer = await bot_api.wait_for_messages(USER, 2)
    assert reply.text == t("empty_text", "ru")
    assert questions(openai_api) == ["А теперь вопрос"]


async def test_a_stale_button_press_is_acknowledged_without_a_message(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_text(USER, "Hello")
    [answer] = await bot_api.wait_for_messages(USER, 1)
    query_id = bot_api.press_button(USER, "old-button", message_id=answer.message_id)
    await bot_api.wait_for(
        lambda: any(
            c.params.get("callback_query_id") == query_id
            for c in bot_api.calls_to("answerCallbackQuery")
        )
    )
    bot_api.send_text(USER, "Still there?")
    await bot_api.wait_for_messages(USER, 2)
    assert len(bot_api.chat_messages(USER)) == 2, "no apology for the button"
    assert questions(openai_api) == ["Hello", "Still there?"]


async def test_everything_sent_for_a_message_in_a_forum_topic_goes_to_that_topic(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    topic = {"chat_id": FORUM, "chat_type": "supergroup", "thread_id": 7}
    await start_bot(make_settings())
    bot_api.send_text(USER, "/voice on", **topic)
    await bot_api.wait_for_messages(FORUM, 1)
    bot_api.fail_next("sendVoice", status=400, description="Bad Request: VOICE_MESSAGES_FORBIDDEN")
    question = bot_api.send_text(USER, "@voice_test_bot say something", **topic)
    await bot_api.wait_for(
        lambda: any(m.text == t("apology", "en") for m in bot_api.chat_messages(FORUM))
    )
    voice_on, answer, apology = bot_api.chat_messages(FORUM)
    assert voice_on.text == t("voice_on", "en")
    assert answer.text.startswith("Here is my answer.")
    assert apology.reply_to_message_id == question
    assert [m.thread_id for m in bot_api.chat_messages(FORUM)] == [7, 7, 7]
    assert bot_api.calls_to("sendVoice")[0].params["message_thread_id"] == 7
    assert {"typing", "upload_voice"} <= set(bot_api.chat_actions(FORUM))
    assert set(bot_api.chat_action_threads(FORUM)) == {7}


async def test_a_file_telegram_no_longer_has_asks_to_send_it_again_and_a_failed_download_to_retry(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.fail_next(
        "getFile",
        status=400,
        description="Bad Request: wrong file_id or the file is temporarily unavailable",
    )
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6, language_code="de")
    [gone] = await bot_api.wait_for_messages(USER, 1)
    assert gone.text == t("file_gone", "de")
    bot_api.fail_next("download", status=500)
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6, language_code="de")
    _, failed = await bot_api.wait_for_messages(USER, 2)
    assert failed.text == t("transcription_failed", "de")
    assert openai_api.transcription_requests() == []
    assert [c.status for c in bot_api.calls_to("getFile")] == [400, 200]


async def test_a_text_over_max_input_tokens_is_refused_in_the_users_language_and_costs_nothing(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    services = await start_bot(make_settings(max_input_tokens=4000))
    long_text = "Lorem ipsum dolor sit amet. " * 3572
    assert len(long_text) > 100_000
    bot_api.send_text(USER, long_text, language_code="es")
    bot_api.send_text(USER, "¿Y ahora una pregunta corta?", language_code="es")
    refusal, _answer = await bot_api.wait_for_messages(USER, 2)
    tokens = estimate_tokens(long_text.strip())
    assert refusal.text == t("text_too_long", "es", tokens=tokens, limit=4000)
    assert questions(openai_api) == ["¿Y ahora una pregunta corta?"]
    today = (await services.accounts.stats()).periods[0]
    assert today.messages == 1, "only the short question was charged"
