"""Composition root: build every service once from Settings, then the Telegram application."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.asr import make_transcriber
from bot.assistant import Assistant, AssistantSettings
from bot.config import Settings
from bot.core.quota import Limits, Prices
from bot.db.accounts import Accounts
from bot.db.engine import make_engine, make_session_factory
from bot.db.migrations import migrate_exclusively
from bot.hearing import Listener
from bot.i18n import TABLES
from bot.lifecycle import check_models, models_in_use
from bot.llm import ChatModel
from bot.metrics import Metrics
from bot.openai_client import LazyOpenAI, make_openai_client
from bot.privacy import Privacy
from bot.services import Services
from bot.stores.budget import RedisBudget
from bot.stores.caches import AnswerCache, CacheCounters, SpeechCache, TranscriptCache
from bot.stores.listen import ListenStore
from bot.stores.locks import Locks
from bot.stores.memory import ConversationStore
from bot.stores.prefs import PreferenceStore, VaultStore
from bot.stores.redis import connect_redis
from bot.tasks import CLEANUP_SECONDS
from bot.tg import guest, handlers, listen, unasked, voice_menu
from bot.tg.commands import command_handlers, menu
from bot.tg.context import CONTEXT_TYPES, install_services
from bot.tg.errors import on_error
from bot.tg.ordering import Journal, PerUserUpdateProcessor
from bot.tg.ratelimit import PriorityRateLimiter
from bot.tg.replies import LISTEN_PREFIX
from bot.tg.startup import reach_telegram
from bot.tts import make_synthesizer

log = logging.getLogger(__name__)
TELEGRAM_CONNECTIONS = 256  # python-telegram-bot's default
TELEGRAM_IDLE_CONNECTIONS = 16

__all__ = [
    "Services",
    "build_application",
    "build_services",
    "load_deferred",
    "make_openai_client",
    "run_bot",
]


def assistant_settings(settings: Settings) -> AssistantSettings:
    """The settings a turn reads, and only those."""
    return AssistantSettings(
        max_concurrent_turns=settings.max_concurrent_turns,
        max_voice_seconds=settings.max_voice_seconds,
        long_note_seconds=settings.long_note_seconds,
        max_speech_seconds=settings.max_speech_seconds,
        system_prompt=settings.system_prompt,
        memory_max_turns=settings.memory_max_turns,
        memory_max_tokens=settings.memory_max_tokens,
        openai_model=settings.openai_model,
        tts_model=settings.tts_model,
    )


async def build_services(settings: Settings, *, metrics: Metrics | None = None) -> Services:
    """Connect Redis and the database (migrating it), and build the pipeline stages."""
    metrics = metrics or Metrics()
    # The backends first: an unknown name or a missing package stops the start before anything
    # connects or migrates (one line naming the variable, from the registry).
    client_openai = LazyOpenAI(settings)  # built after polling starts, by _warm_up
    transcriber = make_transcriber(settings, openai_client=client_openai)
    synthesizer = make_synthesizer(
        settings, openai_client=client_openai, on_fallback=metrics.count_tts_fallback
    )
    engine = make_engine(settings.database_url)
    await migrate_exclusively(settings.database_url)  # several processes may start at once
    accounts = Accounts(
        make_session_factory(engine),
        limits=Limits.from_settings(settings),
        prices=Prices.from_settings(settings),
        admin_ids=settings.admin_user_ids,
        allowed_ids=settings.allowed_user_ids,
        on_backlog=metrics.set_ledger_backlog,
        on_lost=metrics.count_ledger_lost,
    )
    handle = await connect_redis(settings.redis_url, data_dir=settings.data_dir)
    client = handle.client
    prefix = settings.redis_prefix
    counters = CacheCounters(client, on_event=metrics.count_cache, prefix=prefix)
    prefs = PreferenceStore(client, prefix=prefix)
    locks = Locks(client, prefix=prefix)
    assistant = Assistant(
        settings=assistant_settings(settings),
        conversations=ConversationStore(
            client,
            max_turns=settings.memory_max_turns,
            idle_ttl_seconds=settings.memory_idle_ttl_seconds,
            prefix=prefix,
        ),
        prefs=prefs,
        privacy=Privacy(
            mode=settings.privacy_mode,
            vaults=VaultStore(
                client,
                secret=settings.vault_secret,
                ttl_seconds=settings.memory_idle_ttl_seconds,
                prefix=prefix,
            ),
            locks=locks,
        ),
        answers=AnswerCache(client, counters, ttl=settings.answer_cache_ttl_seconds, prefix=prefix),
        speech_cache=SpeechCache(
            client, counters, ttl=settings.speech_cache_ttl_seconds, prefix=prefix
        ),
        listener=Listener(
            transcriber=transcriber,
            cache=TranscriptCache(
                client, counters, ttl=settings.transcript_cache_ttl_seconds, prefix=prefix
            ),
            metrics=metrics,
            confidence=settings.language_confidence,
            retry_budget_seconds=settings.openai_retry_budget_seconds,
            max_attempts=settings.openai_max_attempts,
            max_seconds=settings.max_voice_seconds,
            max_recording_seconds=settings.max_recording_seconds,
        ),
        chat=ChatModel(
            client_openai,
            model=settings.openai_model,
            retry_budget_seconds=settings.openai_retry_budget_seconds,
            max_attempts=settings.openai_max_attempts,
            on_retry=metrics.count_openai_retry,
            reasoning_effort=settings.openai_reasoning_effort,
        ),
        synthesizer=synthesizer,
        accounts=accounts,
        metrics=metrics,
        locks=locks,
        listens=ListenStore(client, prefix=prefix),
    )
    services = Services(
        settings, handle, assistant, accounts, prefs, counters, metrics, client_openai
    )
    services.closers += [
        engine.dispose,
        accounts.aclose,
        client_openai.close,
        transcriber.aclose,
        synthesizer.aclose,
    ]
    return services


def build_application(
    settings: Settings,
    services: Services,
    *,
    shared_budget: bool = False,
    journal: Journal | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The python-telegram-bot Application, pointed at TELEGRAM_API_URL, with every handler.

    Updates come from `bot.durable` (the polling journal or the webhook stream), never from
    python-telegram-bot's Updater, which confirms an update to Telegram before it is answered.
    """
    root = settings.telegram_api_url
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .local_mode(settings.telegram_local_mode)
        .request(telegram_connections())
        .rate_limiter(
            PriorityRateLimiter(
                # Webhook workers share one token's budget in Redis; polling is one process,
                # whose own buckets (the default) spare a Redis round trip per call.
                budget=RedisBudget(services.redis.client, prefix=settings.redis_prefix)
                if shared_budget
                else None,
                on_call=services.metrics.count_telegram_call,
            )
        )
        .concurrent_updates(
            PerUserUpdateProcessor(services.turns, ready=services.warm, journal=journal)
        )
        .updater(None)
        .context_types(CONTEXT_TYPES)
        .build()
    )
    install_services(application, services)
    _add_handlers(application)
    application.add_error_handler(on_error)
    return application


def telegram_connections() -> HTTPXRequest:
    """python-telegram-bot's HTTP client with at most TELEGRAM_IDLE_CONNECTIONS kept idle.

    Its default keeps every one of its 256 connections alive, and httpcore checks each idle one
    (a socket poll) before every call: once 200 downloads at once had opened them, every later
    call cost the event loop ~2 ms. Calls are paced to ~60 a second, so a few idle suffice.
    """
    limits = httpx.Limits(
        max_connections=TELEGRAM_CONNECTIONS, max_keepalive_connections=TELEGRAM_IDLE_CONNECTIONS
    )
    return HTTPXRequest(connection_pool_size=TELEGRAM_CONNECTIONS, httpx_kwargs={"limits": limits})


def _add_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    audio = filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE | filters.Document.ALL
    unsupported = filters.PHOTO | filters.VIDEO | filters.Sticker.ALL
    table = [
        # First: a guest call may look like any message, but can only be answered as a guest.
        MessageHandler(filters.UpdateType.GUEST_MESSAGE, guest.answer_guest),
        *command_handlers(),
        MessageHandler(filters.COMMAND, handlers.unknown_command),
        MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.text_message),
        MessageHandler(audio, handlers.audio_message),
        MessageHandler(unsupported & filters.ChatType.PRIVATE, handlers.unsupported),
        CallbackQueryHandler(voice_menu.on_button, pattern=f"^{voice_menu.PREFIX}"),
        CallbackQueryHandler(listen.on_listen, pattern=f"^{LISTEN_PREFIX}"),
    ]
    for handler in table:
        application.add_handler(handler)
    application.add_handler(MessageHandler(filters.ALL, _count_update), group=-1)
    application.add_handler(TypeHandler(Update, unasked.stop_unasked), group=-2)


async def _count_update(update: Update, context: Any) -> None:
    """Count every update by its kind (runs in its own handler group, before the real handler)."""
    message = update.effective_message
    kind = "other"
    if update.guest_message is not None:
        kind = "guest"
    elif message is not None and (message.text or "").startswith("/"):
        kind = "command"
    elif message is not None:
        kind = next(
            (
                k
                for k in ("voice", "audio", "video_note", "document", "text")
                if getattr(message, k)
            ),
            "other",
        )
    context.services.metrics.count_update(kind)


async def _register_commands(
    application: Application[Any, Any, Any, Any, Any, Any], settings: Settings
) -> None:
    """The command menu, in every language we have messages for."""
    for language in TABLES:
        code = None if language == "en" else language
        await application.bot.set_my_commands(menu(language, settings), language_code=code)


async def warm_up(services: Services) -> None:
    """Load what first use would load (`_warm_up`, in a thread); let updates through; check models.

    Measured at 200 people arriving right after a start: beside the loading thread the event
    loop stalled 115-200 ms; after it, 21 ms. The collector rests meanwhile: what the warm-up
    loads is frozen at its end, and its full passes over the growing heap (24-77 ms each, four
    per start) stopped the loop while the first updates were being stored.
    """
    gc.disable()
    try:
        await asyncio.to_thread(_warm_up, services)
    finally:
        gc.enable()
        services.warm.set()
    # Then, with the client built, the lifecycle guard: one look-up per configured model.
    services.models = await check_models(
        services.openai.client().models,
        models_in_use(services.settings),
        metrics=services.metrics,
    )


def load_deferred(services: Services) -> None:
    """Load (blocking) what build_services leaves for later, so that the bot polls sooner.

    The openai SDK and its client (~0.4 s), and bot.audio_in's and bot.voice_out's numpy, PyAV
    and pydub (~0.1 s).
    """
    import bot.voice_out  # noqa: F401  (it imports bot.audio_in)

    services.openai.client()


def _warm_up(services: Services) -> None:
    """Load in a worker thread what the first message would otherwise load on the event loop.

    Measured with py-spy on the first voice note: langdetect's profiles (~1 s), the openai SDK's
    audio and chat resources (imported on first use, ~0.2 s) and phone-number metadata; and
    what start-up deferred (load_deferred).
    """
    import openai.resources.audio
    import openai.resources.chat  # noqa: F401

    from bot.core.language import detect_text_language
    from bot.core.privacy import Vault, mask

    load_deferred(services)

    detect_text_language("warming up the language detector")
    mask("call +44 20 7946 0958 or mail warm@example.com", Vault())
    _warm_voice(services)
    # What start-up loaded lives as long as the process: keep it out of the collector's sight.
    # A full collection then scanned ~300,000 objects, 0.1 s at rest and 0.3-0.45 s with 200
    # turns under way, every so often, with the event loop stopped.
    gc.freeze()


def _warm_voice(services: Services) -> None:
    """The voices' first use, loaded here (the Realtime voice's types and encoder process)."""
    try:
        services.assistant.synthesizer.warm_up()
    except Exception as error:  # a warm-up is a nicety: first use loads what it missed
        log.info("voice not warmed up: %s", error)


@contextlib.asynccontextmanager
async def _live_http(services: Services) -> AsyncIterator[None]:
    """With PUBLIC_URL, polling mode listens on PORT too: the live page, /healthz, /metrics."""
    if not services.settings.public_url:
        yield
        return
    from bot.live.server import polling_http  # aiohttp (~0.1 s): only when it is needed

    async with polling_http(services):
        yield


async def _stop_within(
    application: Application[Any, Any, Any, Any, Any, Any], grace: float
) -> None:
    """Let the answers under way finish for `grace` seconds, then stop them (cleanup bounded).

    python-telegram-bot's own stop waits for every update it fetched, however long that takes.
    """
    stopping = asyncio.ensure_future(application.stop())
    await asyncio.wait({stopping}, timeout=grace)
    processor = application.update_processor
    if not stopping.done() and isinstance(processor, PerUserUpdateProcessor):
        stopped = await processor.stop_all()
        log.warning(
            "stopped %d update(s) unanswered, SHUTDOWN_GRACE_SECONDS after SIGTERM", stopped
        )
    await asyncio.wait({stopping}, timeout=CLEANUP_SECONDS)


async def run_bot(
    settings: Settings, stop: asyncio.Event, *, services: Services | None = None
) -> None:
    """Poll Telegram until `stop` is set; the same code path for `python -m bot` and the tests."""
    from bot.durable.polling import Poller
    from bot.durable.queue import Admission, UpdateQueue

    services = services or await build_services(settings)
    queue = UpdateQueue(
        services.redis.client,
        prefix=settings.redis_prefix,
        admission=Admission.from_settings(settings),
    )
    poller = Poller(queue, settings, services.metrics)
    application = build_application(settings, services, journal=poller)
    try:
        if not await reach_telegram(application.bot, stop, where=settings.telegram_api_url):
            return
        async with application, _live_http(services):
            if settings.metrics_port is not None:
                services.metrics.start_exporter(settings.metrics_port, settings.metrics_host)
            await application.start()
            gc.freeze()  # the imports and services, before the first updates (see _warm_up)
            # Each update is stored (Redis) before getUpdates confirms it, and deleted once
            # answered: a crash loses nothing (bot.durable.polling).
            polling = asyncio.create_task(poller.run(application, stop))
            log.info("bot @%s is polling", application.bot.username)
            # Everything not needed to poll happens after polling started: the command menu,
            # the local speech model, and first-use loading that would stall the first message.
            background = [
                asyncio.create_task(_register_commands(application, settings)),
                asyncio.create_task(services.assistant.listener.load_model()),
                asyncio.create_task(warm_up(services)),
                asyncio.create_task(services.metrics.watch_event_loop()),
            ]
            await asyncio.wait(
                {polling, asyncio.ensure_future(stop.wait())}, return_when=asyncio.FIRST_COMPLETED
            )
            stop.set()
            for task in background:
                task.cancel()
            await polling  # raises what ended polling early (a rejected token, say)
            # Stopped unanswered updates stay in the stream: the next start answers them.
            await _stop_within(application, settings.shutdown_grace_seconds)
    finally:
        services.metrics.stop_exporter()  # frees the port, so a restarted bot can bind it again
        await services.aclose()
