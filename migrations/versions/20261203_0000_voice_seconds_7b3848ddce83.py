"""One name per quantity: the ledger's audio_seconds is voice_seconds, as in quotas.

Revision ID: 7b3848ddce83
Revises: 1a2b3c4d5e6f
Create Date: 2026-12-03 00:00:00+00:00

A rename keeps every row (autogenerate would drop and add the column). SQLite runs it in batch
mode, copying the table; PostgreSQL renames in place.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "7b3848ddce83"
down_revision: str | Sequence[str] | None = "1a2b3c4d5e6f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Rename usage_events.audio_seconds to voice_seconds."""
    with op.batch_alter_table("usage_events") as batch_op:
        batch_op.alter_column("audio_seconds", new_column_name="voice_seconds")


def downgrade() -> None:
    """Rename usage_events.voice_seconds back to audio_seconds."""
    with op.batch_alter_table("usage_events") as batch_op:
        batch_op.alter_column("voice_seconds", new_column_name="audio_seconds")
