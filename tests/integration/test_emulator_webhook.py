"""The Bot API emulator's webhooks behave like Telegram's, seen through python-telegram-bot."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import Conflict

from tests.emulators import BotApiEmulator


class Receiver:
    """A webhook endpoint that records what it got and answers with `status`."""

    def __init__(self) -> None:
        self.got: list[tuple[int, int | None, str | None]] = []  # update_id, chat, secret
        self.status = 200
        self.hold: dict[int, asyncio.Event] = {}  # chat -> released when set
        self.in_flight = 0
        self.most_in_flight = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        chat = body["message"]["chat"]["id"]
        self.got.append(
            (body["update_id"], chat, request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if chat in self.hold:
                await self.hold[chat].wait()
        finally:
            self.in_flight -= 1
        return web.Response(status=self.status)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    target = Receiver()
    app = web.Application()
    app.router.add_post("/hook/path", target.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    yield target, f"http://127.0.0.1:{sock.getsockname()[1]}/hook/path"
    await runner.cleanup()


@pytest.fixture
async def bot(bot_api: BotApiEmulator) -> AsyncIterator[Bot[Any]]:
    root = bot_api.base_url
    async with Bot(bot_api.token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot") as b:
        yield b


async def test_set_webhook_shows_in_info_and_refuses_polling(
    bot_api: BotApiEmulator, bot: Bot[Any], receiver: tuple[Receiver, str]
) -> None:
    _, url = receiver
    assert await bot.set_webhook(url, secret_token="s3cret-token_1", max_connections=5)
    info = await bot.get_webhook_info()
    assert (info.url, info.max_connections) == (url, 5)
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates(timeout=0) == ()


async def test_updates_arrive_by_post_with_the_secret_and_are_retried_until_2xx(
    bot_api: BotApiEmulator, bot: Bot[Any], receiver: tuple[Receiver, str]
) -> None:
    target, url = receiver
    target.status = 500
    await bot.set_webhook(url, secret_token="s3cret")
    update_id = bot_api.push_update(
        {"message": {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"}}}
    )
    await bot_api.wait_for(lambda: len(target.got) >= 2)
    assert bot_api.pending_updates() == 1, "a 500 keeps the update pending"
    target.status = 200
    await bot_api.wait_for(lambda: bot_api.pending_updates() == 0)
    assert {secret for _, _, secret in target.got} == {"s3cret"}
    statuses = [d.status for d in bot_api.deliveries_of(update_id)]
    assert statuses[-1] == 200 and set(statuses[:-1]) == {500}
    assert (await bot.get_webhook_info()).last_error_message


async def test_one_chat_at_a_time_in_order_and_chats_concurrently(
    bot_api: BotApiEmulator, bot: Bot[Any], receiver: tuple[Receiver, str]
) -> None:
    target, url = receiver
    target.hold = {1: asyncio.Event(), 2: asyncio.Event()}
    await bot.set_webhook(url)
    ids = {
        chat: [
            bot_api.push_update(
                {"message": {"message_id": n, "date": 0, "chat": {"id": chat, "type": "private"}}}
            )
            for n in range(3)
        ]
        for chat in (1, 2)
    }
    await bot_api.wait_for(lambda: target.in_flight == 2)
    assert sorted(u for u, _, _ in target.got) == [ids[1][0], ids[2][0]], "one per chat"
    target.hold[1].set()
    target.hold[2].set()
    await bot_api.wait_for(lambda: bot_api.pending_updates() == 0)
    for chat in (1, 2):
        assert [u for u, c, _ in target.got if c == chat] == ids[chat]
    assert target.most_in_flight == 2
