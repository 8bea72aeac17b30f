"""The lifecycle guard and shut-down models, through the real bot and the OpenAI emulator."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.i18n import t
from tests.conftest import sample
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.openai_replies import CANNED

ADMIN = 9119
USER = 8118


def lifecycle_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.lifecycle"]


async def test_a_chat_model_shutting_down_in_19_days_is_warned_at_start_and_shown_to_the_admin(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings,
    start_bot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shutdown = (datetime.now(UTC).date() + timedelta(days=19)).isoformat()
    openai_api.announce_shutdown("gpt-4o-mini", shutdown)
    services = await start_bot(
        make_settings(openai_model="gpt-4o-mini", admin_user_ids=frozenset({ADMIN}))
    )
    await bot_api.wait_for(lambda: bool(services.models), timeout=30)
    [warning] = [r for r in lifecycle_lines(caplog) if r.levelno >= logging.WARNING]
    assert warning.levelno == logging.WARNING
    line = f"OPENAI_MODEL=gpt-4o-mini shuts down on {shutdown} (19 days left)"
    assert line in warning.getMessage()
    bot_api.send_text(ADMIN, "/stats")
    stats = (await bot_api.wait_for_messages(ADMIN, 1, timeout=30))[0]
    assert f"Models:\n{line}" in stats.text
    gauge = services.metrics.registry.get_sample_value(
        "openai_model_shutdown_days", {"variable": "OPENAI_MODEL", "model": "gpt-4o-mini"}
    )
    assert gauge == 19


async def test_a_retired_chat_model_is_an_error_line_at_start_and_users_get_a_short_apology(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings,
    start_bot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    openai_api.retire_model("gpt-4o-mini")
    services = await start_bot(make_settings(openai_model="gpt-4o-mini"))
    await bot_api.wait_for(lambda: bool(services.models), timeout=30)
    [error] = [r for r in lifecycle_lines(caplog) if r.levelno >= logging.WARNING]
    assert error.levelno == logging.ERROR
    assert "OPENAI_MODEL=gpt-4o-mini" in error.getMessage()
    assert "model_not_found" in error.getMessage()
    bot_api.send_text(USER, "Hallo, wie spät ist es in Tokio?", language_code="de")
    [apology] = await bot_api.wait_for_messages(USER, 1, timeout=30)
    assert apology.text == t("model_unavailable", "de")
    assert len(openai_api.chat_requests()) == 1, "a missing model is not retried"


async def test_a_retired_transcription_model_gets_the_voice_note_apology_naming_it(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings,
    start_bot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    openai_api.retire_model("whisper-1")
    services = await start_bot(make_settings(transcribe_model="whisper-1"))
    await bot_api.wait_for(lambda: bool(services.models), timeout=30)
    [error] = [r for r in lifecycle_lines(caplog) if r.levelno >= logging.WARNING]
    assert "TRANSCRIBE_MODEL=whisper-1" in error.getMessage()
    bot_api.send_voice(USER, sample("es_1.ogg"), duration=6, language_code="es")
    [apology] = await bot_api.wait_for_messages(USER, 1, timeout=30)
    assert apology.text == t("transcription_model_unavailable", "es")
    assert not openai_api.chat_requests()


async def test_a_server_without_a_models_endpoint_costs_one_debug_line_and_nothing_else(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings,
    start_bot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.lifecycle")
    openai_api.drop_models_endpoint()
    services = await start_bot(make_settings())
    await bot_api.wait_for(lambda: bool(lifecycle_lines(caplog)), timeout=30)
    [line] = lifecycle_lines(caplog)
    assert line.levelno == logging.DEBUG
    assert len(openai_api.model_requests()) == 1, "one look-up, then no more"
    assert services.models == []
    bot_api.send_text(USER, "Is anyone there?")
    [answer] = await bot_api.wait_for_messages(USER, 1, timeout=30)
    assert answer.text.startswith(CANNED["en"])


async def test_models_with_no_announced_shutdown_log_nothing_and_stay_out_of_stats(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings,
    start_bot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    services = await start_bot(make_settings(admin_user_ids=frozenset({ADMIN}), tts_fallbacks=()))
    await bot_api.wait_for(lambda: bool(services.models), timeout=30)
    assert [(s.variable, s.model) for s in services.models] == [
        ("OPENAI_MODEL", "gpt-6-luna"),
        ("TRANSCRIBE_MODEL", "gpt-transcribe"),
    ]
    assert not lifecycle_lines(caplog)
    bot_api.send_text(ADMIN, "/stats")
    stats = (await bot_api.wait_for_messages(ADMIN, 1, timeout=30))[0]
    assert "Models:" not in stats.text
