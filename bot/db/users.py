"""Verbs on the users table; each takes the caller's session first and returns plain records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.quota import LIMIT_KEYS
from bot.db.models import User


@dataclass(frozen=True)
class UserRecord:
    """A user as the rest of the bot sees it; `overrides` holds per-user limits (None = global)."""

    id: int
    username: str | None
    full_name: str | None
    language: str | None
    blocked: bool
    allowed: bool
    overrides: Mapping[str, float | None]
    first_seen: datetime
    last_seen: datetime


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; SQLite hands back naive ones, which we always wrote in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_record(user: User) -> UserRecord:
    """The plain record for an ORM row."""
    return UserRecord(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        language=user.language,
        blocked=user.blocked,
        allowed=user.allowed,
        overrides={key: getattr(user, key) for key in LIMIT_KEYS},
        first_seen=as_utc(user.first_seen),
        last_seen=as_utc(user.last_seen),
    )


async def upsert_seen(
    session: AsyncSession,
    user_id: int,
    *,
    username: str | None,
    full_name: str | None,
    language: str | None,
    now: datetime,
) -> User:
    """Insert the user or refresh their names, language and last_seen, in one statement."""
    values: dict[str, Any] = {
        "username": username,
        "full_name": full_name,
        "language": language,
        "last_seen": now,
    }
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        statement = insert(User).values(id=user_id, first_seen=now, blocked=False, **values)
        await session.execute(statement.on_conflict_do_update(index_elements=["id"], set_=values))
    else:
        # Other backends: read then write; a concurrent first message may then fail and be retried.
        user = await session.get(User, user_id)
        if user is None:
            session.add(User(id=user_id, first_seen=now, blocked=False, allowed=False, **values))
        else:
            for key, value in values.items():
                setattr(user, key, value)
        await session.flush()
    user = await session.get(User, user_id, populate_existing=True)
    if user is None:  # just written in this transaction: only a broken database gets here
        raise LookupError(f"user {user_id} vanished within its own transaction")
    return user


async def find(session: AsyncSession, ref: str) -> User | None:
    """A user by numeric id, or by @username (case-insensitive, the @ optional)."""
    text = ref.strip()
    if text.lstrip("-").isdigit():
        return await session.get(User, int(text))
    name = text.removeprefix("@").lower()
    if not name:
        return None
    found = await session.scalars(
        select(User).where(func.lower(User.username) == name).order_by(User.last_seen.desc())
    )
    return found.first()


async def update_user(session: AsyncSession, user_id: int, **values: Any) -> None:
    """Change some columns of one user.

    Raises:
        LookupError: no such user.
    """
    result = await session.execute(update(User).where(User.id == user_id).values(**values))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise LookupError(f"unknown user {user_id}")
