"""Structured one-line logs that never carry the bot token, the API key or message text."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import quote

from bot.core.privacy import mask

_TOKEN_RE = re.compile(r"\d{6,12}:[A-Za-z0-9_-]{30,}|sk-[A-Za-z0-9_-]{10,}")


class RedactingFilter(logging.Filter):
    """Replaces secrets with *** and masks personal data in every record's message."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = sorted(_spellings(secrets), key=len, reverse=True)

    def redact(self, text: str) -> str:
        """The text without secrets or personal data."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        text = _TOKEN_RE.sub("***", text)
        return mask(text)[0]

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, redacted, so handlers see only the safe text."""
        record.msg = self.redact(record.getMessage())
        record.args = None
        # A library's exception text may quote the token (python-telegram-bot's InvalidToken
        # does); another handler may already have rendered it, so redact whatever is there.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _spellings(secrets: list[str]) -> set[str]:
    """Each secret as written, URL-encoded (as in a request URL), and a token's part after ':'."""
    found = set()
    for secret in filter(None, secrets):
        found |= {secret, quote(secret, safe="")}
        tail = secret.partition(":")[2]
        if len(tail) >= 16:  # the secret half of a bot token; its numeric id is public
            found.add(tail)
    return found


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """Render `record` as one JSON line."""
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str, *, secrets: list[str]) -> None:
    """Log JSON lines to stderr; keep libraries that log tokens or message text quieter."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Warnings and uncaught exceptions would go to stderr around the filter: send them through it.
    logging.captureWarnings(True)
    # A handler that cannot write would print the record's traceback raw; drop it instead.
    logging.raiseExceptions = False
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda args: _log_uncaught(
        args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback
    )
    # Alembic announces each plugin and step at INFO on every start; an operator needs none of it.
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # At DEBUG these libraries log whole updates and request bodies, i.e. what users wrote.
    for chatty in ("telegram", "openai", "aiohttp", "asyncio"):
        logging.getLogger(chatty).setLevel(max(logging.INFO, root.level))


def _log_uncaught(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    """Log an exception nobody caught as one redacted record, not a raw traceback."""
    logging.getLogger("bot").critical(
        "uncaught %s", kind.__name__, exc_info=(kind, error, traceback)
    )
