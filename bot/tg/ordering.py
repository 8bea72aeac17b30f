"""One answer in flight per user, in arrival order; /cancel jumps the queue and stops it."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.tasks import cancel_within


def _user_id(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_user:
        return update.effective_user.id
    return None


def _is_cancel(update: object) -> bool:
    if not isinstance(update, Update) or not update.effective_message:
        return False
    text = update.effective_message.text or ""
    return text.split("@")[0].split(" ")[0].lower() == "/cancel"


class UserTurns:
    """Per-user locks (FIFO, so messages are answered in order) and the task answering now.

    A user's lock lives only while an update of theirs is queued or running, so the table holds
    the users being answered now, not everyone seen since the start.
    """

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._pending: Counter[int] = Counter()  # updates queued or running, per user
        self._running: dict[int, asyncio.Task[Any]] = {}

    @property
    def busy_users(self) -> int:
        """How many users have an update queued or running."""
        return len(self._locks)

    def cancel(self, user_id: int) -> bool:
        """Stop the answer in progress for this user; False when there is none."""
        task = self._running.get(user_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    async def run(self, user_id: int, coroutine: Awaitable[Any]) -> None:
        """Run the user's next update after the ones before it; a /cancel ends it quietly."""
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        self._pending[user_id] += 1
        try:
            async with lock:
                await self._run_now(user_id, coroutine)
        finally:
            self._pending[user_id] -= 1
            if not self._pending[user_id]:  # nobody waits on this lock any more
                del self._pending[user_id], self._locks[user_id]

    async def _run_now(self, user_id: int, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._running[user_id] = task
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:  # the application is shutting down
            # Its cleanup (a lock released, a record written) ends before this turn is handed
            # on, unless it takes longer than a shutdown can wait.
            await cancel_within([task])
            raise
        finally:
            if self._running.get(user_id) is task:
                del self._running[user_id]
        if not task.cancelled():
            task.result()


# The longest an update waits for the process's warm-up (it takes ~0.25 s).
WARM_UP_WAIT = 5.0


class Pacer:
    """Lets at most `per_turn` callers through per turn of the event loop; the rest next turn.

    python-telegram-bot starts a task for each update of a getUpdates answer (up to 100) at
    once, and their first steps all ran in one turn of the loop: 146 ms measured for 104 voice
    notes, during which nobody else's answer moved.
    """

    def __init__(self, per_turn: int = 16) -> None:
        """Admit `per_turn` callers per loop turn."""
        self.per_turn = per_turn
        self._admitted = 0
        self._next_turn: asyncio.Event | None = None

    async def turn(self) -> None:
        """Return in this turn of the loop if there is room, else in a later one."""
        while self._admitted >= self.per_turn:
            if self._next_turn is None:
                self._next_turn = asyncio.Event()
            await self._next_turn.wait()
        self._admitted += 1
        if self._admitted == 1:  # the first of this turn: count again from the next one
            asyncio.get_running_loop().call_soon(self._reset)

    def _reset(self) -> None:
        self._admitted = 0
        if self._next_turn is not None:
            self._next_turn.set()
            self._next_turn = None


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across users, sequential within one user, a few new updates per loop turn."""

    def __init__(
        self,
        turns: UserTurns,
        max_concurrent_updates: int = 256,
        *,
        ready: asyncio.Event | None = None,
    ) -> None:
        """Order by `turns`; once `ready` is set (or WARM_UP_WAIT passed), updates begin."""
        super().__init__(max_concurrent_updates)
        self.turns = turns
        self.pacer = Pacer()
        self.ready = ready
        self._updates: set[asyncio.Task[Any]] = set()  # answering or queued behind their user
        self._stopped = False

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Queue the update behind the same user's earlier ones (/cancel runs at once)."""
        if self._stopped:  # fetched before the stop and never begun: not begun now either
            if asyncio.iscoroutine(coroutine):
                coroutine.close()
            return
        task = asyncio.current_task()
        if task is not None:
            self._updates.add(task)
            task.add_done_callback(self._updates.discard)
        if self.ready is not None and not self.ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ready.wait(), WARM_UP_WAIT)
        await self.pacer.turn()
        user_id = _user_id(update)
        if user_id is None or _is_cancel(update):
            await coroutine
            return
        await self.turns.run(user_id, coroutine)

    async def stop_all(self) -> int:
        """Stop every update answering or queued now, their cleanup bounded; how many there were."""
        self._stopped = True
        updates = list(self._updates)
        await cancel_within(updates)
        return len(updates)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""
