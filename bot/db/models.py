"""The SQL schema: users, their usage ledger and the admins' audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.core.quota import LIMIT_KEYS

# Named constraints, so migrations can drop or alter them on every backend (SQLite batch mode too).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigIntegerId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _created_at(*, index: bool = False) -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), index=index)


class User(Base):
    """A Telegram user of the bot; the limit columns are per-user overrides (NULL = global)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(String(64))
    full_name: Mapped[str | None] = mapped_column(String(256))
    language: Mapped[str | None] = mapped_column(String(16))
    first_seen: Mapped[datetime] = _created_at()
    last_seen: Mapped[datetime] = _created_at()
    blocked: Mapped[bool] = mapped_column(Boolean, server_default=false())
    allowed: Mapped[bool] = mapped_column(Boolean, server_default=false())


# One nullable override column per limit key (daily_tokens, ..., monthly_cost), so a quota kind
# is a row of KIND_TABLE here too; the declarative base adds each to the table and the mapper.
for _key in LIMIT_KEYS:
    setattr(User, _key, mapped_column(_key, Float, nullable=True))


class UsageEvent(Base):
    """One billable piece of work: a chat answer, a transcription or a synthesis."""

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[datetime] = _created_at(index=True)
    kind: Mapped[str] = mapped_column(String(16))
    model: Mapped[str | None] = mapped_column(String(64))
    tokens_in: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    tokens_out: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    voice_seconds: Mapped[float] = mapped_column(Float, server_default=text("0"))
    tts_chars: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    cache_hit: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # Float, not Numeric: these are estimates, and Numeric is not native on SQLite.
    cost: Mapped[float] = mapped_column(Float, server_default=text("0"))


class AdminAction(Base):
    """An admin command that changed a user; `detail` holds settings, never personal data."""

    __tablename__ = "admin_actions"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    admin_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(32))
    target_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    detail: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = _created_at(index=True)
