"""The emulators speak the real protocols: python-telegram-bot and the openai SDK, unmodified.

The `bot_api` and `openai_api` fixtures come from tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import av
import httpx
import openai
import pytest
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam
from telegram import Bot, Message, MessageEntity
from telegram.error import BadRequest, EndPointNotFound, RetryAfter

from tests.emulators import BOT_ID, BOT_USERNAME, BotApiEmulator, OpenAIEmulator
from tests.emulators.audio_tools import tone

FIXTURES = Path(__file__).parent.parent / "fixtures"
MANIFEST = {item["file"]: item for item in json.loads((FIXTURES / "manifest.json").read_text())}
CHAT = 4242


@pytest.fixture
async def bot(bot_api: BotApiEmulator) -> AsyncIterator[Bot]:
    """A real python-telegram-bot Bot pointed at the emulator."""
    root = bot_api.base_url
    async with Bot(bot_api.token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot") as b:
        yield b


@pytest.fixture
async def client(openai_api: OpenAIEmulator) -> AsyncIterator[AsyncOpenAI]:
    """A real AsyncOpenAI client pointed at the emulator, without retries."""
    async with AsyncOpenAI(base_url=openai_api.base_url, api_key="sk-test", max_retries=0) as c:
        yield c


def _chat(language: str, question: str) -> list[ChatCompletionMessageParam]:
    system = f"You are a helpful voice assistant.\nlanguage code: {language}"
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


# ---- Bot API ---------------------------------------------------------------------------------


async def test_get_me_is_the_test_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username) == (BOT_ID, BOT_USERNAME)


async def test_sent_message_is_recorded_in_its_chat(bot: Bot, bot_api: BotApiEmulator) -> None:
    sent = await bot.send_message(CHAT, "Hello there")
    [recorded] = bot_api.chat_messages(CHAT)
    assert (sent.text, recorded.text, recorded.message_id) == ("Hello there",) * 2 + (
        sent.message_id,
    )


async def test_edit_replaces_text_and_keeps_history(bot: Bot, bot_api: BotApiEmulator) -> None:
    sent = await bot.send_message(CHAT, "Thinking")
    edited = await bot.edit_message_text("Done", chat_id=CHAT, message_id=sent.message_id)
    [recorded] = bot_api.chat_messages(CHAT)
    assert isinstance(edited, Message)
    assert (edited.text, recorded.text, recorded.edits) == ("Done", "Done", ["Done"])


async def test_edit_with_identical_text_is_not_modified(bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "Same")
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Same", chat_id=CHAT, message_id=sent.message_id)


async def test_text_over_4096_characters_is_too_long(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "x" * 4097)


@pytest.mark.parametrize(
    "html", ["<b>unclosed", "<blink>no</blink>", "1 < 2", "<b><i>crossed</b></i>", "A & B"]
)
async def test_malformed_html_cannot_be_parsed(bot: Bot, html: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(CHAT, html, parse_mode="HTML")


async def test_valid_html_is_shown_without_tags(bot: Bot) -> None:
    html = '<b>Bold</b> &amp; <a href="https://example.org">link</a> <tg-spoiler>x</tg-spoiler>'
    sent = await bot.send_message(CHAT, html, parse_mode="HTML")
    assert sent.text == "Bold & link x"


async def test_voice_upload_keeps_bytes_and_duration(bot: Bot, bot_api: BotApiEmulator) -> None:
    data = (FIXTURES / "en_1.ogg").read_bytes()
    sent = await bot.send_voice(CHAT, data, duration=6)
    [recorded] = bot_api.chat_messages(CHAT)
    assert (recorded.kind, recorded.data, recorded.duration) == ("voice", data, 6)
    assert sent.voice is not None and sent.voice.file_size == len(data)


async def test_document_upload_keeps_its_file_name(bot: Bot, bot_api: BotApiEmulator) -> None:
    await bot.send_document(CHAT, b"a,b\n1,2\n", filename="usage.csv")
    [recorded] = bot_api.chat_messages(CHAT)
    assert (recorded.kind, recorded.file_name, recorded.data) == (
        "document",
        "usage.csv",
        b"a,b\n1,2\n",
    )


async def test_added_file_downloads_through_get_file(bot: Bot, bot_api: BotApiEmulator) -> None:
    data = (FIXTURES / "ru_1.ogg").read_bytes()
    file_id, unique_id = bot_api.add_file(data)
    file = await bot.get_file(file_id)
    buffer = io.BytesIO()
    await file.download_to_memory(buffer)
    assert (file.file_unique_id, buffer.getvalue()) == (unique_id, data)


async def test_pushed_text_arrives_as_an_update(bot: Bot, bot_api: BotApiEmulator) -> None:
    message_id = bot_api.send_text(7, "Привет", language_code="ru")
    [update] = await bot.get_updates(timeout=1)
    assert update.message is not None and update.message.from_user is not None
    assert (update.message.message_id, update.message.text) == (message_id, "Привет")
    assert update.message.from_user.language_code == "ru"


async def test_long_poll_returns_an_update_pushed_while_waiting(
    bot: Bot, bot_api: BotApiEmulator
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await bot_api.wait_for(lambda: len(bot_api.calls_to("getUpdates")) == 1)
    bot_api.send_text(7, "late")
    [update] = await poll
    assert update.message is not None and update.message.text == "late"


async def test_confirmed_updates_are_not_delivered_again(bot: Bot, bot_api: BotApiEmulator) -> None:
    bot_api.send_text(7, "once")
    [update] = await bot.get_updates()
    assert await bot.get_updates(offset=update.update_id + 1) == ()


async def test_command_and_group_mention_carry_entities(bot: Bot, bot_api: BotApiEmulator) -> None:
    bot_api.send_text(7, "/start")
    bot_api.send_text(7, f"hey @{BOT_USERNAME} help", chat_type="group", chat_id=-100)
    command, mention = await bot.get_updates()
    assert command.message is not None and mention.message is not None
    assert list(command.message.parse_entities().values()) == ["/start"]
    assert mention.message.parse_entities([MessageEntity.MENTION]) == {
        mention.message.entities[0]: f"@{BOT_USERNAME}"
    }


async def test_voice_update_describes_the_stored_file(bot: Bot, bot_api: BotApiEmulator) -> None:
    data = (FIXTURES / "de_1.ogg").read_bytes()
    bot_api.send_voice(7, data, duration=5, language_code="de")
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.voice is not None
    file = await bot.get_file(update.message.voice.file_id)
    assert bytes(await file.download_as_bytearray()) == data


async def test_injected_429_raises_retry_after(bot: Bot, bot_api: BotApiEmulator) -> None:
    bot_api.fail_next("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter, match="Retry in 3"):
        await bot.send_message(CHAT, "flood")
    assert await bot.send_message(CHAT, "calm") is not None


async def test_drafts_and_chat_actions_are_recorded(bot: Bot, bot_api: BotApiEmulator) -> None:
    await bot.send_chat_action(CHAT, "record_voice")
    await bot.send_message_draft(CHAT, draft_id=1, text="Half an ans")
    assert (bot_api.chat_actions(CHAT), bot_api.drafts(CHAT)) == (["record_voice"], ["Half an ans"])


async def test_unknown_method_is_not_found(bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


# ---- OpenAI ----------------------------------------------------------------------------------


async def test_stream_joins_to_the_plain_answer_with_usage(client: AsyncOpenAI) -> None:
    messages = _chat("en", "What is the weather like?")
    plain = await client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    deltas, usage = [], None
    async for chunk in stream:
        deltas += [c.delta.content for c in chunk.choices if c.delta.content]
        usage = chunk.usage or usage
    assert len(deltas) > 1 and "".join(deltas) == plain.choices[0].message.content
    assert usage is not None and usage == plain.usage


@pytest.mark.parametrize(
    ("language", "opening"),
    [("ru", "Вот мой ответ."), ("zh", "这是我的回答。"), ("xx", "Here is my answer.")],
)
async def test_answer_follows_the_language_code_line(
    client: AsyncOpenAI, language: str, opening: str
) -> None:
    reply = await client.chat.completions.create(
        model="gpt-4o-mini", messages=_chat(language, "Как дела?")
    )
    assert reply.choices[0].message.content == f"{opening} You said: «Как дела?»"


async def test_verbose_transcription_names_the_language(
    client: AsyncOpenAI, openai_api: OpenAIEmulator
) -> None:
    openai_api.transcribe_with("Привет, мир", language="russian")
    data = (FIXTURES / "ru_1.ogg").read_bytes()
    result = await client.audio.transcriptions.create(
        model="whisper-1", file=("ru_1.ogg", data, "audio/ogg"), response_format="verbose_json"
    )
    assert (result.text, result.language) == ("Привет, мир", "russian")
    assert result.duration == pytest.approx(MANIFEST["ru_1.ogg"]["duration"], abs=0.1)
    assert openai_api.transcription_requests()[0].files["file"] == data


async def test_forced_language_is_named_in_the_transcript(client: AsyncOpenAI) -> None:
    wav = tone(1.5, "wav")
    result = await client.audio.transcriptions.create(
        model="whisper-1",
        file=("note.wav", wav, "audio/wav"),
        language="de",
        response_format="verbose_json",
    )
    assert (result.language, result.duration) == ("german", 1.5)


async def test_speech_as_opus_is_a_real_ogg_opus_file(client: AsyncOpenAI) -> None:
    speech = await client.audio.speech.create(
        model="tts-1", voice="alloy", input="Hello there, friend.", response_format="opus"
    )
    data = speech.content
    assert data.startswith(b"OggS") and b"OpusHead" in data
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"


async def test_injected_429_raises_rate_limit_error(
    client: AsyncOpenAI, openai_api: OpenAIEmulator
) -> None:
    openai_api.fail_next("/chat/completions", retry_after=2)
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="gpt-4o-mini", messages=_chat("en", "hi"))
    assert caught.value.response.headers["retry-after"] == "2"


async def test_service_down_raises_server_error(
    client: AsyncOpenAI, openai_api: OpenAIEmulator
) -> None:
    openai_api.set_down(True)
    with pytest.raises(openai.InternalServerError):
        await client.models.list()


async def test_request_without_api_key_is_unauthorized(openai_api: OpenAIEmulator) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{openai_api.base_url}/models")
    assert response.status_code == 401 and "error" in response.json()


async def test_broken_stream_fails_the_reader(
    client: AsyncOpenAI, openai_api: OpenAIEmulator
) -> None:
    openai_api.break_stream_next(after_chunks=2)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=_chat("en", "hi"), stream=True
    )
    with pytest.raises((httpx.HTTPError, openai.APIError)):
        async for _chunk in stream:
            pass
