"""Initial schema: users, usage_events, admin_actions.

Revision ID: 1a2b3c4d5e6f
Revises:
Create Date: 2026-11-24 00:00:00+00:00

Reviewed by hand after autogenerate: server defaults are written as portable expressions
(`now()`, `false()`), because the generated `(CURRENT_TIMESTAMP)` and `'0'` for booleans only
suit SQLite. Index changes go through batch operations so later revisions can copy the pattern.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1a2b3c4d5e6f"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _created_at(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _zero(name: str, type_: sa.types.TypeEngine) -> sa.Column:
    return sa.Column(name, type_, server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    """Create the three tables and their indexes."""
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("full_name", sa.String(length=256), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        _created_at("first_seen"),
        _created_at("last_seen"),
        sa.Column("blocked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("allowed", sa.Boolean(), server_default=sa.false(), nullable=False),
        *(
            sa.Column(f"{period}_{kind}", sa.Float(), nullable=True)
            for period in ("daily", "monthly")
            for kind in ("tokens", "voice_seconds", "tts_chars", "cost")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "usage_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        _created_at("created_at"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=True),
        _zero("tokens_in", sa.Integer()),
        _zero("tokens_out", sa.Integer()),
        _zero("audio_seconds", sa.Float()),
        _zero("tts_chars", sa.Integer()),
        sa.Column("cache_hit", sa.Boolean(), server_default=sa.false(), nullable=False),
        _zero("cost", sa.Float()),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_usage_events_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_events")),
    )
    with op.batch_alter_table("usage_events") as batch_op:
        batch_op.create_index(batch_op.f("ix_usage_events_created_at"), ["created_at"])
        batch_op.create_index("ix_usage_events_user_id_created_at", ["user_id", "created_at"])
    op.create_table(
        "admin_actions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("admin_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_user_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.String(length=256), nullable=True),
        _created_at("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_actions")),
    )
    with op.batch_alter_table("admin_actions") as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_actions_created_at"), ["created_at"])
        batch_op.create_index(batch_op.f("ix_admin_actions_target_user_id"), ["target_user_id"])


def downgrade() -> None:
    """Drop everything this revision created."""
    with op.batch_alter_table("admin_actions") as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_actions_target_user_id"))
        batch_op.drop_index(batch_op.f("ix_admin_actions_created_at"))
    op.drop_table("admin_actions")
    with op.batch_alter_table("usage_events") as batch_op:
        batch_op.drop_index("ix_usage_events_user_id_created_at")
        batch_op.drop_index(batch_op.f("ix_usage_events_created_at"))
    op.drop_table("usage_events")
    op.drop_table("users")
