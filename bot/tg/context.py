"""A CallbackContext with a typed `services` property, so handlers never dig in bot_data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


def install_services(
    application: Application[Any, Any, Any, Any, Any, Any], services: Services
) -> None:
    """Make `services` reachable from every handler's context."""
    application.bot_data[SERVICES_KEY] = services
