"""One person's flood never costs the others their answers, in polling and in webhook mode.

One user sends 300 texts and 100 voice notes at once, ten others one message each, through the
real bot and the emulators. The ten each see a first sign of life (a chat action) and get their
answer; the flooding user gets one polite refusal, and every update of theirs is either answered
or counted as refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.i18n import t
from tests.cluster import Cluster, QueueView, metric_sum, metrics_of
from tests.conftest import RedisKeyspace, sample
from tests.emulators import BotApiEmulator, OpenAIEmulator
from tests.emulators.bot_state import BotMessage

ABUSER = 7000
OTHERS = range(7001, 7011)
TEXTS, VOICES = 300, 100
FLOOD = TEXTS + VOICES


def flood(bot_api: BotApiEmulator) -> dict[int, int]:
    """The flood, then the ten others' messages (half of them voice notes): user -> message id."""
    voice = sample("en_1.ogg")
    for n in range(TEXTS):
        bot_api.send_text(ABUSER, f"flood message {n}")
    for _ in range(VOICES):
        bot_api.send_voice(ABUSER, voice, duration=3)
    return {
        user: bot_api.send_voice(user, voice, duration=3)
        if user % 2
        else bot_api.send_text(user, f"an ordinary question from {user}")
        for user in OTHERS
    }


async def others_answered(bot_api: BotApiEmulator, sent: dict[int, int]) -> None:
    """Each of the ten sees a sign of life within 30 s and has its answer within 60 s."""
    await bot_api.wait_for(lambda: all(bot_api.chat_actions(u) for u in OTHERS), timeout=30)
    await bot_api.wait_for(
        lambda: all(
            any(
                m.reply_to_message_id == message_id and m.kind == "text"
                for m in bot_api.chat_messages(user)
            )
            for user, message_id in sent.items()
        ),
        timeout=60,
    )


def refusals(bot_api: BotApiEmulator) -> list[BotMessage]:
    """The polite refusals the flooding user got."""
    polite = {t("flood_queue", "en"), t("flood_rate", "en", limit=30)}
    return [m for m in bot_api.chat_messages(ABUSER) if m.text in polite]


def answered(bot_api: BotApiEmulator) -> set[int]:
    """The flooding user's messages that got an answer."""
    told = refusals(bot_api)
    return {
        m.reply_to_message_id
        for m in bot_api.chat_messages(ABUSER)
        if m.reply_to_message_id is not None and m.kind == "text" and m not in told
    }


async def test_one_user_flooding_polling_bot_leaves_the_others_answered_and_is_told_once(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    make_settings: Callable[..., Any],
    start_bot: Callable[..., Any],
    redis_keyspace: RedisKeyspace,
) -> None:
    openai_api.chunk_delay = 0.2  # every answer streams for a few seconds
    services = await start_bot(make_settings())
    sent = flood(bot_api)

    await others_answered(bot_api, sent)
    stream = redis_keyspace.key("updates")
    await bot_api.wait_for(
        lambda: (
            bot_api.pending_updates() == 0
            and redis_keyspace.client.xlen(stream) == 0
            and services.turns.busy_users == 0
        ),
        timeout=120,
    )
    assert len(refusals(bot_api)) == 1, "told once, the rest dropped silently"
    refused = services.metrics.refused
    counted = sum(refused.labels(reason=r)._value.get() for r in ("queue", "rate"))
    assert len(answered(bot_api)) <= 30, "no more than USER_MAX_MESSAGES_PER_MINUTE answered"
    assert len(answered(bot_api)) + counted == FLOOD, "every other update counted as refused"


async def test_one_user_flooding_webhook_workers_leaves_the_others_answered_and_is_told_once(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    cluster: Cluster,
    redis_url: str,
    redis_keyspace: RedisKeyspace,
) -> None:
    openai_api.chunk_delay = 0.2
    web, _worker = await cluster.start_all("web", "worker")
    sent = flood(bot_api)

    await others_answered(bot_api, sent)
    queue = QueueView(redis_url, redis_keyspace.prefix)
    try:
        await bot_api.wait_for(
            lambda: bot_api.pending_updates() == 0 and queue.drained(), timeout=120
        )
    finally:
        queue.close()
    assert len(refusals(bot_api)) == 1, "told once, the rest dropped silently"
    counted = metric_sum(await metrics_of(web), "updates_refused_total")
    assert len(answered(bot_api)) <= 30
    assert len(answered(bot_api)) + counted == FLOOD
