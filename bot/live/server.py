"""The live page and its WebSocket, as aiohttp routes beside /healthz and /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from importlib import resources
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from bot.assistant import Assistant
from bot.config import Settings
from bot.db.accounts import Accounts
from bot.db.engine import make_engine
from bot.durable.health import Readiness
from bot.durable.receiver import DEFAULT_PORT, build_web_app, serve
from bot.errors import ServiceError
from bot.i18n import t, ui_language
from bot.live.auth import LiveUser, check_init_data
from bot.live.session import (
    CLOSE_INPUT,
    CLOSE_REPLACED,
    CLOSE_TOO_LONG,
    MAX_FRAME_BYTES,
    LiveSession,
)
from bot.metrics import Metrics
from bot.requests import Sender

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

HELLO_TIMEOUT_SECONDS = 15.0
CLOSE_AUTH, CLOSE_BLOCKED = 4401, 4403
_ASSETS = {
    "/live": ("page.html", "text/html"),
    "/live/page.js": ("page.js", "text/javascript"),
    "/live/page.css": ("page.css", "text/css"),
}


class LiveHub:
    """The live sessions of this process: at most one per user, LIVE_MAX_SESSIONS in all."""

    def __init__(
        self, *, settings: Settings, assistant: Assistant, accounts: Accounts, metrics: Metrics
    ) -> None:
        self.settings = settings
        self.assistant = assistant
        self.accounts = accounts
        self.metrics = metrics
        self._sessions: dict[int, tuple[LiveSession, web.WebSocketResponse]] = {}
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def open_sessions(self) -> int:
        """How many sessions are open now."""
        return len(self._sessions)

    async def take(self, user_id: int, session: LiveSession, ws: web.WebSocketResponse) -> bool:
        """Register the user's session, ending their previous one; False when full."""
        old = self._sessions.get(user_id)
        if old is None and len(self._sessions) >= self.settings.live_max_sessions:
            return False
        self._sessions[user_id] = (session, ws)
        self.metrics.live_sessions.set(len(self._sessions))
        if old is not None:
            # In the background: a vanished client would hold the close handshake for seconds.
            task = asyncio.create_task(_replace(*old))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return True

    def release(self, user_id: int, session: LiveSession) -> None:
        """Forget the session (unless a newer one of the user took its place)."""
        current = self._sessions.get(user_id)
        if current is not None and current[0] is session:
            del self._sessions[user_id]
        self.metrics.live_sessions.set(len(self._sessions))

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """GET /live/ws: the handshake, then the session until either side closes."""
        # Larger than the protocol allows, so an oversized frame gets `input`, not a 1009.
        ws = web.WebSocketResponse(max_msg_size=4 * MAX_FRAME_BYTES, heartbeat=30.0)
        await ws.prepare(request)
        user = await self._hello(ws)
        if user is None:
            self.metrics.live_refusals.labels(code="auth").inc()
            await _refuse(ws, "auth", None, CLOSE_AUTH)
            return ws
        language = ui_language(user.language_code)
        if await self._access(user.id) != "ok":
            await _refuse(ws, "blocked", language, CLOSE_BLOCKED)
            return ws
        session = LiveSession(
            ws,
            Sender(
                user_id=user.id,
                chat_id=user.id,  # a live turn is a turn of the user's private chat
                telegram_language=user.language_code,
                username=user.username,
                full_name=user.full_name,
            ),
            assistant=self.assistant,
            metrics=self.metrics,
            language=language,
            silence_ms=self.settings.live_silence_ms,
            max_utterance_seconds=min(60.0, float(self.settings.max_voice_seconds)),
        )
        if not await self.take(user.id, session, ws):
            self.metrics.live_refusals.labels(code="busy").inc()
            await _refuse(ws, "busy", language, 1013)
            return ws
        try:
            await ws.send_str(json.dumps({"type": "ready", "language": language}))
            await self._converse(ws, session)
        finally:
            await session.finish()
            self.release(user.id, session)
            await ws.close()
        return ws

    async def _hello(self, ws: web.WebSocketResponse) -> LiveUser | None:
        """The user of the first message, a hello with a genuine initData; else None."""
        try:
            message = await ws.receive(timeout=HELLO_TIMEOUT_SECONDS)
        except TimeoutError:
            return None
        if message.type != WSMsgType.TEXT:
            return None
        try:
            hello = json.loads(message.data)
        except ValueError:
            return None
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            return None
        return check_init_data(
            str(hello.get("init_data") or ""),
            bot_token=self.settings.telegram_bot_token.get_secret_value(),
            now=time.time(),
            max_age=self.settings.live_auth_max_age_seconds,
        )

    async def _access(self, user_id: int) -> str:
        try:
            access = await self.accounts.access(user_id)
        except ServiceError as error:
            log.error("live: database unavailable: %s", error)
            return "ok"  # the turn's own admission says so, in the user's language
        if access != "ok":
            self.metrics.live_refusals.labels(code="blocked").inc()
        return access

    async def _converse(self, ws: web.WebSocketResponse, session: LiveSession) -> None:
        """Read frames until bye, a close, too many bad frames or LIVE_MAX_SECONDS."""
        try:
            async with asyncio.timeout(self.settings.live_max_seconds):
                async for message in ws:
                    if message.type == WSMsgType.BINARY:
                        await session.on_audio(message.data)
                    elif message.type == WSMsgType.TEXT:
                        if not await session.on_text(message.data):
                            return
                    if session.struck_out:
                        await ws.close(code=CLOSE_INPUT, message=b"too many bad frames")
                        return
        except TimeoutError:
            await ws.close(code=CLOSE_TOO_LONG, message=b"the session reached LIVE_MAX_SECONDS")


async def _replace(session: LiveSession, ws: web.WebSocketResponse) -> None:
    """End a session that a newer one of the same user replaces."""
    await session.finish()
    await ws.close(code=CLOSE_REPLACED, message=b"another live session started")


async def _refuse(ws: web.WebSocketResponse, code: str, language: str | None, close: int) -> None:
    message = t(f"live_{code}", language)
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_str(json.dumps({"type": "error", "code": code, "message": message}))
    await ws.close(code=close, message=code.encode())


async def _asset(request: web.Request) -> web.Response:
    name, content_type = _ASSETS[request.path]
    body = resources.files("bot.live").joinpath(name).read_bytes()
    return web.Response(
        body=body,
        content_type=content_type,
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


def live_hub(services: Services) -> LiveHub | None:
    """The live sessions of a process that answers, when PUBLIC_URL is set."""
    if not services.settings.public_url:
        return None
    return LiveHub(
        settings=services.settings,
        assistant=services.assistant,
        accounts=services.accounts,
        metrics=services.metrics,
    )


@contextlib.asynccontextmanager
async def polling_http(services: Services) -> AsyncIterator[None]:
    """Polling mode with PUBLIC_URL: /live, /live/ws and /healthz on PORT.

    /metrics is on METRICS_PORT, as in webhook mode (on PORT too with METRICS_ON_WEBHOOK_PORT).
    """
    settings = services.settings
    port = settings.port or DEFAULT_PORT
    engine = make_engine(settings.database_url, pool_size=1, max_overflow=1)
    readiness = Readiness(services.redis.client, engine, settings.database_url)
    app = build_web_app(
        readiness=readiness,
        metrics=services.metrics,
        queue=None,
        receiver=None,
        path=None,
        metrics_route=settings.metrics_on_webhook_port,
    )
    if (hub := live_hub(services)) is not None:
        add_live_routes(app, hub)
    try:
        runner = await serve(app, port)
    except OSError as error:
        await engine.dispose()
        raise ServiceError("http", f"cannot listen on port {port}: {error}") from error
    log.info("listening on port %d (/live, /healthz)", port)
    try:
        yield
    finally:
        await runner.cleanup()
        await engine.dispose()


def add_live_routes(app: web.Application, hub: LiveHub) -> None:
    """GET /live (the page and its two files) and GET /live/ws (the WebSocket)."""
    for path in _ASSETS:
        app.router.add_get(path, _asset)
    app.router.add_get("/live/ws", hub.handle)


__all__ = ["LiveHub", "add_live_routes", "live_hub", "polling_http"]
