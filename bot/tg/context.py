"""A CallbackContext with a typed `services` property, so handlers never dig in bot_data."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

if TYPE_CHECKING:
    from bot.services import Services

SERVICES_KEY = "services"


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The context every handler receives."""

    @property
    def services(self) -> Services:
        """The services built once at start-up."""
        return self.application.bot_data[SERVICES_KEY]  # type: ignore[no-any-return]


CONTEXT_TYPES = ContextTypes(context=BotContext)
# What every command and message handler is.
Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def is_admin(update: Update, context: BotContext) -> bool:
    """Whether the update's sender is one of ADMIN_USER_IDS."""
    user = update.effective_user
    return user is not None and context.services.accounts.is_admin(user.id)


def install_services(
    application: Application[Any, Any, Any, Any, Any, Any], services: Services
) -> None:
    """Make `services` reachable from every handler's context."""
    application.bot_data[SERVICES_KEY] = services
