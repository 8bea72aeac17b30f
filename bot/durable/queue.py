"""The update queue: one Redis Stream, one consumer group, and a few atomic steps in Lua.

Why a stream: XADD is durable as soon as Redis has it (AOF), a consumer group gives every entry
to one worker at a time and keeps it pending until XACK, and XAUTOCLAIM hands the entries of a
dead worker to a live one. Everything that must change together (store + deduplicate + number
the user's turn; mark done + advance the turn + XACK) is one Lua script, so a crash or a Redis
restart never leaves half of it.

Per-user order across workers: the receiver numbers each user's updates (a turn counter in
Redis) as it stores them, in the order Telegram delivered them; a worker answers turn n only
after turn n-1 is finished (answered, parked or skipped) wherever it ran.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError
from telegram import Update

from bot.stores.redis import as_text

log = logging.getLogger(__name__)

GROUP = "workers"
SEEN_TTL_SECONDS = 2 * 24 * 3600  # Telegram keeps an undelivered update for 24 h
TURNS_TTL_SECONDS = 30 * 24 * 3600
# A turn that never comes (its update lost with a Redis that had no AOF) must not block a
# user forever; this is far longer than any answer plus its takeovers.
MAX_TURN_WAIT_SECONDS = 900.0

# KEYS: seen, stream, turns. ARGV: seen ttl, update json, update id, user taking a turn
# ('' = none: no user, or /cancel), turns ttl, received-at (ms), user ('' = none).
_STORE = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local turn = 0
if ARGV[4] ~= '' then
  turn = redis.call('HINCRBY', KEYS[3], 'next', 1)
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
redis.call('XADD', KEYS[2], '*', 'update', ARGV[2], 'id', ARGV[3], 'user', ARGV[7],
  'turn', turn, 'at', ARGV[6])
return 1
"""

# KEYS: stream, done, turns, attempts, progress. ARGV: group, entry id, turn, done ttl, turns ttl.
_FINISH = """
redis.call('SET', KEYS[2], '1', 'EX', ARGV[4])
local turn = tonumber(ARGV[3])
if turn > 0 then
  local done = tonumber(redis.call('HGET', KEYS[3], 'done') or '0')
  if turn > done then redis.call('HSET', KEYS[3], 'done', turn) end
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
redis.call('DEL', KEYS[4], KEYS[5])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
"""

# KEYS: stream. ARGV: group, consumer, entry ids... Returns the ids no longer ours.
_HEARTBEAT = """
local lost = {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
"""

# KEYS: stream, attempts. ARGV: group, consumer, entry id, undo attempt (0/1), fields...
_HAND_BACK = """
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if not (p[1] and p[1][2] == ARGV[2]) then return 0 end
local fields = {}
for i = 5, #ARGV do table.insert(fields, ARGV[i]) end
redis.call('XADD', KEYS[1], '*', unpack(fields))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
if ARGV[4] == '1' and tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then
  redis.call('DECR', KEYS[2])
end
return 1
"""


@dataclass
class Entry:
    """One stored update as a worker holds it."""

    entry_id: str
    update_id: int
    payload: str
    user: int | None
    turn: int
    received_at: float
    claimed: bool = False
    # Why the entry itself cannot be read (then it is parked as it was stored, never answered).
    unreadable: str | None = None
    stored: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_stream(cls, entry_id: bytes | str, fields: dict[bytes, bytes]) -> Entry:
        """Decode an entry as XREADGROUP/XAUTOCLAIM return it; a damaged one is marked unreadable.

        Never raises: one bad entry must not stop a worker's reader or claimer.
        """
        values = {as_text(k): as_text(v) for k, v in fields.items()}
        try:
            user = values.get("user") or ""
            return cls(
                entry_id=as_text(entry_id),
                update_id=int(values["id"]),
                payload=values["update"],
                user=int(user) if user else None,
                turn=int(values.get("turn") or 0),
                received_at=int(values.get("at") or 0) / 1000,
            )
        except (KeyError, ValueError) as error:
            reason = f"unreadable entry: {type(error).__name__} {error}"[:200]
            return cls(as_text(entry_id), -1, "", None, 0, 0.0, unreadable=reason, stored=values)

    def fields(self) -> list[str]:
        """The entry's fields, flat, to store it again (a damaged one as it was)."""
        if self.unreadable is not None:
            return [text for pair in self.stored.items() for text in pair]
        return [
            *("update", self.payload, "id", str(self.update_id)),
            *("user", "" if self.user is None else str(self.user), "turn", str(self.turn)),
            *("at", str(int(self.received_at * 1000))),
        ]


def consumer_name() -> str:
    """A name no other worker has, readable in XINFO: host, pid and a random tail."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def describe_update(data: dict[str, Any]) -> tuple[int | None, bool]:
    """(the user whose turn this is, whether it is /cancel, which must not wait its turn).

    An update python-telegram-bot cannot read has no turn; it is stored all the same (a 5xx
    would make Telegram send it forever) and the worker parks it.
    """
    try:
        update = Update.de_json(data)
    except Exception:  # whatever the parser raises on a shape it does not know
        log.warning("update %s is not readable; stored without a turn", data.get("update_id"))
        return None, False
    if not has_numeric_ids(update):
        log.warning(
            "update %s has ids that are not numbers; stored without a turn", update.update_id
        )
        return None, False
    user = update.effective_user.id if update.effective_user else None
    return user, is_cancel(update)


def has_numeric_ids(update: Update) -> bool:
    """Whether its sender and chat ids are whole numbers, as Telegram sends them ("abc" is not)."""
    ids = [who.id for who in (update.effective_user, update.effective_chat) if who is not None]
    return all(type(i) is int for i in ids)


def is_cancel(update: Update) -> bool:
    """Whether the update is /cancel (also /cancel@bot and /cancel with words after it)."""
    message = update.effective_message
    text = (message.text or "") if message else ""
    return text.split("@")[0].split(" ")[0].lower() == "/cancel"


class UpdateQueue:
    """The stream of updates under REDIS_PREFIX, shared by every web and worker process."""

    def __init__(self, client: aioredis.Redis, *, prefix: str) -> None:
        """Name the keys; nothing is sent to Redis until a method is called."""
        self._client = client
        self._prefix = prefix
        self.stream = f"{prefix}updates"
        self.dead = f"{prefix}updates:parked"
        self._store = client.register_script(_STORE)
        self._finish = client.register_script(_FINISH)
        self._heartbeat = client.register_script(_HEARTBEAT)
        self._hand_back = client.register_script(_HAND_BACK)

    def _key(self, kind: str, update_id: int) -> str:
        return f"{self._prefix}update:{kind}:{update_id}"

    def _turns(self, user: int | None) -> str:
        return f"{self._prefix}turns:{'' if user is None else user}"

    async def ensure_group(self) -> None:
        """Create the stream and its group, reading from the start.

        Entries never get lost because a web process stored them before the first worker came up.
        """
        try:
            await self._client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    # ---- the receiver's side ---------------------------------------------------------------

    async def store(self, data: dict[str, Any]) -> bool:
        """Store one update (True), or recognise a duplicate delivery (False)."""
        update_id = int(data["update_id"])
        user, cancel = describe_update(data)
        turn_user = None if cancel else user
        stored = await self._store(
            keys=[self._key("seen", update_id), self.stream, self._turns(turn_user)],
            args=[
                SEEN_TTL_SECONDS,
                json.dumps(data, separators=(",", ":"), ensure_ascii=False),
                update_id,
                "" if turn_user is None else turn_user,
                TURNS_TTL_SECONDS,
                int(time.time() * 1000),
                "" if user is None else user,
            ],
        )
        return bool(stored)

    # ---- the worker's side -----------------------------------------------------------------

    async def read(self, consumer: str, count: int, block_ms: int) -> list[Entry]:
        """New entries for this consumer (waits up to `block_ms` for the first)."""
        try:
            reply: Any = await self._client.xreadgroup(
                GROUP, consumer, {self.stream: ">"}, count=count, block=block_ms
            )
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            await self.ensure_group()  # Redis lost its data (no AOF): start again
            return []
        return [Entry.from_stream(i, f) for _, items in reply or [] for i, f in items if f]

    async def claim(self, consumer: str, min_idle_seconds: float, count: int = 50) -> list[Entry]:
        """Take over entries that another worker has held, silent, for `min_idle_seconds`."""
        entries: list[Entry] = []
        start = "0-0"
        while True:
            reply: Any = await self._client.xautoclaim(
                self.stream, GROUP, consumer, int(min_idle_seconds * 1000), start, count=count
            )
            start, items = as_text(reply[0]), reply[1]
            for entry_id, fields in items:
                if fields:
                    entry = Entry.from_stream(entry_id, fields)
                    entry.claimed = True
                    entries.append(entry)
            deleted = reply[2] if len(reply) > 2 else []
            if deleted:  # finished elsewhere, still listed as pending: forget them
                await self._client.xack(self.stream, GROUP, *deleted)
            if start == "0-0" or len(entries) >= count:
                return entries

    async def keep(self, consumer: str, entry_ids: list[str]) -> list[str]:
        """Tell the group these entries are still being worked on.

        Returns the ones that another worker took over meanwhile.
        """
        if not entry_ids:
            return []
        lost = await self._heartbeat(keys=[self.stream], args=[GROUP, consumer, *entry_ids])
        return [as_text(i) for i in lost]

    async def is_done(self, update_id: int) -> bool:
        """Whether this update was answered already (by any worker)."""
        return bool(await self._client.exists(self._key("done", update_id)))

    async def begin_attempt(self, update_id: int) -> int:
        """Count one more attempt at this update (also across crashed workers)."""
        key = self._key("attempts", update_id)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, SEEN_TTL_SECONDS)
            count, _ = await pipe.execute()
        return int(count)

    async def wait_turn(self, entry: Entry) -> None:
        """Return once every earlier update of the same user is finished."""
        if not entry.turn:
            return
        delay, started = 0.02, time.monotonic()
        while True:
            done = await self._client.hget(self._turns(entry.user), "done")
            if int(done or 0) >= entry.turn - 1:
                return
            if time.monotonic() - started > MAX_TURN_WAIT_SECONDS:
                log.warning("update %s: the turn before it never ended; answering", entry.update_id)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    async def finish(self, consumer: str, entry: Entry) -> None:
        """The update is answered (or parked, or skipped): mark it, pass the turn, XACK."""
        await self._finish(
            keys=[
                self.stream,
                self._key("done", entry.update_id),
                self._turns(entry.user if entry.turn else None),
                self._key("attempts", entry.update_id),
                self._key("progress", entry.update_id),
            ],
            args=[GROUP, entry.entry_id, entry.turn, SEEN_TTL_SECONDS, TURNS_TTL_SECONDS],
        )

    async def hand_back(self, consumer: str, entry: Entry, *, started: bool) -> bool:
        """Give an entry to the other workers now, as a new entry; its turn number keeps its place.

        Returns False when it was no longer ours.
        """
        result = await self._hand_back(
            keys=[self.stream, self._key("attempts", entry.update_id)],
            args=[GROUP, consumer, entry.entry_id, "1" if started else "0", *entry.fields()],
        )
        return bool(result)

    async def park(self, entry: Entry, reason: str) -> None:
        """Keep a poison update for the operator, in the parked stream (then `finish` it)."""
        await self._client.xadd(self.dead, {**dict(_pairs(entry.fields())), "reason": reason})

    def progress_key(self, update_id: int) -> str:
        """Where the parts already sent for this update are recorded."""
        return self._key("progress", update_id)

    # ---- numbers for metrics and tests -----------------------------------------------------

    async def stats(self) -> QueueStats:
        """Entries not yet finished, how old the oldest is, pending and parked counts."""
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.xlen(self.stream)
            pipe.xrange(self.stream, count=1)
            pipe.xlen(self.dead)
            replies: list[Any] = await pipe.execute()
        length, first, parked = replies
        pending = 0
        try:
            summary = await self._client.xpending(self.stream, GROUP)
            pending = int(summary["pending"])
        except ResponseError:
            pass  # no group yet
        oldest = 0.0
        if first and (head := Entry.from_stream(*first[0])).unreadable is None:
            oldest = max(0.0, time.time() - head.received_at)
        return QueueStats(int(length), pending, oldest, int(parked))


@dataclass(frozen=True)
class QueueStats:
    """A snapshot of the queue."""

    length: int
    pending: int
    oldest_seconds: float
    parked: int


def _pairs(flat: list[str]) -> list[tuple[str, str]]:
    return list(zip(flat[::2], flat[1::2], strict=True))
