"""Accounts: the facade the bot calls for users, access, quotas, usage and admin changes.

Each method is one short transaction and returns frozen records, never ORM rows. A database
that is down raises ServiceError("database", ..., retryable=True); the pool pings connections
before use, so the same Accounts works again once the database is back.

Quotas and races: the assistant holds a per-user lock (in Redis, so across processes) from
the quota check until the turn's usage is recorded. A user can therefore run past a limit by
at most the message that crossed it; the next one is refused.

Writes: on SQLite they begin IMMEDIATE and queue on one asyncio lock per process (see
bot.db.engine.make_write_session_factory). A usage row that an outage refuses goes to the
UsageBacklog and is written once the database is back. Usage rows of turns that end together
share one transaction (bot.db.group_commit).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import quota
from bot.core.quota import Limits, Prices, QuotaDecision, QuotaKind, Usage, UsageKind
from bot.db import audit, ledger, users
from bot.db.backlog import Row, UsageBacklog
from bot.db.engine import CONNECTION_ERRORS, error_reason, make_write_session_factory
from bot.db.group_commit import GroupCommit
from bot.db.ledger import DayUsage, PeriodStats
from bot.db.models import User
from bot.db.users import UserRecord
from bot.errors import ServiceError

Access = Literal["ok", "blocked", "not_allowed"]
STATS_PERIODS_DAYS = (1, 7, 30)
# last_seen is refreshed at most this often by messages: a write per message queued 200 people
# who spoke at once behind SQLite's one writer (4.5 s before the last one's turn could start).
SEEN_REFRESH = timedelta(minutes=5)


@dataclass(frozen=True)
class Admission:
    """What a message may do: the sender's record, their access and their quota decision."""

    user: UserRecord
    access: Access
    quota: QuotaDecision
    # What is left of each kind before the tighter cap (None: unlimited, and for admins).
    left: Mapping[QuotaKind, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    """A message's sender, as their user row should now say."""

    user_id: int
    username: str | None
    full_name: str | None
    language: str | None
    now: datetime


@dataclass(frozen=True)
class UsageReport:
    """What /usage shows: usage today and this month, the caps, what is left, when it resets."""

    user_id: int
    exempt: bool
    today: Usage
    month: Usage
    limits: Limits
    remaining: Mapping[QuotaKind, float | None]
    day_resets_at: datetime
    month_resets_at: datetime
    decision: QuotaDecision


@dataclass(frozen=True)
class Stats:
    """What /stats shows: one PeriodStats per rolling window of 1, 7 and 30 days."""

    generated_at: datetime
    periods: tuple[PeriodStats, ...]


class Accounts:
    """Users, access, quotas, the usage ledger and audited admin changes."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        limits: Limits,
        prices: Prices,
        admin_ids: frozenset[int] = frozenset(),
        allowed_ids: frozenset[int] = frozenset(),
        on_backlog: Callable[[int], None] | None = None,
        on_lost: Callable[[int], None] | None = None,
    ) -> None:
        """Keep the session factories, the global policy and the usage backlog."""
        self._sessions = session_factory
        self._write_sessions, serialize = make_write_session_factory(session_factory)
        self._write_lock = asyncio.Lock() if serialize else None
        self.backlog = UsageBacklog(self._insert_rows, on_change=on_backlog, on_lost=on_lost)
        self._rows: GroupCommit[Row, None] = GroupCommit(self._insert_batch)
        self._seen: GroupCommit[Seen, UserRecord] = GroupCommit(self._upsert_seen)
        self.limits = limits
        self.prices = prices
        self.admin_ids = admin_ids
        self.allowed_ids = allowed_ids

    def is_admin(self, user_id: int) -> bool:
        """Whether ADMIN_USER_IDS names this user."""
        return user_id in self.admin_ids

    async def seen(
        self,
        user_id: int,
        *,
        username: str | None = None,
        full_name: str | None = None,
        language: str | None = None,
        now: datetime | None = None,
    ) -> UserRecord:
        """Create or refresh the user; returns the stored record.

        People who write at once share a transaction (bot.db.group_commit).
        """
        return await self._seen.add(Seen(user_id, username, full_name, language, _utc(now)))

    async def _upsert_seen(self, batch: Sequence[Seen]) -> list[UserRecord]:
        async with self._transaction(write=True) as session:
            return [
                users.to_record(
                    await users.upsert_seen(
                        session,
                        seen.user_id,
                        username=seen.username,
                        full_name=seen.full_name,
                        language=seen.language,
                        now=seen.now,
                    )
                )
                for seen in batch
            ]

    async def admit(
        self,
        user_id: int,
        *,
        username: str | None = None,
        full_name: str | None = None,
        language: str | None = None,
        now: datetime | None = None,
    ) -> Admission:
        """The sender's record, access and quota decision for one message, in one read transaction.

        The user row is written only when it is new, changed, or last seen over
        SEEN_REFRESH ago, so people who keep talking cost no write before their answer.
        """
        now = _utc(now)
        day_start, day_end, month_start, _ = quota.period_bounds(now)
        async with self._transaction() as session:
            user = await session.get(User, user_id)
            record = users.to_record(user) if user else None
            today, month = await ledger.user_usage(
                session, user_id, month_start=month_start, day_start=day_start, until=day_end
            )
        if record is None or _stale(record, username, full_name, language, now):
            record = await self.seen(
                user_id, username=username, full_name=full_name, language=language, now=now
            )
        access = self._access_of(user_id, record)
        if self.is_admin(user_id):
            return Admission(record, access, quota.ALLOWED)
        limits = self.limits.merged(record.overrides)
        decision = quota.check(today=today, month=month, limits=limits, now=now)
        left = quota.remaining(today=today, month=month, limits=limits)
        return Admission(record, access, decision, left)

    async def access(self, user_id: int) -> Access:
        """Return "ok", "blocked", or "not_allowed" (an allowlist is set and /allow was not used).

        Only reads: the live page asks it before a session opens; each turn's `admit` still
        decides. Admins are always "ok".
        """
        if self.is_admin(user_id):
            return "ok"
        async with self._transaction() as session:
            user = await session.get(User, user_id)
            record = users.to_record(user) if user else None
        return self._access_of(user_id, record)

    def _access_of(self, user_id: int, user: UserRecord | None) -> Access:
        if self.is_admin(user_id):
            return "ok"
        blocked, allowed = (user.blocked, user.allowed) if user else (False, False)
        if blocked:
            return "blocked"
        if self.allowed_ids and user_id not in self.allowed_ids and not allowed:
            return "not_allowed"
        return "ok"

    async def record_usage(
        self,
        user_id: int,
        *,
        kind: UsageKind,
        model: str | None = None,
        tokens_in: int = 0,
        tokens_out: int = 0,
        voice_seconds: float = 0.0,
        tts_chars: int = 0,
        cache_hit: bool = False,
        cost: float | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Add one event to the ledger; returns False when an outage deferred it to the backlog.

        `cost` defaults to the unit prices applied to the amounts, or 0 for a cache hit; pass
        it to override (for example 0.0 for a local model). `voice_seconds` is voice heard
        (it counts against the voice quota); put spoken output in `tts_chars`.

        Raises:
            ServiceError: the database refused the row for a reason other than an outage.
        """
        if cost is None:
            cost = (
                0.0
                if cache_hit
                else quota.cost_of(
                    self.prices,
                    tokens_in=tokens_in,
                    tokens_out=tokens_out,
                    voice_seconds=voice_seconds,
                    tts_chars=tts_chars,
                )
            )
        row: Row = {
            "user_id": user_id,
            "now": _utc(now),
            "kind": kind,
            "model": model,
            "tokens_in": tokens_in,
            "tokens_out": tokens_out,
            "voice_seconds": voice_seconds,
            "tts_chars": tts_chars,
            "cache_hit": cache_hit,
            "cost": cost,
        }
        try:
            await self._rows.add(row)
        except ServiceError as error:
            if not error.retryable:
                raise
            self.backlog.add(row)
            return False
        return True

    async def aclose(self) -> None:
        """Write what the backlog holds, if the database lets us, before the process ends."""
        await self._rows.aclose()
        await self._seen.aclose()
        await self.backlog.aclose()

    async def _insert_rows(self, rows: Sequence[Row]) -> None:
        async with self._transaction(write=True) as session:
            for row in rows:
                await ledger.insert_event(session, **row)

    async def _insert_batch(self, rows: Sequence[Row]) -> list[None]:
        await self._insert_rows(rows)
        return [None] * len(rows)

    async def usage_report(self, user_id: int, *, now: datetime | None = None) -> UsageReport:
        """Usage today and this month against the user's effective limits."""
        now = _utc(now)
        today, month, limits = await self._usage_and_limits(user_id, now)
        exempt = self.is_admin(user_id)
        _, day_end, _, month_end = quota.period_bounds(now)
        decision = quota.check(today=today, month=month, limits=limits, now=now)
        return UsageReport(
            user_id=user_id,
            exempt=exempt,
            today=today,
            month=month,
            limits=limits,
            remaining=quota.remaining(today=today, month=month, limits=limits),
            day_resets_at=day_end,
            month_resets_at=month_end,
            decision=quota.ALLOWED if exempt else decision,
        )

    async def stats(self, *, now: datetime | None = None) -> Stats:
        """Bot-wide numbers for the last 1, 7 and 30 days."""
        now = _utc(now)
        async with self._transaction() as session:
            periods = [
                await ledger.period_stats(
                    session, days=days, since=now - timedelta(days=days), until=now
                )
                for days in STATS_PERIODS_DAYS
            ]
        return Stats(generated_at=now, periods=tuple(periods))

    async def daily_series(self, *, now: datetime | None = None, days: int = 30) -> list[DayUsage]:
        """Bot-wide usage per UTC day for the last `days` days up to today, zeros included."""
        if days < 1:
            raise ValueError("days must be at least 1")
        first_day = _utc(now).date() - timedelta(days=days - 1)
        async with self._transaction() as session:
            return await ledger.daily_series(session, first_day=first_day, days=days)

    async def find_user(self, ref: str) -> UserRecord | None:
        """A user by numeric id or @username (case-insensitive); None when unknown."""
        async with self._transaction() as session:
            user = await users.find(session, ref)
            return users.to_record(user) if user else None

    async def set_limit(
        self,
        admin_id: int,
        user_id: int,
        key: str,
        value: float | None,
        *,
        now: datetime | None = None,
    ) -> None:
        """Set one per-user limit (`daily_tokens`, ...); 0 = unlimited, None = back to global.

        Raises:
            ValueError: unknown key or negative value.
            LookupError: unknown user.
        """
        if key not in quota.LIMIT_KEYS:
            raise ValueError(f"unknown limit {key!r}")
        if value is not None and value < 0:
            raise ValueError("a limit cannot be negative")
        detail = f"{key}={'default' if value is None else f'{value:.10g}'}"
        await self._admin_change(admin_id, user_id, "set_limit", detail, now, **{key: value})

    async def set_blocked(
        self, admin_id: int, user_id: int, blocked: bool, *, now: datetime | None = None
    ) -> None:
        """Block or unblock a user. Raises LookupError for an unknown user."""
        action = "block" if blocked else "unblock"
        await self._admin_change(admin_id, user_id, action, None, now, blocked=blocked)

    async def allow(self, admin_id: int, user_id: int, *, now: datetime | None = None) -> None:
        """Add a user to the allowlist. Raises LookupError for an unknown user."""
        await self._admin_change(admin_id, user_id, "allow", None, now, allowed=True)

    async def _admin_change(
        self,
        admin_id: int,
        user_id: int,
        action: str,
        detail: str | None,
        now: datetime | None,
        **values: object,
    ) -> None:
        async with self._transaction(write=True) as session:
            await users.update_user(session, user_id, **values)
            await audit.record_admin_action(
                session,
                admin_id=admin_id,
                action=action,
                target_user_id=user_id,
                detail=detail,
                now=_utc(now),
            )

    async def _usage_and_limits(self, user_id: int, now: datetime) -> tuple[Usage, Usage, Limits]:
        day_start, day_end, month_start, _ = quota.period_bounds(now)
        async with self._transaction() as session:
            user = await session.get(User, user_id)
            today, month = await ledger.user_usage(
                session, user_id, month_start=month_start, day_start=day_start, until=day_end
            )
        overrides = users.to_record(user).overrides if user else {}
        return today, month, self.limits.merged(overrides)

    @asynccontextmanager
    async def _transaction(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        sessions = self._write_sessions if write else self._sessions
        queue = self._write_lock if write and self._write_lock else contextlib.nullcontext()
        try:
            async with queue, sessions() as session, session.begin():
                yield session
        except exc.DBAPIError as error:
            retryable = isinstance(error, CONNECTION_ERRORS) or error.connection_invalidated
            raise _database_error(error, retryable=retryable) from error
        except CONNECTION_ERRORS as error:
            raise _database_error(error, retryable=True) from error


def _stale(
    user: UserRecord,
    username: str | None,
    full_name: str | None,
    language: str | None,
    now: datetime,
) -> bool:
    """Whether a message should rewrite the user's row (names, language or an old last_seen)."""
    changed = (user.username, user.full_name, user.language) != (username, full_name, language)
    return changed or now - user.last_seen >= SEEN_REFRESH


def _database_error(error: BaseException, *, retryable: bool) -> ServiceError:
    what = "database unavailable" if retryable else "database error"
    return ServiceError("database", f"{what}: {error_reason(error)}", retryable=retryable)


def _utc(now: datetime | None) -> datetime:
    """`now` in UTC (the clock when None); naive values are taken as UTC."""
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
