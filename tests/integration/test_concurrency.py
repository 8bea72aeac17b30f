"""Many people at once: every answer, usage row and private value stays with its own turn.

Through the real bot, the emulators, a real Redis and both databases (a SQLite file and
PostgreSQL). Overlap is made certain, not hoped for: the OpenAI emulator holds streams (or
transcriptions) at a gate until every turn of the test has reached it.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select

from bot.app import build_services
from bot.db.engine import make_engine
from bot.db.models import UsageEvent
from bot.events import Answered, Refused
from bot.i18n import t
from bot.requests import Sender, TextRequest
from tests.conftest import sample
from tests.emulators import openai_replies as replies
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.postgres import POSTGRES_URL, fresh_postgres_database

CHAT = "/chat/completions"
TRANSCRIBE = "/audio/transcriptions"
GROUP = -7700
BOT = "@voice_test_bot"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        return
    async with fresh_postgres_database(POSTGRES_URL) as url:
        yield url


async def ledger(url: str, *columns: Any, **where: Any) -> list[Any]:
    """Rows of the usage ledger: the given columns, filtered by equality."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            query = select(*columns).filter_by(**where)
            return list((await connection.execute(query)).all())
    finally:
        await engine.dispose()


def owner_of(body: dict[str, Any]) -> int:
    """The user number each test writes into its question ("... user 17 ...")."""
    found = re.search(r"user (\d+)", body["messages"][-1]["content"])
    assert found, body["messages"][-1]["content"]
    return int(found.group(1))


async def test_fifty_users_at_once_are_each_charged_the_usage_reported_for_their_answer(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings: Callable[..., Any],
    start_bot: Callable[..., Any],
    database_url: str,
) -> None:
    users = range(1, 51)
    # Answers of different lengths, so that every user's usage differs from the others'.
    openai_api.reply_with(lambda body: "word " * (3 + owner_of(body)))
    openai_api.hold(CHAT)
    # Held streams wait for the last user's turn: longer than the tests' usual 5 s timeout.
    await start_bot(make_settings(database_url=database_url, openai_timeout_seconds=120))
    for user in users:
        bot_api.send_text(user, f"question from user {user}")
    await openai_api.wait_for(lambda: openai_api.held == len(users), timeout=60)
    openai_api.release(CHAT)
    for user in users:
        await bot_api.wait_for_messages(user, 1, timeout=60)

    reported = {owner_of(r.json): r.usage for r in openai_api.chat_requests()}
    assert len(reported) == len(users) and len({u["total_tokens"] for u in reported.values()}) > 1
    rows = await ledger(
        database_url, UsageEvent.user_id, UsageEvent.tokens_in, UsageEvent.tokens_out
    )
    charged = {user_id: (tokens_in, tokens_out) for user_id, tokens_in, tokens_out in rows}
    assert len(rows) == len(users)
    for user in users:
        usage = reported[user]
        assert usage is not None
        assert charged[user] == (usage["prompt_tokens"], usage["completion_tokens"])
    for user in (1, 25, 50):
        bot_api.send_text(user, "/usage")
        [_, shown] = await bot_api.wait_for_messages(user, 2, timeout=15)
        assert f"{reported[user]['total_tokens']} tokens" in (shown.text or "")


async def test_two_hundred_simultaneous_turns_get_two_hundred_answers_and_ledger_rows(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings: Callable[..., Any],
    start_bot: Callable[..., Any],
    database_url: str,
) -> None:
    users = range(10_001, 10_201)
    openai_api.chunk_delay = 0.0
    openai_api.hold(CHAT)
    services = await start_bot(
        make_settings(
            database_url=database_url, openai_timeout_seconds=120, max_concurrent_turns=len(users)
        )
    )
    for user in users:
        bot_api.send_text(user, f"hello from user {user}")
    await openai_api.wait_for(lambda: openai_api.held == len(users), timeout=120)
    openai_api.release(CHAT)
    for user in users:
        [answer] = await bot_api.wait_for_messages(user, 1, timeout=120)
        assert (answer.text or "").startswith(replies.CANNED["en"]), (user, answer.text)

    [(rows,)] = await ledger(database_url, func.count(UsageEvent.id), kind="chat")
    assert rows == len(users)
    assert len(services.accounts.backlog) == 0, "no row had to wait: the ledger was never busy"
    assert services.metrics.ledger_lost._value.get() == 0


async def test_group_members_writing_at_once_never_share_a_placeholder_or_see_another_s_value(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings: Callable[..., Any],
    start_bot: Callable[..., Any],
) -> None:
    members = {201 + n: (f"+1 415 555 01{n}{n}", f"member{n}@example.com") for n in range(5)}
    # The model repeats every placeholder it was sent, in the last message and in the history.
    openai_api.reply_with(
        lambda body: (
            "I saw "
            + " ".join(sorted(set(re.findall(r"\[[A-Z]+_\d+\]", str(body["messages"][1:])))))
        )
    )
    openai_api.chunk_delay = 0.0
    openai_api.hold(CHAT)
    # One preview and one final edit per answer: six answers fit a group's 20 messages a minute.
    await start_bot(make_settings(stream_edit_interval_seconds=30.0))
    asked = {}
    for member, (phone, mail) in members.items():
        asked[member] = bot_api.send_text(
            member, f"{BOT} call me at {phone} or {mail}", chat_id=GROUP, chat_type="group"
        )
    await openai_api.wait_for(lambda: openai_api.held == len(members), timeout=30)
    openai_api.release(CHAT)
    await bot_api.wait_for_messages(GROUP, len(members), timeout=30)

    questions = [r.json["messages"][-1]["content"] for r in openai_api.chat_requests()]
    placeholders = [re.findall(r"\[[A-Z]+_\d+\]", q) for q in questions]
    assert all(len(found) == 2 for found in placeholders)
    assert len({p for found in placeholders for p in found}) == 2 * len(members)
    every_value = [value for pair in members.values() for value in pair]
    sent = " ".join(str(r.json) for r in openai_api.chat_requests())
    assert not [value for value in every_value if value in sent]

    # A second round sees the whole history: each member's answer restores only their values.
    bot_api.send_text(201, f"{BOT} what do you know?", chat_id=GROUP, chat_type="group")
    messages = await bot_api.wait_for_messages(GROUP, len(members) + 1, timeout=30)
    answers = {m.reply_to_message_id: m.text or "" for m in messages}
    for member, (phone, mail) in members.items():
        answer = answers[asked[member]]
        assert phone in answer and mail in answer
        others = [v for other, pair in members.items() if other != member for v in pair]
        assert not [value for value in others if value in answer]
    last = messages[-1]

    def whole() -> bool:  # the recall lists ten items once streamed to the end
        return len(re.findall(r"\[[A-Z]+_\d+\]|\+1 415|@example", last.text or "")) == 10

    await bot_api.wait_for(whole, timeout=30)
    recall = last.text or ""
    assert members[201][0] in recall and members[201][1] in recall
    assert not [v for m, pair in members.items() if m != 201 for v in pair if v in recall]
    assert len(re.findall(r"\[[A-Z]+_\d+\]", recall)) == 2 * (len(members) - 1)


async def test_cancel_by_the_first_of_two_users_sharing_a_transcription_still_answers_the_second(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings: Callable[..., Any],
    start_bot: Callable[..., Any],
    redis_keyspace: Any,
) -> None:
    first, second = 301, 302
    openai_api.transcribe_with("what is the tallest mountain")
    openai_api.hold(TRANSCRIBE)
    await start_bot(make_settings())
    bot_api.send_voice(first, sample("en_1.ogg"), duration=5)
    await openai_api.wait_for(lambda: openai_api.held == 1)
    forwarded = bot_api.calls_to("getFile")[0].params["file_id"]
    bot_api.send_voice(second, forwarded, duration=5)
    stats = redis_keyspace.key("cache:stats")
    await bot_api.wait_for(lambda: redis_keyspace.client.hget(stats, "transcript:hit") == b"1")

    bot_api.send_text(first, "/cancel")
    [cancelled] = await bot_api.wait_for_messages(first, 1)
    assert cancelled.text == t("cancel_done", "en")
    openai_api.release(TRANSCRIBE)
    heard, _voice = await bot_api.wait_for_messages(second, 2, timeout=30)
    assert "what is the tallest mountain" in (heard.text or "")
    assert len(openai_api.transcription_requests()) == 1, "one transcription, shared"
    assert [m.text for m in bot_api.chat_messages(first)] == [cancelled.text]


async def test_turns_past_the_concurrency_limit_show_a_sign_of_life_and_wait_their_turn(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings: Callable[..., Any],
    start_bot: Callable[..., Any],
) -> None:
    users = [501, 502, 503]
    openai_api.transcribe_with("how far is the moon")
    openai_api.hold(TRANSCRIBE)
    services = await start_bot(make_settings(max_concurrent_turns=2))
    for user in users:
        bot_api.send_voice(user, sample("en_1.ogg"), duration=5)
    waiting = services.metrics.turns_waiting
    await openai_api.wait_for(lambda: openai_api.held == 2 and waiting._value.get() == 1)
    await bot_api.wait_for(lambda: all(bot_api.chat_actions(user) for user in users))
    assert len(openai_api.transcription_requests()) == 2, "the third waits for a slot"
    openai_api.release(TRANSCRIBE)
    for user in users:
        _text, voice = await bot_api.wait_for_messages(user, 2, timeout=30)
        assert voice.kind == "voice"
    assert len(openai_api.transcription_requests()) == 3 and waiting._value.get() == 0


async def test_a_turn_gives_its_slot_to_the_next_once_its_voice_note_is_made(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings: Callable[..., Any],
    start_bot: Callable[..., Any],
) -> None:
    first, second = 511, 512
    openai_api.transcribe_with("how far is the moon")
    bot_api.hold("sendVoice")  # Telegram's budget is spent: the first voice note must wait
    await start_bot(make_settings(max_concurrent_turns=1))
    bot_api.send_voice(first, sample("en_1.ogg"), duration=5)
    await bot_api.wait_for(lambda: bot_api.held == 1, timeout=30)
    bot_api.send_voice(second, sample("en_1.ogg"), duration=5)
    await bot_api.wait_for(lambda: bot_api.held == 2, timeout=30)
    assert len(openai_api.transcription_requests()) == 2, "the second was heard meanwhile"
    bot_api.release("sendVoice")
    for user in (first, second):
        _text, voice = await bot_api.wait_for_messages(user, 2, timeout=30)
        assert voice.kind == "voice"


async def test_a_voice_note_whose_real_length_is_over_the_limit_is_refused_and_not_charged(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings: Callable[..., Any],
    start_bot: Callable[..., Any],
) -> None:
    settings = make_settings(max_voice_seconds=30)
    await start_bot(settings)
    bot_api.send_voice(401, sample("en_long_60s.ogg"), duration=5, language_code="de")
    [refusal] = await bot_api.wait_for_messages(401, 1, timeout=30)
    assert refusal.text == t("too_long", "de", seconds=60, limit=30)
    assert openai_api.transcription_requests() == []
    assert await ledger(settings.database_url, UsageEvent.id) == []


async def test_one_user_at_once_on_two_workers_spends_at_most_one_answer_past_the_limit(
    openai_api: OpenAIEmulator, make_settings: Callable[..., Any]
) -> None:
    settings = make_settings(daily_token_limit=10)
    openai_api.chunk_delay = 0.0
    # Two workers: separate services on one Redis and one database, sharing nothing else.
    workers = [await build_services(settings), await build_services(settings)]
    sender = Sender(user_id=501, chat_id=501, telegram_language="en")
    try:

        async def turn(worker: int, n: int) -> list[Any]:
            request = TextRequest(sender, f"tell me about mountains, part {n}")
            return [e async for e in workers[worker].assistant.answer_text(request)]

        outcomes = await asyncio.gather(*(turn(n % 2, n) for n in range(6)))
    finally:
        for services in workers:
            await services.aclose()
    answered = [o for o in outcomes if any(isinstance(e, Answered) for e in o)]
    refused = [o for o in outcomes if o and isinstance(o[-1], Refused)]
    assert len(answered) == 1, "the first answer crosses the limit, and only one may"
    assert len(refused) == 5 and all(o[-1].key == "over_quota" for o in refused)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A redis-server of this test's own, with appendonly, that can be stopped and started."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is installed on the development and CI machines"
        self.process = subprocess.Popen(  # noqa: ASYNC220 - starting a server, not waiting on it
            [
                *(binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.directory), "--appendonly", "yes", "--appendfsync", "always"),
                *("--save", ""),
            ],
            stdout=subprocess.DEVNULL,
        )
        client = aioredis.Redis.from_url(self.url)
        try:
            for _ in range(200):
                try:
                    if await client.ping():
                        return
                except (aioredis.ConnectionError, aioredis.ResponseError):
                    await asyncio.sleep(0.05)
            raise AssertionError("redis-server did not start")
        finally:
            await client.aclose()

    async def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()  # SIGTERM: redis-server flushes its append-only file and exits
        await asyncio.to_thread(self.process.wait, 10)


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path)
    await server.start()
    yield server
    if server.process and server.process.poll() is None:
        await server.stop()


async def test_redis_stopped_mid_turn_gets_a_short_message_and_the_bot_carries_on_after(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings: Callable[..., Any],
    start_bot: Callable[..., Any],
    own_redis: RedisServer,
) -> None:
    user = 601
    openai_api.chunk_delay = 0.0
    await start_bot(make_settings(redis_url=own_redis.url))
    bot_api.send_text(user, "recuerda que mi gato se llama Tom", language_code="es")
    await bot_api.wait_for_messages(user, 1)

    openai_api.hold(CHAT)
    bot_api.send_text(user, "y mi perro se llama Rex", language_code="es")
    await openai_api.wait_for(lambda: openai_api.held == 1)
    await own_redis.stop()
    openai_api.release(CHAT)
    [_, answer, note] = await bot_api.wait_for_messages(user, 3, timeout=30)
    assert (answer.text or "").startswith(replies.CANNED["es"]), "the answer still arrives"
    assert note.text == t("memory_unavailable", "es")

    bot_api.send_text(user, "¿sigues ahí?", language_code="es")
    [*_, down] = await bot_api.wait_for_messages(user, 4, timeout=30)
    assert down.text == t("storage_down", "es")

    await own_redis.start()
    bot_api.send_text(user, "¿cómo se llama mi gato?", language_code="es")
    [*_, again] = await bot_api.wait_for_messages(user, 5, timeout=30)
    assert (again.text or "").startswith(replies.CANNED["es"])
    history = str(openai_api.chat_requests()[-1].json["messages"])
    assert "mi gato se llama Tom" in history, "what was written before the outage is kept"
