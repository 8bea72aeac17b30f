"""The one list of commands: it registers their handlers and builds the command menu.

Adding a user command is its handler, one row here, and a `cmd_<name>` description in each
language table of bot/i18n.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import CommandHandler

from bot.config import Settings
from bot.i18n import t
from bot.tg import admin, groups, handlers
from bot.tg.context import BotContext, Handler, is_admin


@dataclass(frozen=True)
class Command:
    """One command of the bot.

    Args:
        name: what users type after the slash.
        handler: the coroutine that answers it.
        in_menu: listed in Telegram's command menu (with its `cmd_<name>` description).
        admin_only: only ADMIN_USER_IDS may run it; anyone else gets "unknown command".
        requires: a setting without which it cannot work, and then stays out of the menu.
    """

    name: str
    handler: Handler
    in_menu: bool = True
    admin_only: bool = False
    requires: str | None = None


COMMANDS: tuple[Command, ...] = (
    Command("start", handlers.start),
    Command("help", handlers.help_command),
    Command("reset", handlers.reset),
    Command("cancel", handlers.cancel),
    Command("lang", handlers.lang),
    Command("voice", handlers.voice),
    Command("mode", handlers.mode),
    Command("transcribe", groups.transcribe),
    Command("usage", handlers.usage),
    Command("live", handlers.live, requires="public_url"),
    Command("stats", admin.stats, in_menu=False, admin_only=True),
    Command("setlimit", admin.setlimit, in_menu=False, admin_only=True),
    Command("block", admin.block, in_menu=False, admin_only=True),
    Command("unblock", admin.unblock, in_menu=False, admin_only=True),
    Command("allow", admin.allow, in_menu=False, admin_only=True),
)


def admin_only(handler: Handler) -> Handler:
    """Run `handler` for admins; anyone else gets the unknown-command answer."""

    @wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        if not is_admin(update, context):
            await handlers.unknown_command(update, context)
            return
        await handler(update, context)

    return guarded


def command_handlers() -> list[CommandHandler[Any, None]]:
    """A CommandHandler per command; admin-only ones behind the admin guard."""
    return [
        CommandHandler(c.name, admin_only(c.handler) if c.admin_only else c.handler)
        for c in COMMANDS
    ]


def menu(language: str | None, settings: Settings) -> list[BotCommand]:
    """The command menu in `language`: the commands marked in_menu that work, in table order."""
    return [
        BotCommand(c.name, t(f"cmd_{c.name}", language))
        for c in COMMANDS
        if c.in_menu and (c.requires is None or getattr(settings, c.requires))
    ]
