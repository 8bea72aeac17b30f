"""The one command table drives both the handlers and the command menu Telegram shows."""

from __future__ import annotations

import json

from bot.i18n import TABLES, t
from bot.tg.commands import COMMANDS
from tests.emulators.bot_api import BotApiEmulator

USER = 8008
ADMIN = 9009


async def test_the_menu_is_the_tables_menu_commands_described_in_each_language(
    bot_api: BotApiEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    # The menu is set once polling runs (nothing a first message needs waits for it).
    await bot_api.wait_for(lambda: len(bot_api.calls_to("setMyCommands")) == len(TABLES))
    shown = [c.name for c in COMMANDS if c.in_menu and c.requires is None]
    for language, messages in TABLES.items():
        code = "" if language == "en" else language
        assert bot_api.my_commands(code) == [
            {"command": name, "description": messages[f"cmd_{name}"]} for name in shown
        ], language


async def test_every_admin_only_command_is_unknown_to_everyone_else(
    bot_api: BotApiEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings(admin_user_ids=frozenset({ADMIN})))
    guarded = [c.name for c in COMMANDS if c.admin_only]
    for name in guarded:
        bot_api.send_text(USER, f"/{name} {USER}")
    replies = await bot_api.wait_for_messages(USER, len(guarded))
    assert [m.text for m in replies] == [t("unknown_command", "en")] * len(guarded)


async def test_live_is_in_the_menu_only_with_public_url(
    bot_api: BotApiEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings(public_url="https://bot.example.org"))
    await bot_api.wait_for(lambda: len(bot_api.calls_to("setMyCommands")) == len(TABLES))
    for language, messages in TABLES.items():
        code = "" if language == "en" else language
        live = {"command": "live", "description": messages["cmd_live"]}
        assert live in bot_api.my_commands(code), language


async def test_live_answers_with_a_button_that_opens_the_page_as_a_mini_app(
    bot_api: BotApiEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings(public_url="https://bot.example.org/"))
    bot_api.send_text(USER, "/live", language_code="es")
    (message,) = await bot_api.wait_for_messages(USER, 1)
    assert message.text == t("live_open", "es")
    markup = bot_api.calls_to("sendMessage")[-1].params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    (button,) = markup["inline_keyboard"][0]
    assert button == {
        "text": t("live_button", "es"),
        "web_app": {"url": "https://bot.example.org/live"},
    }


async def test_live_without_public_url_says_it_is_not_set_up_in_the_users_language(
    bot_api: BotApiEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_text(USER, "/live", language_code="ru")
    (message,) = await bot_api.wait_for_messages(USER, 1)
    assert message.text == t("live_not_set_up", "ru")


async def test_start_and_help_say_in_one_line_that_openai_voice_replies_are_ai_generated(
    bot_api: BotApiEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings(tts_backend="openai", tts_fallbacks=("espeak",)))
    bot_api.send_text(USER, "/start", language_code="ru", first_name="Анна")
    bot_api.send_text(USER, "/help", language_code="ru")
    start, help_ = await bot_api.wait_for_messages(USER, 2)
    assert start.text == t("start", "ru", name="Анна") + "\n\n" + t("ai_voice", "ru")
    assert help_.text == t("help", "ru") + "\n\n" + t("ai_voice", "ru")


async def test_start_says_nothing_of_ai_speech_when_no_remote_model_speaks(
    bot_api: BotApiEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings(tts_backend="espeak", tts_fallbacks=()))
    bot_api.send_text(USER, "/start", language_code="de", first_name="Jonas")
    [start] = await bot_api.wait_for_messages(USER, 1)
    assert start.text == t("start", "de", name="Jonas")
