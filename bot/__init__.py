"""A Telegram voice-note assistant: hears, answers and speaks in the user's language."""

__version__ = "0.1.0"
