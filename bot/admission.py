"""Who may be answered, and whether their quota allows it, checked before any expensive work."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.db.accounts import Accounts, Admission
from bot.errors import ServiceError
from bot.events import Refused
from bot.i18n import Key
from bot.metrics import Metrics
from bot.requests import Sender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gate:
    """Access and quota for a turn: an admission, or the refusal to show.

    Args:
        accounts: users, their access and what they have left.
        metrics: where quota refusals are counted.
        clock: now, for the quota's periods.
    """

    accounts: Accounts
    metrics: Metrics
    clock: Callable[[], datetime]

    async def admit(self, sender: Sender) -> Refused | None:
        """Access and quota, checked before any expensive work."""
        admitted = await self.admission(sender)
        return admitted if isinstance(admitted, Refused) else None

    async def admission(self, sender: Sender) -> Refused | Admission:
        """`admit`, with the admission (and what the user has left) when allowed."""
        try:
            admission = await self.accounts.admit(
                sender.user_id,
                username=sender.username,
                full_name=sender.full_name,
                language=sender.telegram_language,
                now=self.clock(),
            )
        except ServiceError as error:
            log.error("database unavailable: %s", error)
            return Refused("db_down")
        if admission.access != "ok":
            return Refused(admission.access)
        decision = admission.quota
        if decision.allowed:
            return admission
        self.metrics.count_quota_refusal(decision.kind or "unknown")
        resets = decision.resets_at.strftime("%Y-%m-%d %H:%M") if decision.resets_at else "-"
        return Refused(
            "over_quota",
            {
                "kind": Key(f"kind_{decision.kind}"),
                "period": Key(f"period_{decision.period}"),
                "resets_at": resets,
            },
        )
