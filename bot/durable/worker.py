"""A worker: takes stored updates from the stream and answers them through the PTB Application.

Each update goes to `application.process_update`, so the handlers are the same as in polling
mode. The entry stays pending in the consumer group until its answer was sent; a heartbeat keeps
it ours while we work (XCLAIM to ourselves resets its idle time), so only a worker that went
silent for WORKER_CLAIM_SECONDS loses its entries to the others (XAUTOCLAIM).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, ApplicationHandlerStop

from bot.config import Settings
from bot.durable.cancel import CancelBus, SharedTurns
from bot.durable.queue import Entry, UpdateQueue, consumer_name, has_numeric_ids, is_cancel
from bot.durable.receiver import report_queue
from bot.durable.supervise import Duties
from bot.i18n import t
from bot.stores import progress
from bot.tasks import cancel_within, cancelling
from bot.tg.context import BotContext

log = logging.getLogger(__name__)

READ_BLOCK_MS = 500
HAND_BACK_TIMEOUT_SECONDS = 2.0
REPORT_SECONDS = 2.0
_QUEUE_ERRORS = (RedisError, OSError)


@dataclass
class _Attempt:
    """One run of the handlers for one update; the errors they raised."""

    last: bool
    errors: list[BaseException] = field(default_factory=list)


_attempt: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar(
    "worker_attempt", default=None
)


@dataclass
class _Held:
    entry: Entry
    task: asyncio.Task[None] | None = None
    started: bool = False  # the handlers ran (so an attempt was counted)


class Worker:
    """Answers stored updates, any number of them at once, each user's in order."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        queue: UpdateQueue,
        settings: Settings,
    ) -> None:
        """Work for `application` (built by bot.app.build_application) on `queue`."""
        self._app = application
        self._queue = queue
        self._settings = settings
        self._services = application.bot_data["services"]
        self._client = self._services.redis.client
        self._metrics = self._services.metrics
        self.consumer = consumer_name()
        self._held: dict[str, _Held] = {}
        self._changed = asyncio.Event()
        self.duties = Duties(on_failure=lambda name: self._metrics.count_error("worker_duty"))
        # /cancel must reach the answer wherever it runs; handlers keep calling turns.cancel.
        turns = SharedTurns()
        self._services.turns = turns
        self._cancels = CancelBus(self._client, turns, prefix=settings.redis_prefix)
        self._install_error_handler()

    def _install_error_handler(self) -> None:
        # Ours must run before bot.tg.errors.on_error: it decides whether the user gets the
        # apology now (last attempt) or the update is simply tried again.
        others = dict(self._app.error_handlers)
        self._app.error_handlers.clear()
        self._app.add_error_handler(self._on_error)
        self._app.error_handlers.update(others)

    # ---- the loop --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then finish or hand back what is held."""
        await self._queue.ensure_group()
        log.info("worker %s reading %s", self.consumer, self._queue.stream)
        keep = self.duties.keep
        # The heartbeat runs until everything held is handed back: an entry left silent for
        # WORKER_CLAIM_SECONDS during the grace period would be taken over mid-answer.
        heartbeat = asyncio.create_task(keep("heartbeat", self._keep_alive))
        background = [
            asyncio.create_task(keep("claimer", self._claim_forever)),
            asyncio.create_task(keep("queue report", self._report_forever)),
            asyncio.create_task(keep("cancel listener", self._cancels.listen)),
        ]
        try:
            await keep("reader", lambda: self._read_until(stop))
        finally:
            # Bounded: a loop that lost its cancellation inside a Redis call must not hold the
            # hand-back (it ends at its next check of `cancelling`, or with the process).
            await cancel_within(background)
            try:
                await self._shut_down()
            finally:
                await cancel_within([heartbeat])

    async def _read_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            free = self._settings.worker_concurrency - len(self._held)
            if free <= 0:
                await self._wait(stop, 1.0, self._changed)
                continue
            try:
                entries = await self._read_unless_stopped(free, stop)
            except _QUEUE_ERRORS as error:
                log.warning("queue unreachable: %s", error)
                await self._wait(stop, 1.0)
                continue
            for entry in entries:
                self._start(entry)

    async def _read_unless_stopped(self, count: int, stop: asyncio.Event) -> list[Entry]:
        # A Redis that hangs (paused, overloaded) must not keep SIGTERM from being seen. An
        # entry read just as we stop stays pending and is claimed by another worker.
        read = asyncio.ensure_future(self._queue.read(self.consumer, count, READ_BLOCK_MS))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({read, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not read.done():
            read.cancel()
            return []
        return read.result()

    def _start(self, entry: Entry) -> None:
        if entry.entry_id in self._held:
            return
        held = _Held(entry)
        self._held[entry.entry_id] = held
        held.task = asyncio.create_task(self._handle(held))

    async def _wait(self, stop: asyncio.Event, seconds: float, *more: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(e.wait()) for e in (stop, *more)]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            self._changed.clear()

    async def _shut_down(self) -> None:
        """On SIGTERM, hand back what has not started and let the rest finish in the grace period.

        What is still running after it is handed back too (a takeover resumes it). Nothing here
        waits unbounded: a cancelled answer gets CLEANUP_SECONDS for its `finally` blocks, and
        all hand-backs together HAND_BACK_TIMEOUT_SECONDS, so the worker is gone about
        SHUTDOWN_GRACE_SECONDS + 3 s after SIGTERM, on a busy machine too.
        """
        await self._give_back([h for h in self._held.values() if not h.started])
        running = [h.task for h in self._held.values() if h.task is not None]
        if running:
            log.info("finishing %d answer(s) before exiting", len(running))
            await asyncio.wait(running, timeout=self._settings.shutdown_grace_seconds)
        await self._give_back(list(self._held.values()))
        log.info("worker %s stopped", self.consumer)

    async def _give_back(self, held: list[_Held]) -> None:
        """Stop these answers (their cleanup bounded) and give their updates to other workers."""
        still = await cancel_within(h.task for h in held if h.task is not None)
        if still:
            log.warning("%d answer(s) still cleaning up; handing them back anyway", len(still))
        for one in held:
            self._held.pop(one.entry.entry_id, None)
        await asyncio.gather(*(self._hand_back(one) for one in held))

    async def _hand_back(self, held: _Held) -> None:
        try:
            hand_back = self._queue.hand_back(self.consumer, held.entry, started=held.started)
            if await asyncio.wait_for(hand_back, HAND_BACK_TIMEOUT_SECONDS):
                log.info("update %s handed back to the other workers", held.entry.update_id)
            else:
                log.info("update %s was already taken over", held.entry.update_id)
        except (*_QUEUE_ERRORS, TimeoutError) as error:  # claimed after WORKER_CLAIM_SECONDS
            log.warning("update %s left pending: %r", held.entry.update_id, error)

    # ---- background duties -----------------------------------------------------------------

    async def _keep_alive(self) -> None:
        """Reset the idle time of held entries, well within WORKER_CLAIM_SECONDS."""
        interval = max(0.05, self._settings.worker_claim_seconds / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                lost = await self._queue.keep(self.consumer, list(self._held))
            except _QUEUE_ERRORS as error:
                if cancelling():
                    raise asyncio.CancelledError from error
                log.warning("heartbeat failed: %s", error)
                continue
            for entry_id in lost:
                held = self._held.pop(entry_id, None)
                if held is not None and held.task is not None:
                    log.warning("update %s was taken over by another worker", held.entry.update_id)
                    held.task.cancel()

    async def _claim_forever(self) -> None:
        """Take over the entries of workers that went silent."""
        claim_seconds = self._settings.worker_claim_seconds
        interval = max(0.05, claim_seconds / 2)
        while True:
            await asyncio.sleep(interval)
            free = self._settings.worker_concurrency - len(self._held)
            if free <= 0:
                continue
            try:
                entries = await self._queue.claim(self.consumer, claim_seconds, count=free)
            except _QUEUE_ERRORS as error:
                if cancelling():
                    raise asyncio.CancelledError from error
                log.warning("claiming failed: %s", error)
                continue
            for entry in entries:
                if entry.entry_id not in self._held:
                    log.info("update %s taken over from a silent worker", entry.update_id)
                    self._metrics.count_queue("claim")
                    self._start(entry)

    async def _report_forever(self) -> None:
        # For the METRICS_PORT exporter, which cannot ask Redis when it is scraped.
        while not cancelling():  # report_queue may take a cancellation for a Redis error
            await report_queue(self._queue, self._metrics)
            await asyncio.sleep(REPORT_SECONDS)

    # ---- one update ------------------------------------------------------------------------

    async def _handle(self, held: _Held) -> None:
        entry = held.entry
        try:
            await self._answer(held)
        except asyncio.CancelledError:
            raise
        except _QUEUE_ERRORS as error:
            # Left pending: this or another worker claims it after WORKER_CLAIM_SECONDS and
            # the progress record keeps what was already sent from being sent again.
            log.warning("update %s interrupted by Redis: %s", entry.update_id, error)
        except Exception:
            log.exception("update %s: the worker failed; it stays pending", entry.update_id)
        finally:
            if self._held.get(entry.entry_id) is held:
                del self._held[entry.entry_id]
            self._changed.set()

    async def _answer(self, held: _Held) -> None:
        entry, queue = held.entry, self._queue
        if entry.unreadable is not None:  # retrying cannot make it readable
            await self._park_unreadable(entry, entry.unreadable)
            return
        if await queue.is_done(entry.update_id):
            await self._finish(entry)
            return
        await queue.wait_turn(entry)
        held.started = True
        try:
            update = Update.de_json(json.loads(entry.payload), self._app.bot)
            if not has_numeric_ids(update):
                raise ValueError("a sender or chat id that is not a number")
        except Exception as error:  # retrying cannot make it readable
            await self._park_unreadable(entry, f"unreadable: {type(error).__name__} {error}"[:200])
            return
        max_attempts = self._settings.worker_max_attempts
        attempt = await queue.begin_attempt(entry.update_id)
        if attempt > 1:
            self._metrics.count_queue("redelivery")
        if attempt > max_attempts:  # it brought down the workers that tried it
            await self._park(entry, update, f"{attempt - 1} attempts ended without an answer")
            return
        if self._is_stale(update):  # counted too: a note that keeps failing is parked as well
            await self._answer_stale(update, entry)
            return
        while errors := await self._process(update, entry, last=attempt >= max_attempts):
            if attempt >= max_attempts:
                reason = f"failed {attempt} times, last: {type(errors[-1]).__name__}"
                await self._park(entry, update, reason, apologise=False)
                return
            await asyncio.sleep(min(0.5 * 2**attempt, 10.0))
            attempt = await queue.begin_attempt(entry.update_id)
            self._metrics.count_queue("redelivery")
        await self._finish(entry)

    async def _process(self, update: Update, entry: Entry, *, last: bool) -> list[BaseException]:
        """Run the handlers once; returns the errors they raised (none: answered)."""
        attempt = _Attempt(last=last)
        attempt_token = _attempt.set(attempt)
        record = progress.Progress(self._client, self._queue.progress_key(entry.update_id))
        progress_token = progress.current.set(record)
        try:
            if entry.user is not None and not entry.turn and is_cancel(update):
                await self._cancels.stop_elsewhere(entry.user)
            coroutine = self._app.process_update(update)
            if entry.user is not None and entry.turn:
                # Through the per-user turns of bot.tg.ordering, so /cancel can stop it here.
                await self._services.turns.run(entry.user, coroutine)
            else:
                await coroutine
        finally:
            progress.current.reset(progress_token)
            _attempt.reset(attempt_token)
        return attempt.errors

    async def _on_error(self, update: object, context: BotContext) -> None:
        """First error handler: before the last attempt, retry instead of apologising."""
        attempt = _attempt.get()
        error = context.error
        if attempt is None or error is None:
            return
        if isinstance(error, Forbidden):  # the user blocked the bot: nothing to retry
            log.info("update dropped: %s", error.message)
            raise ApplicationHandlerStop
        attempt.errors.append(error)
        if not attempt.last:
            log.warning("update failed (%s); trying it again", type(error).__name__)
            raise ApplicationHandlerStop

    async def _finish(self, entry: Entry) -> None:
        """Mark the update answered and acknowledge it, retrying while Redis is away."""
        deadline = time.monotonic() + max(30.0, self._settings.worker_claim_seconds)
        delay = 0.1
        while True:
            try:
                await self._queue.finish(self.consumer, entry)
                return
            except _QUEUE_ERRORS:
                if time.monotonic() > deadline or cancelling():
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _park(
        self, entry: Entry, update: Update, reason: str, apologise: bool = True
    ) -> None:
        """Set a poison update aside for the operator, tell its user, and move on."""
        log.error("update %s parked in %s: %s", entry.update_id, self._queue.dead, reason)
        await self._queue.park(entry, reason)
        self._metrics.count_queue("parked")
        if apologise and update.effective_chat is not None:
            language = update.effective_user.language_code if update.effective_user else None
            try:
                await self._app.bot.send_message(update.effective_chat.id, t("apology", language))
            except TelegramError:
                log.warning("could not send the apology for a parked update")
        await self._finish(entry)

    async def _park_unreadable(self, entry: Entry, reason: str) -> None:
        log.error("entry %s (update %s) parked: %s", entry.entry_id, entry.update_id, reason)
        await self._queue.park(entry, reason)
        self._metrics.count_queue("parked")
        await self._finish(entry)

    def _is_stale(self, update: Update) -> bool:
        limit = self._settings.max_update_age_seconds
        message = update.effective_message
        if limit is None or message is None or message.date is None:
            return False
        return (datetime.now(UTC) - message.date).total_seconds() > limit

    async def _answer_stale(self, update: Update, entry: Entry) -> None:
        """After downtime: a short note instead of a full answer (or nothing, when skipping)."""
        log.info("update %s is older than MAX_UPDATE_AGE_SECONDS", entry.update_id)
        message = update.effective_message
        if self._settings.stale_updates == "note" and message is not None:
            language = update.effective_user.language_code if update.effective_user else None
            record = progress.Progress(self._client, self._queue.progress_key(entry.update_id))
            token = progress.current.set(record)
            try:
                if not await progress.already_sent("stale"):
                    await message.reply_text(t("stale_update", language), do_quote=True)
                    await progress.record_sent("stale")
            finally:
                progress.current.reset(token)
        await self._finish(entry)
