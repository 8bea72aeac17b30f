"""First starts of the real bot: a wrong token, no Telegram, a rejected key, a quiet log, Redis."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.i18n import t
from bot.stores import watchdog
from tests.conftest import sample
from tests.emulators._http import wait_until
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.processes import bot_env

# Shaped like a real token, so that only our own redaction can keep it out of the output.
REJECTED_TOKEN = "7012345678:AAHrejectedTokenXq3kV9pL2mZ8sW4tY6uR1oE"
API_KEY = "sk-first-start-secret-key-0123456789"
USER = 7007
OTHER = 8008


def start_env(bot_api_url: str, openai_api: OpenAIEmulator, make_settings, **values: str) -> dict:
    """The environment of a first start against the emulators, the test's Redis and database."""
    settings = make_settings()
    defaults = {
        "TELEGRAM_BOT_TOKEN": REJECTED_TOKEN,
        "TELEGRAM_API_URL": bot_api_url,
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": openai_api.base_url,
        "REDIS_URL": settings.redis_url or "",
        "REDIS_PREFIX": settings.redis_prefix,
        "DATABASE_URL": settings.database_url,
        "ASR_BACKEND": "openai",
        "TTS_BACKEND": "espeak",
    }
    return bot_env(
        without=("DATABASE_", "REDIS_", "METRICS_", "ADMIN_", "ALLOWED_"), **{**defaults, **values}
    )


async def run_bot_process(env: dict[str, str], cwd: Path, timeout: float = 60) -> tuple[int, str]:  # noqa: ASYNC109
    """Run `python -m bot` to its end; return its exit status and all it wrote."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode or 0, output.decode()


async def run_until_logged(
    env: dict[str, str],
    cwd: Path,
    wanted: str,
    *,
    count: int = 1,
    meanwhile: Callable[[], object] = lambda: None,
    then: int = signal.SIGTERM,
) -> tuple[int, str]:
    """Run `python -m bot` until it has logged `wanted` `count` times; call `meanwhile`, then
    send it the signal `then`; return its exit status and output."""
    log_file = cwd / "bot.log"
    with log_file.open("wb") as sink:  # a file, not a pipe: a full pipe would block the bot
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=cwd, env=env, stdout=sink, stderr=sink
        )
        try:
            await wait_until(
                lambda: log_file.read_text().count(wanted) >= count, 60, log_file.read_text
            )
            meanwhile()
        finally:
            process.send_signal(then)
            status = await asyncio.wait_for(process.wait(), 30)
    return status, log_file.read_text()


def plain_lines(output: str) -> list[str]:
    """The lines that are not JSON log records."""
    return [line for line in output.splitlines() if not line.startswith("{")]


def log_records(output: str) -> list[dict]:
    """The JSON log records."""
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


async def test_a_token_telegram_rejects_prints_one_line_naming_it_and_never_the_token(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, tmp_path: Path
) -> None:
    env = start_env(bot_api.base_url, openai_api, make_settings)
    status, output = await run_bot_process(env, tmp_path)
    assert status != 0
    assert bot_api.calls_to("getMe") == [], "the emulator never accepted the token"
    assert plain_lines(output) == [
        "error: TELEGRAM_BOT_TOKEN was rejected by Telegram; get the bot's token from @BotFather"
    ]
    assert "Traceback" not in output
    assert all("exception" not in record for record in log_records(output)), output
    for secret in (REJECTED_TOKEN, REJECTED_TOKEN.split(":")[1], API_KEY):
        assert secret not in output


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("ASR_BACKEND", "vosk", "error: unknown ASR_BACKEND=vosk; choose one of openai, "),
        ("TTS_FALLBACKS", "espeak,festival", "error: unknown TTS_FALLBACKS=festival; choose one "),
    ],
)
async def test_an_unknown_backend_name_stops_the_start_with_one_line_before_anything_starts(
    variable: str,
    value: str,
    line: str,
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings,
    tmp_path: Path,
) -> None:
    database = tmp_path / "bot.db"
    env = start_env(
        bot_api.base_url,
        openai_api,
        make_settings,
        TELEGRAM_BOT_TOKEN=bot_api.token,
        DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        **{variable: value},
    )
    del env["REDIS_URL"]  # were Redis reached, an embedded one would start under data/
    status, output = await run_bot_process(env, tmp_path)
    assert status != 0
    [printed] = output.splitlines()
    assert printed.startswith(line), output
    assert bot_api.calls_to("getMe") == []
    assert not database.exists() and not (tmp_path / "data").exists()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_telegram_unreachable_at_start_logs_one_line_per_attempt_with_backoff(
    openai_api: OpenAIEmulator, make_settings, tmp_path: Path
) -> None:
    where = f"http://127.0.0.1:{closed_port()}"
    env = start_env(where, openai_api, make_settings)
    status, output = await run_until_logged(env, tmp_path, "cannot reach Telegram", count=3)
    assert status == 0, output
    assert plain_lines(output) == [], "every line is a log record"
    assert "Traceback" not in output
    attempts = [r for r in log_records(output) if "cannot reach Telegram" in r["message"]]
    assert all("exception" not in r and r["level"] == "WARNING" for r in attempts)
    # The logs mask IP addresses as personal data, but not the bot's own TELEGRAM_API_URL.
    assert [r["message"].split(" (attempt ")[0] for r in attempts[:3]] == [
        f"cannot reach Telegram at {where}"
    ] * 3
    numbers = [r["message"].split(" (attempt ")[1].split(":")[0] for r in attempts[:3]]
    assert numbers == ["1", "2", "3"]
    delays = [float(r["message"].split("retrying in ")[1].split(" s")[0]) for r in attempts[:3]]
    assert delays == sorted(delays) and delays[0] < delays[2], "the waits grow"
    assert REJECTED_TOKEN not in output


async def test_an_openai_key_the_server_rejects_is_logged_once_and_users_get_a_short_apology(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings,
    start_bot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    openai_api.reject_key("sk-test-key")
    await start_bot(make_settings())
    bot_api.send_text(USER, "Hallo, bist du da?", language_code="de")
    bot_api.send_voice(OTHER, sample("en_1.ogg"), duration=6, language_code="es")
    bot_api.send_text(USER, "Immer noch nicht?", language_code="de")
    first, second = await bot_api.wait_for_messages(USER, 2, timeout=20)
    [voice] = await bot_api.wait_for_messages(OTHER, 1, timeout=20)
    assert first.text == second.text == t("service_rejected", "de")
    assert voice.text == t("service_rejected", "es")
    calls = [r for r in openai_api.requests if not r.path.startswith("/v1/models")]
    assert [r.status for r in calls] == [401, 401, 401], "no retries"
    lines = [r for r in caplog.records if "OPENAI_API_KEY" in r.getMessage()]
    assert [(r.levelno, r.exc_info) for r in lines if r.levelno >= logging.INFO] == [
        (logging.ERROR, None)
    ]
    assert not [r for r in caplog.records if r.exc_info], "no traceback"


async def test_the_embedded_redis_stops_when_the_bot_is_killed_even_without_its_data_dir(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, tmp_path: Path
) -> None:
    env = start_env(bot_api.base_url, openai_api, make_settings, TELEGRAM_BOT_TOKEN=bot_api.token)
    del env["REDIS_URL"]  # no server named: the bot embeds one under data/
    _, output = await run_until_logged(
        env,
        tmp_path,
        "is polling",
        # Without its directory Redis cannot save, and then ignores SIGTERM.
        meanwhile=lambda: shutil.rmtree(tmp_path / "data"),
        then=signal.SIGKILL,  # the bot's own clean-up never runs
    )
    [started] = [r for r in log_records(output) if "embedded redis" in r["message"]]
    redis_pid = int(started["message"].split("pid ")[1].rstrip(")"))
    await wait_until(lambda: not watchdog.alive(redis_pid), 30, lambda: f"redis {redis_pid} runs")


async def test_a_start_logs_only_what_an_operator_needs_and_no_alembic_set_up(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, tmp_path: Path
) -> None:
    env = start_env(bot_api.base_url, openai_api, make_settings, TELEGRAM_BOT_TOKEN=bot_api.token)
    _, output = await run_until_logged(env, tmp_path, "is polling")
    records = log_records(output)
    assert not [r for r in records if r["logger"].startswith("alembic")]
    messages = [r["message"] for r in records]
    start_up = records[: messages.index("bot @voice_test_bot is polling") + 1]
    assert [r["logger"] for r in start_up] == [
        "bot.db.engine",  # the database and its migration revision
        "bot.stores.redis",  # which Redis
        "telegram.ext.Application",  # Application started
        "bot.app",  # polling as @username
    ]
