"""/stats, /setlimit, /block, /unblock, /allow: the commands for ADMIN_USER_IDS only.

The command table (bot.tg.commands) puts them behind its admin guard: a non-admin gets the same
answer as for an unknown command, so they learn nothing. What only admins read is English.
"""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.charts import render_daily_usage
from bot.core.quota import parse_limit
from bot.lifecycle import today
from bot.tg.context import BotContext, Handler
from bot.tg.incoming import user_of
from bot.tg.reports import (
    describe_user,
    format_cache_counts,
    format_limit,
    format_models,
    format_stats,
)
from bot.tg.say import database_errors, named_user, reply, send_privately

SETLIMIT_USAGE = (
    "/setlimit <user id or @username> "
    "<daily_tokens|daily_voice_seconds|daily_tts_chars|daily_cost|monthly_...> <value|off|default>"
)
CHART_CAPTION = "Usage per day, last 30 days (UTC)"


def _admin_id(update: Update) -> int:
    return user_of(update).id  # the command table let only admins through


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
    await send_privately(update, context, text, chart, CHART_CAPTION)


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
    target = await named_user(update, context, SETLIMIT_USAGE)
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
        target = await named_user(update, context, f"/{action} <user id or @username>")
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
