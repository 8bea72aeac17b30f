"""The webhook modes: `web` (receive only), `worker` (answer only), and both in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.engine import make_url
from telegram import Bot, Update
from telegram.ext import Application, ApplicationBuilder

from bot.app import _register_commands as register_commands
from bot.app import build_application, build_services, load_deferred, warm_up
from bot.config import Settings
from bot.db.engine import make_engine
from bot.durable.health import Readiness
from bot.durable.queue import Admission, UpdateQueue
from bot.durable.receiver import (
    DEFAULT_PORT,
    Receiver,
    build_metrics_app,
    build_web_app,
    serve,
    webhook_path,
)
from bot.durable.worker import Worker
from bot.errors import ServiceError
from bot.live.server import add_live_routes, live_hub
from bot.metrics import Metrics
from bot.stores.redis import RedisHandle, connect_redis

log = logging.getLogger(__name__)

EXIT_DEADLINE_SECONDS = 28.0  # the contract says 30 s; leave a little for the interpreter
REST_OF_SHUTDOWN_SECONDS = 2.0
_signalled = threading.Event()  # set by exit_within's handler: this process is to end


def exit_within(stop: asyncio.Event, seconds: float = EXIT_DEADLINE_SECONDS) -> None:
    """On SIGTERM or SIGINT: set `stop`, and make sure the process is gone `seconds` later.

    A plain Python signal handler, beside asyncio's: it runs even while the event loop is stuck
    in a call that never returns. What a worker still holds when the deadline strikes stays
    pending in Redis and another worker takes it over after WORKER_CLAIM_SECONDS, so ending
    there loses nothing; hence exit code 0.
    """
    loop = asyncio.get_running_loop()

    def on_signal(signum: int, frame: object) -> None:
        if not _signalled.is_set():
            _signalled.set()
            exit_after(seconds, "after SIGTERM")
        loop.call_soon_threadsafe(stop.set)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)


def exit_after(seconds: float, since: str) -> None:
    """Make sure the process is gone `seconds` from now, whatever it still waits on."""
    timer = threading.Timer(seconds, _exit_now, args=(seconds, since))
    timer.daemon = True
    timer.start()


def _exit_now(seconds: float, since: str) -> None:
    log.warning("still running %.0f s %s; exiting now", seconds, since)
    logging.shutdown()
    os._exit(0)


async def run_web(settings: Settings, stop: asyncio.Event) -> None:
    """Receive updates at WEBHOOK_URL and store them; answer nothing (workers do)."""
    webhook_url, webhook_secret = _webhook(settings)
    handle = await connect_redis(settings.redis_url, data_dir=settings.data_dir)
    engine = make_engine(settings.database_url, pool_size=1, max_overflow=1)
    metrics = Metrics()
    try:
        readiness = Readiness(handle.client, engine, settings.database_url)
        await readiness.require_database()
        queue = UpdateQueue(
            handle.client, prefix=settings.redis_prefix, admission=Admission.from_settings(settings)
        )
        await queue.ensure_group()
        receiver = Receiver(queue, secret=webhook_secret, metrics=metrics)
        path = webhook_path(webhook_url)
        app = build_web_app(
            readiness=readiness,
            metrics=metrics,
            queue=queue,
            receiver=receiver,
            path=path,
            metrics_route=settings.metrics_on_webhook_port,
        )
        async with _served(app, settings, metrics, queue):
            telegram = _telegram_only(settings)
            async with telegram:
                await _set_webhook(telegram.bot, settings)
                await register_commands(telegram, settings)
            await stop.wait()
    finally:
        await engine.dispose()
        await handle.aclose()


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Answer stored updates until `stop`; never touches the webhook."""
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        log.warning(
            "DATABASE_URL is SQLite: workers on several machines need PostgreSQL "
            "(docker-compose.yml and fly.toml use it); on one machine SQLite works but contends"
        )
    services = await build_services(settings)
    await asyncio.to_thread(load_deferred, services)  # before the first update, off the loop
    application = build_application(settings, services, shared_budget=True)
    await _answer_and_maybe_receive(settings, stop, services.redis, application, receive=False)


async def run_single(settings: Settings, stop: asyncio.Event) -> None:
    """`python -m bot` with WEBHOOK_URL: receive and answer in one process."""
    services = await build_services(settings)
    await asyncio.to_thread(load_deferred, services)  # before the first update, off the loop
    application = build_application(settings, services, shared_budget=True)
    await _answer_and_maybe_receive(settings, stop, services.redis, application, receive=True)


async def _answer_and_maybe_receive(
    settings: Settings,
    stop: asyncio.Event,
    redis: RedisHandle,
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    receive: bool,
) -> None:
    services = application.bot_data["services"]
    engine = make_engine(settings.database_url, pool_size=1, max_overflow=1)
    try:
        readiness = Readiness(redis.client, engine, settings.database_url)
        queue = UpdateQueue(
            redis.client, prefix=settings.redis_prefix, admission=Admission.from_settings(settings)
        )
        await queue.ensure_group()
        receiver, path = None, None
        if receive:
            webhook_url, webhook_secret = _webhook(settings)
            secret = webhook_secret
            receiver = Receiver(queue, secret=secret, metrics=services.metrics)
            path = webhook_path(webhook_url)
        app = build_web_app(
            readiness=readiness,
            metrics=services.metrics,
            queue=queue,
            receiver=receiver,
            path=path,
            metrics_route=settings.metrics_on_webhook_port,
        )
        if (hub := live_hub(services)) is not None:  # PUBLIC_URL: the live page, beside them
            add_live_routes(app, hub)
        async with application, _served(app, settings, services.metrics, queue):
            if receive:
                await _set_webhook(application.bot, settings)
                await register_commands(application, settings)
            worker = Worker(application, queue, settings)
            readiness.watch("worker", worker.duties.healthy)
            warming = asyncio.create_task(warm_up(services))
            try:
                await worker.run(stop)
            finally:
                warming.cancel()
                if _signalled.is_set():
                    # Everything held is handed back: what is left (closing connections,
                    # threads of to_thread finishing a decode) gets a few seconds, no more.
                    exit_after(REST_OF_SHUTDOWN_SECONDS, "after the hand-back")
    finally:
        await engine.dispose()
        await services.aclose()


@contextlib.asynccontextmanager
async def _served(
    app: Any, settings: Settings, metrics: Metrics, queue: UpdateQueue
) -> AsyncIterator[None]:
    """PORT (webhook, /healthz) on all interfaces; METRICS_PORT, when set, on METRICS_HOST."""
    port = settings.port or DEFAULT_PORT
    sites: list[tuple[Any, int, str]] = [(app, port, "0.0.0.0")]  # noqa: S104 - behind a proxy
    if settings.metrics_port is not None:
        metrics_app = build_metrics_app(metrics=metrics, queue=queue)
        sites.append((metrics_app, settings.metrics_port, settings.metrics_host))
    runners = []
    try:
        for site_app, site_port, host in sites:
            try:
                runners.append(await serve(site_app, site_port, host))
            except OSError as error:
                message = f"cannot listen on {host} port {site_port}: {error}"
                raise ServiceError("http", message) from error
        log.info("listening on port %d (/healthz)", port)
        if settings.metrics_port is not None:
            log.info("/metrics on %s port %d", settings.metrics_host, settings.metrics_port)
        yield
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


def _telegram_only(settings: Settings) -> Application[Any, Any, Any, Any, Any, Any]:
    # The receiver needs no handlers, only a bot for setWebhook and the command menu.
    root = settings.telegram_api_url
    return (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .updater(None)
        .build()
    )


async def _set_webhook(bot: Bot, settings: Settings) -> None:
    webhook_url, webhook_secret = _webhook(settings)
    await bot.set_webhook(
        url=webhook_url,
        secret_token=webhook_secret,
        allowed_updates=Update.ALL_TYPES,
    )
    log.info("webhook set; Telegram delivers to %s", webhook_path(webhook_url))


def _webhook(settings: Settings) -> tuple[str, str]:
    """WEBHOOK_URL and WEBHOOK_SECRET; `python -m bot` checked both before choosing a mode."""
    if not settings.webhook_url or settings.webhook_secret is None:
        raise RuntimeError("webhook mode without WEBHOOK_URL and WEBHOOK_SECRET")
    return settings.webhook_url, settings.webhook_secret.get_secret_value()
