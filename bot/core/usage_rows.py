"""One row of the ledger, as the assistant writes it: what was used, typed field by field."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.quota import UsageKind


@dataclass(frozen=True)
class UsageRecord:
    """What one step of a turn used; `Accounts.record_usage` writes it as one ledger row.

    Args:
        kind: the step ("chat", "transcription", "synthesis").
        model: the model billed, empty when no model bills by the token.
        tokens_in: tokens the model read.
        tokens_out: tokens it wrote (reasoning included, billed as output).
        voice_seconds: voice heard (counts against the voice quota).
        tts_chars: characters spoken.
        cache_hit: whether the answer came from the cache (then it costs nothing).
        cost: the cost, when not the unit prices applied to the amounts.
    """

    kind: UsageKind
    model: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    voice_seconds: float = 0.0
    tts_chars: int = 0
    cache_hit: bool = False
    cost: float | None = None
