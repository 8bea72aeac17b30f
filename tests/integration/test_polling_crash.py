"""Polling loses nothing on a crash: `python -m bot` killed mid-answer answers everything after.

getUpdates confirms an update only once it is stored in Redis; a restart answers what the stream
still holds, each answer once.
"""

from __future__ import annotations

from tests.cluster import Cluster, QueueView
from tests.conftest import RedisKeyspace
from tests.emulators import BotApiEmulator, OpenAIEmulator
from tests.emulators.bot_state import BotMessage

CHAT = "/chat/completions"
USER = 8101


def answers_to(bot_api: BotApiEmulator, message_id: int) -> list[BotMessage]:
    """The bot's final texts replying to one of the user's messages."""
    return [
        m
        for m in bot_api.chat_messages(USER)
        if m.reply_to_message_id == message_id and m.kind == "text"
    ]


async def test_polling_bot_killed_mid_answer_answers_the_interrupted_and_the_queued_update_once(
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    cluster: Cluster,
    redis_url: str,
    redis_keyspace: RedisKeyspace,
) -> None:
    polling = {"WEBHOOK_URL": "", "WEBHOOK_SECRET": ""}
    openai_api.hold(CHAT)  # the first answer stops after its first words
    bot = cluster.start("run", **polling)
    await bot_api.wait_for(lambda: bool(bot_api.calls_to("getUpdates")), timeout=90)
    first = bot_api.send_text(USER, "the question being answered when the bot dies")
    await openai_api.wait_for(lambda: openai_api.held == 1, timeout=60)
    second = bot_api.send_text(USER, "the question queued behind it")
    # Telegram was told both were received (the next getUpdates' offset confirmed them).
    await bot_api.wait_for(lambda: bot_api.pending_updates() == 0, timeout=30)

    cluster.kill(bot)  # kill -9, mid-answer
    assert not answers_to(bot_api, first) and not answers_to(bot_api, second)
    openai_api.release(CHAT)
    cluster.start("run", **polling)

    queue = QueueView(redis_url, redis_keyspace.prefix)
    try:
        await bot_api.wait_for(
            lambda: answers_to(bot_api, first) and answers_to(bot_api, second), timeout=90
        )
        await bot_api.wait_for(lambda: queue.length() == 0, timeout=30)
    finally:
        queue.close()
    assert len(answers_to(bot_api, first)) == 1, "the interrupted update, answered once"
    assert len(answers_to(bot_api, second)) == 1, "the queued update, answered once"
