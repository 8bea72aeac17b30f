"""How usage, limits and statistics read in a message (pure): /usage, /setlimit and /stats.

What users read (/usage) is in their Telegram language; what only admins read is English.
"""

from __future__ import annotations

from datetime import date
from typing import cast

from bot.core.lifecycle import ModelStatus, describe
from bot.core.quota import QuotaKind, Usage
from bot.db.accounts import Stats, UsageReport
from bot.db.users import UserRecord
from bot.i18n import Key, t


def format_amount(kind: QuotaKind, value: float) -> str:
    """A quota amount as people read it: whole tokens, seconds and characters, dollars."""
    if kind == "cost":
        return f"${value:,.2f}" if value >= 1 else f"${value:.4f}"
    return f"{round(value):,}"


def format_limit(key: str, value: float | None) -> str:
    """A per-user limit as /setlimit reports it: a number, "unlimited" (0) or "default" (None)."""
    if value is None:
        return "default"
    if value == 0:
        return "unlimited"
    return format_amount(cast(QuotaKind, key.split("_", 1)[1]), value)


def format_usage(usage: Usage, language: str | None) -> str:
    """One line of usage numbers in the user's language."""
    return t(
        "usage_amounts",
        language,
        tokens=format_amount("tokens", usage.tokens),
        minutes=f"{usage.voice_seconds / 60:.1f}",
        chars=format_amount("tts_chars", usage.tts_chars),
        cost=format_amount("cost", usage.cost),
    )


def format_remaining(report: UsageReport, language: str | None) -> str:
    """What is left of each kind before the tighter cap; admins are never capped."""
    parts = []
    for kind, value in report.remaining.items():
        unlimited = value is None or report.exempt
        amount = t("unlimited", language) if unlimited else format_amount(kind, value or 0)
        parts.append(f"{t('kind_' + kind, language)}: {amount}")
    return "; ".join(parts)


def format_report(report: UsageReport, language: str | None) -> str:
    """The /usage message: today, this month, what is left, and when a refusal ends."""
    text = t(
        "usage_report",
        language,
        today=format_usage(report.today, language),
        month=format_usage(report.month, language),
        remaining=format_remaining(report, language),
    )
    decision = report.decision
    if not decision.allowed and decision.resets_at is not None:
        text += "\n\n" + t(
            "over_quota",
            language,
            kind=Key(f"kind_{decision.kind}"),
            period=Key(f"period_{decision.period}"),
            resets_at=decision.resets_at.strftime("%Y-%m-%d %H:%M"),
        )
    return text


def period_title(days: int) -> str:
    """The heading of one /stats block, e.g. "Last 7 days"."""
    return "Last 24 hours" if days == 1 else f"Last {days} days"


def format_stats(stats: Stats) -> str:
    """The /stats message: one block per period."""
    blocks = []
    for period in stats.periods:
        top = ", ".join(
            f"{'@' + u.username if u.username else u.user_id} ({u.tokens:,} tokens, ${u.cost:.4f})"
            for u in period.top_users
        )
        blocks.append(
            f"{period_title(period.days)}: {period.active_users} active users, "
            f"{period.messages} messages, {period.voice_minutes:.1f} voice minutes, "
            f"{period.tokens:,} tokens, ${period.cost:.4f}, "
            f"{period.cache_hit_rate:.0%} cache hits" + (f"\nTop: {top}" if top else "")
        )
    return "\n\n".join(blocks)


def describe_user(user: UserRecord) -> str:
    """How admin replies name a user: the id, and the @username when there is one."""
    return f"{user.id} (@{user.username})" if user.username else str(user.id)


def format_cache_counts(totals: dict[str, int]) -> str:
    """Hit/miss counts per cache since the Redis data began, e.g. 'answer 3/10 hits'."""
    parts = []
    for cache in ("transcript", "answer", "speech"):
        hits, misses = totals.get(f"{cache}:hit", 0), totals.get(f"{cache}:miss", 0)
        parts.append(f"{cache} {hits}/{hits + misses} hits")
    return "Caches: " + ", ".join(parts)


def format_models(statuses: list[ModelStatus], on: date) -> str:
    """The configured models with an end in sight or already gone; empty when there are none."""
    ending = [s for s in statuses if s.missing or s.shutdown is not None]
    if not ending:
        return ""
    return "Models:\n" + "\n".join(describe(status, on) for status in ending)
