"""The admins' audit trail: who changed which user, how, and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AdminAction


async def record_admin_action(
    session: AsyncSession,
    *,
    admin_id: int,
    action: str,
    target_user_id: int | None,
    detail: str | None,
    now: datetime,
) -> None:
    """Add one audit row in the caller's transaction; `detail` must hold no personal data."""
    session.add(
        AdminAction(
            admin_id=admin_id,
            action=action,
            target_user_id=target_user_id,
            detail=detail,
            created_at=now,
        )
    )
