"""Polling that loses nothing: an update is stored in the stream before Telegram is told so.

python-telegram-bot's Updater confirms updates (the next getUpdates' `offset`) as soon as it has
put them in the Application's queue, so a crash mid-answer lost the update being answered and
every one queued behind it. Here getUpdates' offset moves past an update only once the update is
in the Redis Stream of webhook mode (`UpdateQueue.store`: the same deduplication, per-user turns
and flood admission), and the entry is deleted only once its answer was sent. A restart first
answers what the stream still holds, each part at most once (the progress records of
`bot.stores.progress`), then polls again.

The answer itself goes the usual way, through the Application's update queue and
`bot.tg.ordering.PerUserUpdateProcessor`, which asks `answering()` around each update.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from redis.exceptions import RedisError
from telegram import Update
from telegram.error import Conflict, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.config import Settings
from bot.durable.queue import Entry, Stored, UpdateQueue
from bot.metrics import Metrics
from bot.stores import progress
from bot.tg.say import tell_refused

log = logging.getLogger(__name__)

POLL_TIMEOUT_SECONDS = 10
_REDIS_ERRORS = (RedisError, OSError)


class Poller:
    """getUpdates → the stream → the Application; an entry is finished once answered."""

    def __init__(self, queue: UpdateQueue, settings: Settings, metrics: Metrics) -> None:
        """Store into `queue`; nothing runs until `run`."""
        self._queue = queue
        self._settings = settings
        self._metrics = metrics
        self._entries: dict[int, Entry] = {}  # update_id -> its entry, while being answered
        self._unstored: dict[int, asyncio.Event] = {}  # answered without Redis: set when done
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(
        self, application: Application[Any, Any, Any, Any, Any, Any], stop: asyncio.Event
    ) -> None:
        """Answer what a crash left in the stream, then poll until `stop` is set."""
        bot = application.bot
        await bot.delete_webhook()  # as python-telegram-bot does: getUpdates needs none set
        await self._resume(application)
        offset: int | None = None
        delay = 1.0
        while not stop.is_set():
            try:
                updates = await _unless_stopped(
                    bot.get_updates(
                        offset=offset,
                        timeout=POLL_TIMEOUT_SECONDS,
                        allowed_updates=Update.ALL_TYPES,
                    ),
                    stop,
                )
            except RetryAfter as error:
                await _sleep_unless_stopped(_seconds(error.retry_after), stop)
                continue
            except (Conflict, NetworkError) as error:
                log.warning("getUpdates failed, trying again in %.0f s: %s", delay, error)
                await _sleep_unless_stopped(delay, stop)
                delay = min(delay * 2, 60.0)
                continue
            except Exception:  # an answer python-telegram-bot cannot read: as its Updater does
                log.exception("getUpdates answered something unreadable; trying again")
                await _sleep_unless_stopped(delay, stop)
                delay = min(delay * 2, 60.0)
                continue
            delay = 1.0
            if updates:
                await self._store_all(application, updates, stop)
                offset = updates[-1].update_id + 1  # confirmed with the next getUpdates
        for task in list(self._tasks):
            task.cancel()  # what they did not finish stays stored, for the next start
        if offset is not None:  # confirm what was stored, so a restart is not sent it again
            with contextlib.suppress(TelegramError):
                await bot.get_updates(offset=offset, timeout=0)

    async def _answer_unstored(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        update: Update,
        stop: asyncio.Event,
    ) -> None:
        """Redis cannot keep it: answer it now, and let getUpdates confirm it once answered.

        The answer is most likely the short "my memory store is not answering".
        """
        answered = self._unstored[update.update_id] = asyncio.Event()
        application.update_queue.put_nowait(update)
        await _unless_stopped(answered.wait(), stop)

    async def _store_all(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        updates: tuple[Update, ...],
        stop: asyncio.Event,
    ) -> None:
        """Store a getUpdates answer (one round trip) and hand each update on."""
        try:
            results = await self._queue.store_many([u.to_dict() for u in updates])
        except _REDIS_ERRORS as error:
            log.warning("%d update(s) not stored at once: %s", len(updates), error)
            for update in updates:  # one by one: each answered now when Redis cannot keep it
                if not await self._store_again(application, update):
                    await self._answer_unstored(application, update, stop)
            return
        for update, stored in zip(updates, results, strict=True):
            self._handle(application, update, stored)

    def _handle(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        update: Update,
        stored: Stored,
    ) -> None:
        if stored.refused:
            self._metrics.count_refused(stored.refused)
        if stored.entry is not None:
            self._hand_on(application, stored.entry, update)

    async def _store_again(
        self, application: Application[Any, Any, Any, Any, Any, Any], update: Update
    ) -> bool:
        """After a failed batch: store one update; False when Redis cannot take it.

        The failed batch may have stored it already: then it is in the stream, to hand on.
        """
        try:
            stored = await self._queue.store(update.to_dict())
            if not stored.stored and not stored.refused:
                for entry in await self._queue.unfinished():
                    if entry.update_id == update.update_id:
                        stored = Stored(True, entry.refused, entry)
        except _REDIS_ERRORS as error:
            log.warning("update %s not stored: %s", update.update_id, error)
            self._metrics.count_error("queue_store")
            return False
        if stored.entry is None or stored.entry.update_id not in self._entries:
            self._handle(application, update, stored)
        return True

    async def _resume(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """The updates a stopped or crashed run stored and did not finish, oldest first."""
        while True:
            try:
                entries = await self._queue.unfinished()
                break
            except _REDIS_ERRORS as error:
                log.warning("cannot read the stored updates yet: %s", error)
                await asyncio.sleep(1.0)
        if entries:
            log.info("answering %d update(s) stored before the restart", len(entries))
        for entry in entries:
            try:
                update = Update.de_json(json.loads(entry.payload), application.bot)
            except Exception as error:  # whatever the parser raises on a shape it does not know
                log.error("stored update %s unreadable (%s); dropped", entry.update_id, error)
                await self._finish(entry)
                continue
            self._hand_on(application, entry, update)

    def _hand_on(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        entry: Entry,
        update: Update,
    ) -> None:
        if entry.refused:
            task = asyncio.create_task(self._tell_refused(entry, update))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        self._entries[entry.update_id] = entry
        application.update_queue.put_nowait(update)

    async def _tell_refused(self, entry: Entry, update: Update) -> None:
        try:
            await tell_refused(update, entry.refused, self._settings)
        except TelegramError as error:
            log.warning("could not tell a flooding user: %s", error)
        await self._finish(entry)

    @contextlib.asynccontextmanager
    async def answering(self, update: object) -> AsyncIterator[None]:
        """Around one update's answer: its progress record; once answered, its entry finished.

        Left unfinished when the answer is interrupted (shutdown, crash): the next start
        answers it again and sends only the parts not sent yet.
        """
        update_id = update.update_id if isinstance(update, Update) else None
        unstored = self._unstored.pop(update_id, None) if update_id is not None else None
        entry = self._entries.get(update_id) if update_id is not None else None
        if entry is None:
            try:
                yield
            finally:
                if unstored is not None:
                    unstored.set()
            return
        record = progress.Progress(
            self._queue.client, self._queue.progress_key(entry.update_id), resumable=False
        )
        # Nothing awaited before the answer starts: the user's turn is taken in arrival order.
        token = progress.current.set(record)
        try:
            yield
        finally:
            progress.current.reset(token)
        self._entries.pop(entry.update_id, None)
        try:
            await self._queue.finish("polling", entry)
        except _REDIS_ERRORS:
            # In the background: an answer sent while Redis is away is finished once it is back.
            task = asyncio.create_task(self._finish(entry))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _finish(self, entry: Entry) -> None:
        """Mark it answered and delete it, waiting for a Redis that restarts.

        Stopped before that, the update stays stored and the next start sends what its
        progress record does not show as sent.
        """
        delay, warned = 0.1, False
        while True:
            try:
                await self._queue.finish("polling", entry)
                return
            except _REDIS_ERRORS as error:
                if not warned:
                    log.warning(
                        "update %s answered; marked so once Redis is back: %s",
                        entry.update_id,
                        error,
                    )
                    warned = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)


def _seconds(value: Any) -> float:
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)


async def _unless_stopped(call: Any, stop: asyncio.Event) -> Any:
    """The call's result, or None as soon as `stop` is set (the call is then cancelled)."""
    task = asyncio.ensure_future(call)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TelegramError):
            await task
        return None
    return task.result()


async def _sleep_unless_stopped(seconds: float, stop: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
