"""Typed conversations through the real bot, the Bot API emulator and the OpenAI emulator."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

from bot.i18n import t
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.processes import bot_env
from tests.turns import turns_ended

USER = 1001
OTHER = 2002


def last_user_content(body: dict) -> str:
    return body["messages"][-1]["content"]


def all_contents(body: dict) -> str:
    return "\n".join(m["content"] for m in body["messages"])


async def test_typed_text_gets_a_streamed_answer_that_ends_complete(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.chunk_delay = 0.1
    openai_api.reply_with("Paris is the capital of France. " * 8)
    await start_bot(make_settings())
    bot_api.send_text(USER, "What is the capital of France?")
    [message] = await bot_api.wait_for_messages(USER, 1)
    assert message.text == ("Paris is the capital of France. " * 8).strip()
    drafts = bot_api.drafts(USER)
    assert len(drafts) >= 2, "the answer should grow visibly while streaming"
    assert all(message.text.startswith(d.strip()) for d in drafts)


async def test_group_answer_grows_by_edits_at_most_once_a_second(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.chunk_delay = 0.1
    openai_api.reply_with("Streaming answers in a group are edited in place. " * 6)
    await start_bot(make_settings(stream_edit_interval_seconds=1.0))
    bot_api.send_text(USER, "@voice_test_bot tell me something", chat_id=-500, chat_type="group")
    await bot_api.wait_for_messages(-500, 1)
    await bot_api.wait_for(lambda: bot_api.chat_messages(-500)[0].text.endswith("place."))
    edits = bot_api.calls_to("editMessageText")
    assert edits, "the group message should be edited as the answer grows"
    times = [bot_api.calls_to("sendMessage")[0].time] + [c.time for c in edits[:-1]]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.9 for gap in gaps), gaps


async def test_group_messages_not_addressed_to_the_bot_are_ignored(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    group = {"chat_id": -600, "chat_type": "group"}
    bot_api.send_text(USER, "just chatting with friends", **group)
    bot_api.send_text(USER, "@voice_test_bot hello", **group)
    await bot_api.wait_for_messages(-600, 1)
    bot_api.send_text(USER, "and now a reply to the bot", reply_to_bot=True, **group)
    await bot_api.wait_for_messages(-600, 2)
    bodies = [r.json for r in openai_api.chat_requests()]
    assert [last_user_content(b) for b in bodies] == ["hello", "and now a reply to the bot"]
    assert all("just chatting" not in all_contents(b) for b in bodies)


async def test_a_5000_character_answer_arrives_whole_in_two_messages(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.chunk_delay = 0.0
    long_answer = " ".join(f"Sentence number {i} is here." for i in range(200))
    assert len(long_answer) > 5000
    openai_api.reply_with(long_answer)
    services = await start_bot(make_settings())
    bot_api.send_text(USER, "Tell me a long story")
    messages = await bot_api.wait_for_messages(USER, 2)
    await turns_ended(bot_api, services)
    messages = bot_api.chat_messages(USER)
    assert len(messages) == 2
    assert all(len(m.text) <= 4096 for m in messages)
    assert "".join(m.text for m in messages).split() == long_answer.split()


async def test_context_reaches_the_next_request_but_never_another_user(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_text(USER, "My favourite colour is turquoise.")
    await bot_api.wait_for_messages(USER, 1)
    bot_api.send_text(OTHER, "What is my favourite colour?")
    await bot_api.wait_for_messages(OTHER, 1)
    bot_api.send_text(USER, "What is my favourite colour?")
    await bot_api.wait_for_messages(USER, 2)
    _, other, second = (r.json for r in openai_api.chat_requests())
    assert "turquoise" in all_contents(second)
    assert "turquoise" not in all_contents(other)


async def test_context_survives_restarting_the_application(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    settings = make_settings()
    services = await start_bot(settings)
    bot_api.send_text(USER, "Remember the code word: pineapple.")
    await bot_api.wait_for_messages(USER, 1)
    del services
    await start_bot(settings)  # a second application on the same Redis and database
    bot_api.send_text(USER, "What was the code word?")
    await bot_api.wait_for(lambda: len(openai_api.chat_requests()) == 2)
    assert "pineapple" in all_contents(openai_api.chat_requests()[1].json)


async def test_openai_429s_are_retried_until_an_answer_comes(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.fail_next("/chat/completions", status=429, times=2, retry_after=0)
    await start_bot(make_settings())
    bot_api.send_text(USER, "Hello?")
    [message] = await bot_api.wait_for_messages(USER, 1)
    assert len(openai_api.chat_requests()) == 3
    assert message.text.startswith("Here is my answer.")


async def test_openai_down_beyond_the_retry_budget_apologises_and_the_next_message_is_answered(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.set_down(True)
    await start_bot(make_settings(openai_retry_budget_seconds=1.0))
    bot_api.send_text(USER, "Hallo, bist du da?", language_code="de")
    [apology] = await bot_api.wait_for_messages(USER, 1, timeout=20)
    assert apology.text == t("service_down", "de")
    openai_api.set_down(False)
    bot_api.send_text(USER, "Jetzt wieder da?", language_code="de")
    messages = await bot_api.wait_for_messages(USER, 2, timeout=20)
    assert messages[1].text.startswith("Hier ist meine Antwort.")


async def test_telegram_flood_control_on_send_message_is_waited_out(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    bot_api.fail_next("sendMessage", status=429, retry_after=1)
    await start_bot(make_settings())
    bot_api.send_text(USER, "Hello")
    [message] = await bot_api.wait_for_messages(USER, 1, timeout=20)
    assert message.text.startswith("Here is my answer.")
    assert len(bot_api.calls_to("sendMessage")) == 2


async def test_messages_sent_at_once_by_one_user_are_answered_in_order(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    for i in range(3):
        bot_api.send_text(USER, f"question {i}")
    messages = await bot_api.wait_for_messages(USER, 3, timeout=20)
    assert [m.text.split("«")[-1].rstrip("»") for m in messages] == [
        f"question {i}" for i in range(3)
    ]
    requests = openai_api.chat_requests()
    assert "question 0" in all_contents(requests[2].json), "each answer saw the turns before it"


async def test_cancel_stops_the_answer_in_progress(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.chunk_delay = 0.5
    openai_api.reply_with("A very slow answer that will never finish. " * 5)
    services = await start_bot(make_settings())
    bot_api.send_text(USER, "Say something slowly")
    await openai_api.wait_for(lambda: len(openai_api.chat_requests()) == 1)
    await bot_api.wait_for(lambda: bool(bot_api.drafts(USER)))  # the answer is streaming
    bot_api.send_text(USER, "/cancel")
    [message] = await bot_api.wait_for_messages(USER, 1)
    assert message.text == t("cancel_done", "en")
    await turns_ended(bot_api, services)
    assert len(bot_api.chat_messages(USER)) == 1, "the cancelled answer must not be sent"


async def test_reset_forgets_the_conversation(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_text(USER, "My name is Ada.")
    await bot_api.wait_for_messages(USER, 1)
    bot_api.send_text(USER, "/reset", language_code="ru")
    messages = await bot_api.wait_for_messages(USER, 2)
    assert messages[1].text == t("reset_done", "ru")
    bot_api.send_text(USER, "What is my name?")
    await bot_api.wait_for(lambda: len(openai_api.chat_requests()) == 2)
    assert "Ada" not in all_contents(openai_api.chat_requests()[1].json)


async def test_start_and_help_speak_the_users_language_and_the_menu_is_registered(
    bot_api: BotApiEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings(tts_fallbacks=()))  # no remote voice: no AI-voice line
    bot_api.send_text(USER, "/start", language_code="es", first_name="Lucía")
    bot_api.send_text(USER, "/help", language_code="zh-hans")
    first, second = await bot_api.wait_for_messages(USER, 2)
    assert first.text == t("start", "es", name="Lucía")
    assert second.text == t("help", "zh")
    menu = [c["command"] for c in bot_api.my_commands()]
    assert {"start", "help", "reset", "cancel"} <= set(menu)
    assert bot_api.my_commands("ru")[0]["description"] == t("cmd_start", "ru")


async def test_markdown_is_sent_as_html_and_falls_back_to_plain_text_when_rejected(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.reply_with("This is **bold** and `code`.")
    await start_bot(make_settings())
    bot_api.send_text(USER, "format please")
    [message] = await bot_api.wait_for_messages(USER, 1)
    assert message.parse_mode == "HTML"
    assert message.raw_text == "This is <b>bold</b> and <code>code</code>."
    assert message.text == "This is bold and code."
    bot_api.fail_next("sendMessage", status=400, description="Bad Request: can't parse entities")
    bot_api.send_text(USER, "again")
    messages = await bot_api.wait_for_messages(USER, 2)
    assert messages[1].parse_mode is None
    assert messages[1].text == "This is **bold** and `code`."


def test_a_missing_token_exits_at_once_with_one_line_naming_the_variable(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=bot_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: TELEGRAM_BOT_TOKEN is not set; put it in the environment or in .env"
    ]


def test_a_missing_openai_key_exits_at_once_naming_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=bot_env(TELEGRAM_BOT_TOKEN="123:abc"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "OPENAI_API_KEY" in result.stderr.strip().splitlines()[-1]


async def test_typing_is_shown_while_the_model_thinks(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_text(USER, "Hello")
    await bot_api.wait_for_messages(USER, 1)
    assert bot_api.chat_actions(USER)[0] == "typing"


async def test_memory_expires_after_the_idle_time_and_keeps_the_newest_turns(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot, redis_keyspace
) -> None:
    await start_bot(make_settings(memory_idle_ttl_seconds=600, memory_max_turns=2))
    for i in range(3):
        bot_api.send_text(USER, f"turn {i}")
    await bot_api.wait_for_messages(USER, 3, timeout=20)
    key = redis_keyspace.key(f"conv:user:{USER}")
    assert 590 <= redis_keyspace.client.ttl(key) <= 600
    assert redis_keyspace.client.llen(key) == 2, "only the newest turns are kept"


async def test_two_group_members_writing_at_once_lose_no_turn(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot, redis_keyspace
) -> None:
    services = await start_bot(make_settings())
    group = {"chat_id": -700, "chat_type": "group"}
    bot_api.send_text(USER, "@voice_test_bot first", **group)
    bot_api.send_text(OTHER, "@voice_test_bot second", **group)
    key = redis_keyspace.key("conv:chat:-700")
    await bot_api.wait_for(lambda: redis_keyspace.client.llen(key) >= 2, timeout=20)
    await turns_ended(bot_api, services)
    assert redis_keyspace.client.llen(key) == 2


async def test_an_answer_with_nul_characters_reaches_the_user_as_text(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    # NUL and digits between NULs, as the renderer's own placeholders once looked.
    openai_api.reply_with("Use `ls` then \x000\x00 and \x007\x00 for **more**.")
    await start_bot(make_settings())
    bot_api.send_text(USER, "which command?")
    [message] = await bot_api.wait_for_messages(USER, 1)
    assert message.parse_mode == "HTML"
    assert message.text is not None and message.text.replace("\x00", "") == (
        "Use ls then 0 and 7 for more."
    )
    assert t("apology", "en") not in message.text
