"""The default chat model: gpt-6-luna at a low reasoning effort, reasoning billed as output."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.db.engine import make_engine
from bot.db.models import UsageEvent
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator

USER = 6116


async def ledger(url: str, *columns: Any, **where: Any) -> list[Any]:
    """Rows of the usage ledger: the given columns, filtered by equality."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(select(*columns).filter_by(**where))).all())
    finally:
        await engine.dispose()


async def test_reasoning_tokens_are_charged_as_output_in_the_ledger_and_counted(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.reason_with(300)
    settings = make_settings()
    services = await start_bot(settings)
    bot_api.send_text(USER, "Why is the sky blue?")
    await bot_api.wait_for_messages(USER, 1)
    [chat] = openai_api.chat_requests()
    assert (chat.json["model"], chat.json["reasoning_effort"]) == ("gpt-6-luna", "low")
    assert chat.usage is not None
    [(tokens_in, tokens_out, cost)] = await ledger(
        settings.database_url,
        UsageEvent.tokens_in,
        UsageEvent.tokens_out,
        UsageEvent.cost,
        kind="chat",
    )
    assert tokens_out == chat.usage["completion_tokens"] > 300, "the reasoning counts as output"
    assert cost == pytest.approx(tokens_in * 0.10 / 1e6 + tokens_out * 0.50 / 1e6)
    assert services.metrics.registry.get_sample_value("reasoning_tokens_total") == 300


@pytest.mark.parametrize(
    ("overrides", "sent"),
    [
        pytest.param({"openai_reasoning_effort": "high"}, "high", id="the effort set"),
        pytest.param({"openai_reasoning_effort": ""}, None, id="empty sends none"),
        pytest.param(
            {"openai_model": "gpt-4o-mini"}, None, id="none to a model that cannot reason"
        ),
    ],
)
async def test_the_reasoning_effort_goes_only_where_it_means_something(
    overrides: dict[str, str],
    sent: str | None,
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings,
    start_bot,
) -> None:
    await start_bot(make_settings(**overrides))
    bot_api.send_text(USER, "Hello there")
    await bot_api.wait_for_messages(USER, 1)
    [chat] = openai_api.chat_requests()
    assert chat.json.get("reasoning_effort") == sent
