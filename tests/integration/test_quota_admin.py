"""Quotas, /usage, the admin commands and database outages, through the real bot and emulators."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from bot.db.engine import make_engine
from bot.db.models import AdminAction
from bot.i18n import Key, t
from bot.tg.admin import CHART_CAPTION, SETLIMIT_USAGE
from bot.tg.say import ASK_PRIVATELY
from tests.conftest import sample
from tests.emulators import openai_replies as replies
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.bot_state import BotMessage
from tests.emulators.openai_api import OpenAIEmulator
from tests.postgres import POSTGRES_URL, TcpProxy, fresh_postgres_database
from tests.processes import bot_env
from tests.turns import turns_ended

ADMIN = 9009
USER = 5005
NEWCOMER = 6006


@pytest.fixture(autouse=True)
def fast_answers(openai_api: OpenAIEmulator) -> None:
    openai_api.chunk_delay = 0.0


async def say(
    bot_api: BotApiEmulator, user_id: int, message: str, language: str = "en", **kwargs
) -> BotMessage:
    """The user writes `message`; return the bot's next message in that chat."""
    before = len(bot_api.chat_messages(user_id))
    bot_api.send_text(user_id, message, language_code=language, **kwargs)
    return (await bot_api.wait_for_messages(user_id, before + 1, timeout=15))[before]


def tokens_used(openai_api: OpenAIEmulator) -> int:
    """Tokens the emulator reported for every chat completion so far."""
    return sum(
        replies.usage(r.json["messages"], replies.default_answer(r.json))["total_tokens"]
        for r in openai_api.chat_requests()
    )


def answered(message: BotMessage, language: str = "en") -> bool:
    return message.text is not None and message.text.startswith(replies.CANNED[language])


def next_midnight_utc() -> str:
    return (datetime.now(UTC).date() + timedelta(days=1)).strftime("%Y-%m-%d 00:00")


def over_daily_tokens(language: str, resets_at: str) -> str:
    return t(
        "over_quota",
        language,
        kind=Key("kind_tokens"),
        period=Key("period_day"),
        resets_at=resets_at,
    )


async def audit_rows(database_url: str) -> list[tuple[int, str, int | None, str | None]]:
    """The admin_actions table, read on a connection of its own."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(
                    AdminAction.admin_id,
                    AdminAction.action,
                    AdminAction.target_user_id,
                    AdminAction.detail,
                ).order_by(AdminAction.id)
            )
            return [tuple(row) for row in rows]
    finally:
        await engine.dispose()


# ---- /usage and quotas ---------------------------------------------------------------------


async def test_usage_shows_use_today_and_this_month_and_what_is_left_in_the_users_language(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings(daily_token_limit=5000))
    bot_api.send_text(USER, "Wie spät ist es in Tokio?", language_code="de")
    bot_api.send_text(USER, "Und in Berlin?", language_code="de")
    bot_api.send_text(USER, "/usage", language_code="de")
    *_, report = await bot_api.wait_for_messages(USER, 3, timeout=15)
    used = tokens_used(openai_api)
    assert len(openai_api.chat_requests()) == 2 and used > 0
    header, today, month, left = report.text.splitlines()
    assert header == t("usage_report", "de", today="", month="", remaining="").splitlines()[0]
    assert f"{used:,} " in today and f"{used:,} " in month
    assert f"{t('kind_tokens', 'de')}: {5000 - used:,}" in left
    assert f"{t('kind_cost', 'de')}: {t('unlimited', 'de')}" in left


async def test_over_the_daily_quota_a_text_is_refused_until_midnight_utc_without_a_model_call(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings(daily_token_limit=1))
    assert answered(await say(bot_api, USER, "¿Qué tal?", "es"), "es")
    before = next_midnight_utc()
    refusal = await say(bot_api, USER, "¿Y ahora?", "es")
    assert refusal.text in {
        over_daily_tokens("es", before),
        over_daily_tokens("es", next_midnight_utc()),
    }
    assert len(openai_api.chat_requests()) == 1


async def test_over_the_daily_quota_a_voice_note_is_refused_before_download_and_transcription(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings(daily_token_limit=1))
    assert answered(await say(bot_api, USER, "Привет!", "ru"), "ru")
    bot_api.send_voice(USER, sample("ru_1.ogg"), duration=6, language_code="ru")
    [_, refusal] = await bot_api.wait_for_messages(USER, 2)
    assert refusal.text == over_daily_tokens("ru", next_midnight_utc())
    assert not bot_api.calls_to("getFile")
    assert not openai_api.transcription_requests()
    assert len(openai_api.chat_requests()) == 1


async def test_admins_are_exempt_from_quotas(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings(daily_token_limit=1, admin_user_ids=frozenset({ADMIN})))
    for question in ("one", "two", "three"):
        assert answered(await say(bot_api, ADMIN, question))
    report = await say(bot_api, ADMIN, "/usage")
    assert f"{t('kind_tokens', 'en')}: {t('unlimited', 'en')}" in report.text


async def test_five_messages_at_once_over_a_one_message_quota_get_exactly_one_answer(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    services = await start_bot(make_settings(daily_token_limit=1))
    for number in range(5):
        bot_api.send_text(USER, f"question {number}")
    messages = await bot_api.wait_for_messages(USER, 5, timeout=15)
    await turns_ended(bot_api, services)
    assert len(bot_api.chat_messages(USER)) == 5
    assert answered(messages[0])
    refusal = over_daily_tokens("en", next_midnight_utc())
    assert [m.text for m in messages[1:]] == [refusal] * 4
    assert len(openai_api.chat_requests()) == 1


# ---- admin commands ------------------------------------------------------------------------


@pytest.fixture
def admin_settings(make_settings):
    """Settings with ADMIN as the only admin; keyword arguments override the rest."""

    def build(**overrides):
        return make_settings(admin_user_ids=frozenset({ADMIN}), **overrides)

    return build


async def test_setlimit_raises_a_users_cap_as_usage_shows_and_is_audited(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, admin_settings, start_bot
) -> None:
    settings = admin_settings(daily_token_limit=1)
    await start_bot(settings)
    assert answered(await say(bot_api, USER, "hello", username="alice"))
    assert not answered(await say(bot_api, USER, "again", username="alice"))
    done = await say(bot_api, ADMIN, "/setlimit @alice daily_tokens 100000")
    assert done.text == t("admin_done", "en", what=f"daily_tokens = 100,000 for {USER} (@alice)")
    report = await say(bot_api, ADMIN, "/usage @alice")
    assert report.text.startswith(f"User {USER} (@alice)\n")
    assert f"{t('kind_tokens', 'en')}: {100_000 - tokens_used(openai_api):,}" in report.text
    assert answered(await say(bot_api, USER, "and now?", username="alice"))
    assert await audit_rows(settings.database_url) == [
        (ADMIN, "set_limit", USER, "daily_tokens=100000")
    ]


async def test_setlimit_off_reads_unlimited_and_default_restores_the_global_limit(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, admin_settings, start_bot
) -> None:
    settings = admin_settings(daily_token_limit=50_000)
    await start_bot(settings)
    await say(bot_api, USER, "hello")
    off = await say(bot_api, ADMIN, f"/setlimit {USER} daily_tokens off")
    assert off.text == t("admin_done", "en", what=f"daily_tokens = unlimited for {USER}")
    unlimited = await say(bot_api, ADMIN, f"/usage {USER}")
    assert f"{t('kind_tokens', 'en')}: {t('unlimited', 'en')}" in unlimited.text
    default = await say(bot_api, ADMIN, f"/setlimit {USER} daily_tokens default")
    assert default.text == t("admin_done", "en", what=f"daily_tokens = default (50,000) for {USER}")
    limited = await say(bot_api, ADMIN, f"/usage {USER}")
    assert f"{t('kind_tokens', 'en')}: {50_000 - tokens_used(openai_api):,}" in limited.text
    assert await audit_rows(settings.database_url) == [
        (ADMIN, "set_limit", USER, "daily_tokens=0"),
        (ADMIN, "set_limit", USER, "daily_tokens=default"),
    ]


async def test_a_blocked_user_is_refused_without_a_model_call_until_unblocked(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, admin_settings, start_bot
) -> None:
    settings = admin_settings()
    await start_bot(settings)
    assert answered(await say(bot_api, USER, "Привет", "ru"), "ru")
    blocked = await say(bot_api, ADMIN, f"/block {USER}")
    assert blocked.text == t("admin_done", "en", what=f"block {USER}")
    assert (await say(bot_api, USER, "Ты здесь?", "ru")).text == t("blocked", "ru")
    assert len(openai_api.chat_requests()) == 1
    await say(bot_api, ADMIN, f"/unblock {USER}")
    assert answered(await say(bot_api, USER, "Ты снова тут?", "ru"), "ru")
    assert await audit_rows(settings.database_url) == [
        (ADMIN, "block", USER, None),
        (ADMIN, "unblock", USER, None),
    ]


async def test_allow_lets_a_new_user_into_an_allowlisted_bot(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, admin_settings, start_bot
) -> None:
    settings = admin_settings(allowed_user_ids=frozenset({USER}))
    await start_bot(settings)
    assert (await say(bot_api, NEWCOMER, "你好", "zh")).text == t("not_allowed", "zh")
    assert not openai_api.chat_requests()
    allowed = await say(bot_api, ADMIN, f"/allow {NEWCOMER}")
    assert allowed.text == t("admin_done", "en", what=f"allow {NEWCOMER}")
    assert answered(await say(bot_api, NEWCOMER, "你好", "zh"), "zh")
    assert await audit_rows(settings.database_url) == [(ADMIN, "allow", NEWCOMER, None)]


async def test_admin_commands_from_a_non_admin_get_the_unknown_command_answer_and_change_nothing(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, admin_settings, start_bot
) -> None:
    settings = admin_settings()
    await start_bot(settings)
    await say(bot_api, USER, "hola", "es")
    unknown = await say(bot_api, USER, "/frobnicate", "es")
    assert unknown.text == t("unknown_command", "es")
    for command in ("/stats", f"/block {USER}", f"/setlimit {USER} daily_tokens off", "/allow 1"):
        assert (await say(bot_api, USER, command, "es")).text == unknown.text, command
    assert answered(await say(bot_api, USER, "¿sigues ahí?", "es"), "es")
    assert not [m for m in bot_api.chat_messages(USER) if m.kind == "photo"]
    assert await audit_rows(settings.database_url) == []


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param("/setlimit x", t("admin_usage", "en", usage=SETLIMIT_USAGE), id="too few"),
        pytest.param(
            "/setlimit @nobody daily_tokens 5",
            t("admin_unknown_user", "en", ref="@nobody"),
            id="unknown user",
        ),
        pytest.param(f"/setlimit {USER} daily_tokens -5", "negative", id="negative"),
        pytest.param(f"/setlimit {USER} daily_tokens 1e20", "too large", id="absurdly large"),
        pytest.param(f"/setlimit {USER} bogus 5", "unknown limit 'bogus'", id="unknown kind"),
    ],
)
async def test_malformed_setlimit_gets_a_clear_message_and_changes_nothing(
    command: str, expected: str, bot_api: BotApiEmulator, admin_settings, start_bot
) -> None:
    settings = admin_settings()
    services = await start_bot(settings)
    await services.accounts.seen(USER, username="alice")
    answer = (await say(bot_api, ADMIN, command)).text
    bad_limit = t("admin_bad_limit", "en", reason="")
    assert answer == expected or (answer.startswith(bad_limit) and expected in answer), answer
    assert await audit_rows(settings.database_url) == []
    assert (await services.accounts.find_user(str(USER))).overrides["daily_tokens"] is None


async def test_stats_sends_three_periods_and_a_png_chart(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, admin_settings, start_bot
) -> None:
    await start_bot(admin_settings())
    await say(bot_api, USER, "hello", username="alice")
    summary = await say(bot_api, ADMIN, "/stats")
    [chart] = await bot_api.wait_for_messages(ADMIN, 1, kind="photo")
    *blocks, caches = summary.text.split("\n\n")
    assert [b.split(":")[0] for b in blocks] == ["Last 24 hours", "Last 7 days", "Last 30 days"]
    used = tokens_used(openai_api)
    assert all(f"{used:,} tokens" in block and "@alice" in block for block in blocks)
    assert caches == "Caches: transcript 0/0 hits, answer 0/1 hits, speech 0/0 hits"
    assert chart.data.startswith(b"\x89PNG") and chart.text == CHART_CAPTION


GROUP_CHAT = -1009900990099


async def test_stats_in_a_group_goes_to_the_admins_private_chat_and_nothing_to_the_group(
    bot_api: BotApiEmulator, admin_settings, start_bot
) -> None:
    services = await start_bot(admin_settings())
    await say(bot_api, USER, "hello", username="alice")
    bot_api.send_text(ADMIN, "/stats", chat_id=GROUP_CHAT, chat_type="group")
    [summary] = await bot_api.wait_for_messages(ADMIN, 1, kind="text")
    [chart] = await bot_api.wait_for_messages(ADMIN, 1, kind="photo")
    await turns_ended(bot_api, services)
    assert summary.text.startswith("Last 24 hours") and "@alice" in summary.text
    assert chart.data.startswith(b"\x89PNG")
    assert bot_api.chat_messages(GROUP_CHAT) == [], "nothing posted to the group"


async def test_an_admins_usage_of_someone_in_a_group_goes_to_the_private_chat(
    bot_api: BotApiEmulator, admin_settings, start_bot
) -> None:
    services = await start_bot(admin_settings())
    await say(bot_api, USER, "hello", username="alice")
    bot_api.send_text(ADMIN, "/usage @alice", chat_id=GROUP_CHAT, chat_type="group")
    [report] = await bot_api.wait_for_messages(ADMIN, 1, kind="text")
    await turns_ended(bot_api, services)
    assert report.text.startswith(f"User {USER} (@alice)")
    assert bot_api.chat_messages(GROUP_CHAT) == [], "nothing posted to the group"


async def test_stats_in_a_group_when_the_bot_cannot_write_to_the_admin_says_to_ask_privately(
    bot_api: BotApiEmulator, admin_settings, start_bot
) -> None:
    services = await start_bot(admin_settings())
    await say(bot_api, USER, "hello", username="alice")
    bot_api.set_blocked(ADMIN)  # never started a private chat with the bot, or blocked it
    bot_api.send_text(ADMIN, "/stats", chat_id=GROUP_CHAT, chat_type="group")
    [note] = await bot_api.wait_for_messages(GROUP_CHAT, 1)
    await turns_ended(bot_api, services)
    assert note.text == ASK_PRIVATELY
    assert [m.kind for m in bot_api.chat_messages(GROUP_CHAT)] == ["text"], "no chart either"


# ---- the database going away ---------------------------------------------------------------


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test (dropped after), or a skip saying why."""
    async with fresh_postgres_database(POSTGRES_URL) as url:
        yield url


@pytest.fixture
async def proxied_postgres(postgres_url: str) -> AsyncIterator[tuple[str, TcpProxy]]:
    """The database's URL through a proxy that the test can cut and restore."""
    server = make_url(postgres_url)
    proxy = TcpProxy((server.host or "127.0.0.1", server.port or 5432))
    await proxy.start()
    yield server.set(host="127.0.0.1", port=proxy.port).render_as_string(False), proxy
    await proxy.cut()


@pytest.mark.postgres
async def test_a_database_outage_during_a_message_gets_an_apology_and_the_bot_recovers(
    proxied_postgres, bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    url, proxy = proxied_postgres  # requested first, so it outlives the bot
    await start_bot(make_settings(database_url=url))
    assert answered(await say(bot_api, USER, "Hallo", "de"), "de")
    await proxy.cut()
    assert (await say(bot_api, USER, "Bist du da?", "de")).text == t("db_down", "de")
    assert len(openai_api.chat_requests()) == 1
    await proxy.restore()
    assert answered(await say(bot_api, USER, "Und jetzt?", "de"), "de")


def bot_environment(**values: str) -> dict[str, str]:
    """The environment of `python -m bot` with only the given settings (no .env is read)."""
    others = ("DATABASE_", "REDIS_", "METRICS_", "ADMIN_", "ALLOWED_")
    return bot_env(without=others, **{"TELEGRAM_BOT_TOKEN": "123:abc", **values})


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_bot_exits_at_once_with_one_line_when_the_database_is_unreachable(
    tmp_path: Path,
) -> None:
    port = closed_port()
    env = bot_environment(
        OPENAI_API_KEY="sk-test",
        TELEGRAM_API_URL=f"http://127.0.0.1:{port}",
        DATABASE_URL=f"postgresql+asyncpg://bot:secret@127.0.0.1:{port}/bot",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    # stderr also carries the JSON log records; besides them there is exactly one line.
    [line] = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    where = f"postgresql+asyncpg://bot:***@127.0.0.1:{port}/bot"
    assert line.startswith(f"error: database: cannot reach the database at {where}: ")
    assert "secret" not in result.stderr


@pytest.mark.postgres
async def test_migrate_creates_the_tables_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "migrate"],
        cwd=tmp_path,
        env=bot_environment(DATABASE_URL=postgres_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "database is at the latest migration"
    engine = make_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    assert tables == {"alembic_version", "users", "usage_events", "admin_actions"}
