"""The webhook endpoint: check the secret, store the update durably, only then answer 2xx.

Served with aiohttp (already what the test emulators speak): one small async server that also
answers GET /healthz on the same port. /metrics has a port of its own (METRICS_PORT, private by
default), and is on the public one only when METRICS_ON_WEBHOOK_PORT asks for it.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from redis.exceptions import RedisError

from bot.durable.health import Readiness
from bot.durable.queue import UpdateQueue
from bot.metrics import Metrics

log = logging.getLogger(__name__)

DEFAULT_PORT = 8080

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header's name, not a secret
MAX_UPDATE_BYTES = 1024 * 1024  # an update is JSON text; files are fetched separately
Handler = Callable[[web.Request], Awaitable[web.Response]]
MAX_UPDATE_ID = 2**63 - 1  # what Redis and PostgreSQL hold as an integer


def webhook_path(url: str) -> str:
    """The path of WEBHOOK_URL, where Telegram POSTs ("/" when it has none)."""
    return urlsplit(url).path or "/"


class Receiver:
    """Turns a POST from Telegram into a stored update."""

    def __init__(self, queue: UpdateQueue, *, secret: str, metrics: Metrics) -> None:
        """Accept only requests carrying `secret` in the secret-token header."""
        self._queue = queue
        self._secret = secret.encode()
        self._metrics = metrics

    async def handle(self, request: web.Request) -> web.Response:
        """401 without the secret, 403 with a wrong one, 503 when Redis cannot store it."""
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return web.Response(status=401, text="missing secret token")
        # Bytes that are not UTF-8 arrive as surrogates; they are a wrong secret, not an error.
        if not hmac.compare_digest(given.encode(errors="surrogateescape"), self._secret):
            log.warning("webhook request with a wrong secret token from %s", request.remote)
            return web.Response(status=403, text="wrong secret token")
        data = read_update(await request.read())
        if data is None:
            return web.Response(status=400, text="not an update")
        try:
            stored = await self._queue.store(data)
        except (RedisError, OSError) as error:
            # Telegram keeps the update and sends it again: nothing is lost.
            log.warning(
                "update %s not stored, asking for a redelivery: %s", data["update_id"], error
            )
            self._metrics.count_error("queue_store")
            return web.Response(status=503, text="cannot store the update now")
        if stored.refused:
            self._metrics.count_refused(stored.refused)
        elif not stored.stored:
            log.info("update %s delivered again; already stored", data["update_id"])
        return web.Response(status=200)


def read_update(body: bytes) -> dict[str, Any] | None:
    """The update in a POST body, or None when it is none: not JSON, too deep, no whole id."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python recurses
        return None
    if not isinstance(data, dict):
        return None
    update_id = data.get("update_id")
    if type(update_id) is not int or not 0 <= update_id <= MAX_UPDATE_ID:  # 1e400, 1.5, true
        return None
    return data


def build_web_app(
    *,
    readiness: Readiness,
    metrics: Metrics,
    queue: UpdateQueue | None,
    receiver: Receiver | None,
    path: str | None,
    metrics_route: bool = False,
) -> web.Application:
    """The routes: the webhook path (when this process receives), /healthz, maybe /metrics."""
    app = web.Application(client_max_size=MAX_UPDATE_BYTES)

    async def healthz(request: web.Request) -> web.Response:
        status = await readiness.status()
        return web.json_response(status, status=200 if all(status.values()) else 503)

    app.router.add_get("/healthz", healthz)
    if metrics_route:
        app.router.add_get("/metrics", _metrics_page(metrics, queue))
    if receiver is not None and path is not None:
        app.router.add_post(path, receiver.handle)
    return app


def build_metrics_app(*, metrics: Metrics, queue: UpdateQueue) -> web.Application:
    """GET /metrics alone, for METRICS_PORT."""
    app = web.Application()
    app.router.add_get("/metrics", _metrics_page(metrics, queue))
    return app


def _metrics_page(metrics: Metrics, queue: UpdateQueue | None) -> Handler:
    async def metrics_page(request: web.Request) -> web.Response:
        if queue is not None:
            await report_queue(queue, metrics)  # a scrape sees the queue as it is now
        return web.Response(body=metrics.render(), content_type="text/plain")

    return metrics_page


async def report_queue(queue: UpdateQueue, metrics: Metrics) -> None:
    """Copy a snapshot of the queue into the gauges (skipped while Redis is away)."""
    try:
        stats = await queue.stats()
    except (RedisError, OSError):
        return
    metrics.set_queue(
        length=stats.length,
        in_progress=stats.pending,
        oldest=stats.oldest_seconds,
        parked=stats.parked,
    )


async def serve(app: web.Application, port: int, host: str = "0.0.0.0") -> web.AppRunner:  # noqa: S104
    """Listen (by default on all interfaces, behind fly's or docker's proxy); returns the runner."""
    # A short shutdown timeout: on SIGTERM an in-flight POST either stored its update or gets no
    # 2xx, and Telegram redelivers it.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
