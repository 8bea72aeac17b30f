"""Personal data never leaves in clear; caches save paying twice and never leak between users."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

from bot.i18n import t
from tests.conftest import RedisKeyspace, sample
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.processes import bot_env

ALICE = 5005
BOB = 6006
PHONE = "+1 650-253-0000"
EMAIL = "alice.smith@example.com"
CARD = "4111 1111 1111 1111"
PERSONAL = f"Please text my number {PHONE}, mail {EMAIL} and charge card {CARD}."
RAW_VALUES = [PHONE, "6502530000", EMAIL, CARD, "4111111111111111"]


def redis_dump(keyspace: RedisKeyspace) -> bytes:
    """Every key and value this test's bot wrote, as one blob to search."""
    client = keyspace.client
    blob = bytearray()
    for key in keyspace.keys():
        blob += key
        kind = client.type(key)
        if kind == b"string":
            blob += client.get(key) or b""
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                blob += field + value
        elif kind == b"list":
            blob += b"".join(client.lrange(key, 0, -1))
    return bytes(blob)


def assert_nothing_personal(blob: bytes | str, where: str) -> None:
    text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    for value in RAW_VALUES:
        assert value not in text, f"{value!r} found in {where}"


async def test_personal_data_is_masked_for_openai_and_restored_for_its_owner(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_text(ALICE, PERSONAL)
    [message] = await bot_api.wait_for_messages(ALICE, 1)
    sent = openai_api.chat_requests()[0].json["messages"][-1]["content"]
    assert_nothing_personal(sent, "the OpenAI request")
    assert "[PHONE_1]" in sent and "[EMAIL_1]" in sent and "[CARD_1]" in sent
    assert PERSONAL in message.text, "the user sees their own values"


async def test_redis_and_the_database_hold_no_personal_data(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings,
    start_bot,
    redis_keyspace,
    tmp_path,
) -> None:
    settings = make_settings()
    await start_bot(settings)
    bot_api.send_text(ALICE, PERSONAL)
    bot_api.send_text(ALICE, f"Again: {PHONE}")
    await bot_api.wait_for_messages(ALICE, 2)
    assert_nothing_personal(redis_dump(redis_keyspace), "Redis")
    for path in tmp_path.glob("bot.db*"):
        assert_nothing_personal(path.read_bytes(), path.name)


async def test_placeholders_stay_consistent_within_a_conversation(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_text(ALICE, f"My number is {PHONE}.")
    bot_api.send_text(ALICE, "Call (650) 253-0000 tomorrow, or my office +44 20 7946 0958.")
    await bot_api.wait_for_messages(ALICE, 2)
    second = openai_api.chat_requests()[1].json["messages"][-1]["content"]
    assert second == "Call [PHONE_1] tomorrow, or my office [PHONE_2]."


async def test_one_users_values_never_appear_in_another_users_reply(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_text(ALICE, f"My number is {PHONE}.")
    await bot_api.wait_for_messages(ALICE, 1)
    openai_api.reply_with("I will text [PHONE_1] and [EMAIL_1].")
    bot_api.send_text(BOB, "What number did I give you?")
    [reply] = await bot_api.wait_for_messages(BOB, 1)
    assert reply.text == "I will text [PHONE_1] and [EMAIL_1]."
    assert_nothing_personal(reply.text, "Bob's reply")


async def test_a_second_identical_first_question_from_another_user_makes_no_model_call(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_text(ALICE, "What is the boiling point of water?")
    [first] = await bot_api.wait_for_messages(ALICE, 1)
    bot_api.send_text(BOB, "what is the boiling point of water")
    [second] = await bot_api.wait_for_messages(BOB, 1)
    assert len(openai_api.chat_requests()) == 1
    assert second.text == first.text


async def test_a_question_with_a_phone_number_is_not_cached(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot, redis_keyspace
) -> None:
    await start_bot(make_settings())
    bot_api.send_text(ALICE, f"Is {PHONE} a US number?")
    await bot_api.wait_for_messages(ALICE, 1)
    bot_api.send_text(BOB, f"Is {PHONE} a US number?")
    await bot_api.wait_for_messages(BOB, 1)
    assert len(openai_api.chat_requests()) == 2
    assert not list(redis_keyspace.keys("answer:*"))


async def test_an_answer_given_with_context_is_never_cached(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_text(ALICE, "Hello there")
    bot_api.send_text(ALICE, "Tell me a fact about owls")
    await bot_api.wait_for_messages(ALICE, 2)
    bot_api.send_text(BOB, "Hello there")
    bot_api.send_text(BOB, "Tell me a fact about owls")
    await bot_api.wait_for_messages(BOB, 2)
    questions = [r.json["messages"][-1]["content"] for r in openai_api.chat_requests()]
    assert questions == ["Hello there", "Tell me a fact about owls", "Tell me a fact about owls"]


async def test_a_forwarded_voice_note_is_not_transcribed_again(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with("What time is it in Tokyo?", "english")
    await start_bot(make_settings(tts_backend="espeak"))
    _, unique = bot_api.add_file(sample("en_1.ogg"))
    first_id, _ = bot_api.add_file(sample("en_1.ogg"), file_unique_id=unique)
    forwarded_id, _ = bot_api.add_file(sample("en_1.ogg"), file_unique_id=unique)
    bot_api.send_voice(ALICE, first_id, duration=6)
    await bot_api.wait_for_messages(ALICE, 2, timeout=20)
    bot_api.send_voice(BOB, forwarded_id, duration=6)
    await bot_api.wait_for_messages(BOB, 2, timeout=20)
    assert len(openai_api.transcription_requests()) == 1
    assert t("heard", "en", text="What time is it in Tokyo?") in bot_api.chat_messages(BOB)[0].text


async def test_two_requests_for_the_same_voice_note_at_once_share_one_transcription(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot, redis_keyspace
) -> None:
    openai_api.hold("/audio/transcriptions")
    await start_bot(make_settings())
    _, unique = bot_api.add_file(sample("en_2.ogg"))
    one, _ = bot_api.add_file(sample("en_2.ogg"), file_unique_id=unique)
    two, _ = bot_api.add_file(sample("en_2.ogg"), file_unique_id=unique)
    bot_api.send_voice(ALICE, one, duration=8)
    await openai_api.wait_for(lambda: openai_api.held == 1)
    bot_api.send_voice(BOB, two, duration=8)
    stats = redis_keyspace.key("cache:stats")
    await bot_api.wait_for(lambda: redis_keyspace.client.hget(stats, "transcript:hit") == b"1")
    openai_api.release("/audio/transcriptions")
    await bot_api.wait_for_messages(ALICE, 2, timeout=20)
    await bot_api.wait_for_messages(BOB, 2, timeout=20)
    assert len(openai_api.transcription_requests()) == 1


async def test_a_voice_note_with_personal_data_is_masked_but_not_shared(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot, redis_keyspace
) -> None:
    openai_api.transcribe_with(f"Call me at {PHONE} please", "english")
    await start_bot(make_settings())
    bot_api.send_voice(ALICE, sample("en_1.ogg"), duration=6)
    heard, _ = await bot_api.wait_for_messages(ALICE, 2, timeout=20)
    assert PHONE in heard.text, "the owner sees what they said"
    assert "[PHONE_1]" in openai_api.chat_requests()[0].json["messages"][-1]["content"]
    assert not list(redis_keyspace.keys("transcript:*")), "a personal transcript is not cached"
    assert_nothing_personal(redis_dump(redis_keyspace), "Redis")


async def test_privacy_mode_off_sends_text_as_written(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings(privacy_mode="off"))
    bot_api.send_text(ALICE, f"My number is {PHONE}.")
    await bot_api.wait_for_messages(ALICE, 1)
    assert PHONE in openai_api.chat_requests()[0].json["messages"][-1]["content"]


async def test_the_logs_of_python_m_bot_hold_no_token_key_text_or_personal_data(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, tmp_path
) -> None:
    settings = make_settings(log_level="DEBUG")
    env = bot_env(
        TELEGRAM_BOT_TOKEN=bot_api.token,
        TELEGRAM_API_URL=bot_api.base_url,
        OPENAI_API_KEY="sk-test-secret-key-0123456789",
        OPENAI_BASE_URL=openai_api.base_url,
        REDIS_URL=settings.redis_url or "",
        REDIS_PREFIX=settings.redis_prefix,
        DATABASE_URL=settings.database_url,
        ASR_BACKEND="openai",
        TTS_BACKEND="espeak",
        LOG_LEVEL="DEBUG",
    )
    log_file = tmp_path / "bot.log"
    with log_file.open("wb") as sink:  # a file, not a pipe: a full pipe would block the bot
        process = subprocess.Popen(  # noqa: ASYNC220 - waited for off the loop below
            [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, stdout=sink, stderr=sink
        )
        try:
            bot_api.send_text(ALICE, PERSONAL)
            await bot_api.wait_for_messages(ALICE, 1, timeout=60)
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(process.wait, timeout=60)
    logs = log_file.read_text()
    assert '"level": "INFO"' in logs, "the bot logged something"
    for secret in (bot_api.token, "sk-test-secret-key-0123456789", "Please text my number"):
        assert secret not in logs
    assert_nothing_personal(logs, "the logs")
