"""/usage for everyone; /stats, /setlimit, /block, /unblock, /allow for ADMIN_USER_IDS only.

The command table (bot.tg.commands) puts the admin-only ones behind `admin_only`: a non-admin
gets the same answer as for an unknown command, so they learn nothing. What users read (/usage,
unknown command) is in their Telegram language; what only admins read is English.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import date
from functools import wraps
from typing import Any, cast

from telegram import Update

from bot.charts import render_daily_usage
from bot.core.lifecycle import ModelStatus, describe
from bot.core.quota import QuotaKind, Usage, parse_limit
from bot.db.accounts import Stats, UsageReport
from bot.db.users import UserRecord
from bot.errors import ServiceError
from bot.i18n import Key, t
from bot.lifecycle import today
from bot.tg.context import BotContext
from bot.tg.say import message_of, reply, user_language, user_of

log = logging.getLogger(__name__)
Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]

SETLIMIT_USAGE = (
    "/setlimit <user id or @username> "
    "<daily_tokens|daily_voice_seconds|daily_tts_chars|daily_cost|monthly_...> <value|off|default>"
)
CHART_CAPTION = "Usage per day, last 30 days (UTC)"


# ---- formatting (pure) ---------------------------------------------------------------------


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


def format_models(statuses: list[ModelStatus], on: date) -> str:
    """The configured models with an end in sight or already gone; empty when there are none."""
    ending = [s for s in statuses if s.missing or s.shutdown is not None]
    if not ending:
        return ""
    return "Models:\n" + "\n".join(describe(status, on) for status in ending)


def describe_user(user: UserRecord) -> str:
    """How admin replies name a user: the id, and the @username when there is one."""
    return f"{user.id} (@{user.username})" if user.username else str(user.id)


# ---- guards --------------------------------------------------------------------------------


def _is_admin(update: Update, context: BotContext) -> bool:
    user = update.effective_user
    return user is not None and context.services.accounts.is_admin(user.id)


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not know; in groups it may be meant for another bot, so stay quiet."""
    message = update.effective_message
    if message is not None and message.chat.type == "private":
        await reply(update, "unknown_command")


def admin_only(handler: Handler) -> Handler:
    """Run `handler` for admins; anyone else gets the unknown-command answer."""

    @wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        if not _is_admin(update, context):
            await unknown_command(update, context)
            return
        await handler(update, context)

    return guarded


def database_errors(handler: Handler) -> Handler:
    """A database outage becomes an apology in the user's language, not a crash."""

    @wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        try:
            await handler(update, context)
        except ServiceError as error:
            log.error("command failed: %s", error)
            await reply(update, "db_down")

    return guarded


async def _target(update: Update, context: BotContext, usage_text: str) -> UserRecord | None:
    """The user named by the first argument, or None after telling the admin why not."""
    if not context.args:
        await reply(update, "admin_usage", usage=usage_text)
        return None
    user = await context.services.accounts.find_user(context.args[0])
    if user is None:
        await reply(update, "admin_unknown_user", ref=context.args[0][:40])
    return user


def _admin_id(update: Update) -> int:
    return user_of(update).id  # the command table let only admins through


async def _send(update: Update, text: str) -> None:
    await message_of(update).reply_text(text)


# ---- commands ------------------------------------------------------------------------------


@database_errors
async def usage(update: Update, context: BotContext) -> None:
    """Your own usage; admins may name another user (/usage <id or @username>)."""
    user_id = update.effective_user.id if update.effective_user else 0
    heading = ""
    if context.args and _is_admin(update, context):
        target = await _target(update, context, "/usage [user id or @username]")
        if target is None:
            return
        user_id, heading = target.id, f"User {describe_user(target)}\n"
    report = await context.services.accounts.usage_report(user_id)
    await _send(update, heading + format_report(report, user_language(update)))


def format_cache_counts(totals: dict[str, int]) -> str:
    """Hit/miss counts per cache since the Redis data began, e.g. 'answer 3/10 hits'."""
    parts = []
    for cache in ("transcript", "answer", "speech"):
        hits, misses = totals.get(f"{cache}:hit", 0), totals.get(f"{cache}:miss", 0)
        parts.append(f"{cache} {hits}/{hits + misses} hits")
    return "Caches: " + ", ".join(parts)


@database_errors
async def stats(update: Update, context: BotContext) -> None:
    """Numbers for 1, 7 and 30 days, cache hit rate, models' shutdowns, a 30-day chart."""
    accounts = context.services.accounts
    report = await accounts.stats()
    series = await accounts.daily_series(days=30)
    chart = await asyncio.to_thread(render_daily_usage, series)
    caches = format_cache_counts(await context.services.counters.totals())
    models = format_models(context.services.models, today())
    text = "\n\n".join(part for part in (format_stats(report), caches, models) if part)
    await message_of(update).reply_text(text)
    await message_of(update).reply_photo(chart, caption=CHART_CAPTION)


@database_errors
async def setlimit(update: Update, context: BotContext) -> None:
    """/setlimit <user> <kind> <value|off|default>: one per-user limit, audited."""
    args = context.args or []
    if len(args) != 3:
        await reply(update, "admin_usage", usage=SETLIMIT_USAGE)
        return
    try:
        key, value = parse_limit(args[1], args[2])
    except ValueError as error:
        await reply(update, "admin_bad_limit", reason=str(error))
        return
    target = await _target(update, context, SETLIMIT_USAGE)
    if target is None:
        return
    accounts = context.services.accounts
    await accounts.set_limit(_admin_id(update), target.id, key, value)
    shown = format_limit(key, value)
    if value is None:  # say what the default is, so the admin need not look it up
        shown += f" ({format_limit(key, accounts.limits.as_dict()[key] or 0)})"
    await reply(update, "admin_done", what=f"{key} = {shown} for {describe_user(target)}")


def _flag_command(action: str) -> Handler:
    """/block, /unblock or /allow <user>: one audited change of access."""

    @database_errors
    async def command(update: Update, context: BotContext) -> None:
        target = await _target(update, context, f"/{action} <user id or @username>")
        if target is None:
            return
        accounts = context.services.accounts
        if action == "allow":
            await accounts.allow(_admin_id(update), target.id)
        else:
            await accounts.set_blocked(_admin_id(update), target.id, action == "block")
        await reply(update, "admin_done", what=f"{action} {describe_user(target)}")

    command.__doc__ = f"/{action} <user>: audited."
    command.__name__ = action
    return command


block = _flag_command("block")
unblock = _flag_command("unblock")
allow = _flag_command("allow")
