"""/usage for everyone; /stats, /setlimit, /block, /unblock, /allow for ADMIN_USER_IDS only.

A non-admin gets the same answer as for an unknown command, so they learn nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import wraps

from telegram import Update

from bot.charts import render_daily_usage
from bot.core.quota import Usage, parse_limit
from bot.db.accounts import Stats, UsageReport
from bot.errors import ServiceError
from bot.i18n import t
from bot.tg.context import BotContext
from bot.tg.handlers import reply

log = logging.getLogger(__name__)
Handler = Callable[[Update, BotContext], Awaitable[None]]


def _admin_id(update: Update, context: BotContext) -> int | None:
    user = update.effective_user
    if user is None or not context.services.accounts.is_admin(user.id):
        return None
    return user.id


def admin_only(handler: Handler) -> Handler:
    """Run `handler` for admins; anyone else learns nothing."""

    @wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        if _admin_id(update, context) is None:
            await reply(update, "admin_only")
            return
        await handler(update, context)

    return guarded


def database_errors(handler: Handler) -> Handler:
    """A database outage becomes an apology, not a crash."""

    @wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        try:
            await handler(update, context)
        except ServiceError as error:
            log.error("admin command failed: %s", error)
            await reply(update, "db_down")

    return guarded


def format_usage(usage: Usage) -> str:
    """One line of usage numbers."""
    return (
        f"{usage.tokens:,} tokens · {usage.voice_seconds / 60:.1f} min voice · "
        f"{usage.tts_chars:,} chars spoken · ${usage.cost:.4f}"
    )


def format_report(report: UsageReport, language: str | None) -> str:
    """The /usage message."""
    left = [
        f"{t('kind_' + kind, language)}: {t('unlimited', language) if value is None else f'{value:,.4g}'}"
        for kind, value in report.remaining.items()
    ]
    return t(
        "usage_report",
        language,
        today=format_usage(report.today),
        month=format_usage(report.month),
        remaining="; ".join(left),
    )


def format_stats(stats: Stats) -> str:
    """The /stats message: one block per period."""
    blocks = []
    for period in stats.periods:
        top = ", ".join(
            f"{'@' + u.username if u.username else u.user_id} ({u.tokens:,} tok, ${u.cost:.3f})"
            for u in period.top_users
        )
        blocks.append(
            f"Last {period.days} d: {period.active_users} active users, {period.messages} messages, "
            f"{period.voice_minutes:.1f} voice min, {period.tokens:,} tokens, ${period.cost:.4f}, "
            f"cache hits {period.cache_hit_rate:.0%}" + (f"\nTop: {top}" if top else "")
        )
    return "\n\n".join(blocks)


@database_errors
async def usage(update: Update, context: BotContext) -> None:
    """Your own usage; admins may name another user."""
    accounts = context.services.accounts
    language = update.effective_user.language_code if update.effective_user else None
    user_id = update.effective_user.id if update.effective_user else 0
    if context.args and _admin_id(update, context) is not None:
        target = await accounts.find_user(context.args[0])
        if target is None:
            await reply(update, "admin_unknown_user", ref=context.args[0][:40])
            return
        user_id = target.id
    report = await accounts.usage_report(user_id)
    assert update.effective_message is not None
    await update.effective_message.reply_text(format_report(report, language))


@admin_only
@database_errors
async def stats(update: Update, context: BotContext) -> None:
    """Numbers for 1, 7 and 30 days, cache hit rate, and a chart of the last 30 days."""
    accounts = context.services.accounts
    report = await accounts.stats()
    series = await accounts.daily_series(days=30)
    chart = await asyncio.to_thread(render_daily_usage, series)
    assert update.effective_message is not None
    await update.effective_message.reply_text(format_stats(report))
    await update.effective_message.reply_photo(chart, caption="Usage per day, last 30 days (UTC)")


async def _target(update: Update, context: BotContext, usage_text: str) -> int | None:
    if not context.args:
        await reply(update, "admin_usage", usage=usage_text)
        return None
    user = await context.services.accounts.find_user(context.args[0])
    if user is None:
        await reply(update, "admin_unknown_user", ref=context.args[0][:40])
        return None
    return user.id


@admin_only
@database_errors
async def setlimit(update: Update, context: BotContext) -> None:
    """/setlimit <user> <kind> <value>."""
    usage_text = "/setlimit <user id or @username> <daily_tokens|monthly_cost|...> <value|off|default>"
    args = context.args or []
    if len(args) != 3:
        await reply(update, "admin_usage", usage=usage_text)
        return
    try:
        key, value = parse_limit(args[1], args[2])
    except ValueError as error:
        await reply(update, "admin_bad_limit", reason=str(error))
        return
    user_id = await _target(update, context, usage_text)
    if user_id is None:
        return
    admin_id = update.effective_user.id if update.effective_user else 0
    await context.services.accounts.set_limit(admin_id, user_id, key, value)
    shown = "default" if value is None else f"{value:g}"
    await reply(update, "admin_done", what=f"{key}={shown} for {user_id}")


def _flag_command(action: str) -> Handler:
    @admin_only
    @database_errors
    async def command(update: Update, context: BotContext) -> None:
        user_id = await _target(update, context, f"/{action} <user id or @username>")
        if user_id is None:
            return
        accounts = context.services.accounts
        admin_id = update.effective_user.id if update.effective_user else 0
        if action == "allow":
            await accounts.allow(admin_id, user_id)
        else:
            await accounts.set_blocked(admin_id, user_id, action == "block")
        await reply(update, "admin_done", what=f"{action} {user_id}")

    command.__doc__ = f"/{action} <user>: audited."
    return command


block = _flag_command("block")
unblock = _flag_command("unblock")
allow = _flag_command("allow")
