"""HTTP emulators of the Telegram Bot API and the OpenAI API for end-to-end tests."""

from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.bot_state import BOT_ID, BOT_USERNAME, BotMessage, Call
from tests.emulators.openai_api import OpenAIEmulator, Request

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "BotApiEmulator",
    "BotMessage",
    "Call",
    "OpenAIEmulator",
    "Request",
]
