"""The bot's own messages in the user's language, with English as the fallback."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.language import LanguageCode
from bot.i18n import de, en, es, ru, zh

TABLES: Mapping[str, Mapping[str, str]] = {
    "en": en.MESSAGES,
    "zh": zh.MESSAGES,
    "ru": ru.MESSAGES,
    "es": es.MESSAGES,
    "de": de.MESSAGES,
}


def ui_language(code: str | None) -> str:
    """The language of the bot's own messages: the user's when we have a table for it, else English."""
    base = LanguageCode.base_of(code)
    return base if base is not None and base in TABLES else "en"


class Key(str):
    """A parameter that is itself a message key, translated along with the message."""


def t(key: str, language: str | None, **params: object) -> str:
    """The message `key` in `language` (English when missing), formatted with `params`."""
    table = TABLES[ui_language(language)]
    template = table.get(key) or en.MESSAGES[key]
    if not params:
        return template
    values = {k: t(v, language) if isinstance(v, Key) else v for k, v in params.items()}
    return template.format(**values)
