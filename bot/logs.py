"""One-line logs that never carry the bot token, the API key or message text.

Two formats, redacted alike: one JSON object per line for files and collectors, plain aligned
lines for a person at a terminal (LOG_FORMAT; by default text on a TTY, JSON otherwise).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal, TextIO
from urllib.parse import quote, urlsplit

from bot.core.privacy import mask

_TOKEN_RE = re.compile(r"\d{6,12}:[A-Za-z0-9_-]{30,}|sk-[A-Za-z0-9_-]{10,}")
LogFormat = Literal["json", "text"]
# The text format's columns: time, level, logger, message.
_LEVEL_WIDTH = 8  # "CRITICAL"
_LOGGER_WIDTH = 24


class RedactingFilter(logging.Filter):
    """Replaces secrets with *** and masks personal data in every record's message.

    Args:
        secrets: values never to write (the token, keys), in every spelling.
        own_addresses: the bot's own service URLs (Bot API, OpenAI, Redis, database): their
            hosts are no user's IP address, so they stay as written. Credentials in them do not.
    """

    def __init__(self, secrets: list[str], own_addresses: Iterable[str | None] = ()) -> None:
        super().__init__()
        self._secrets = sorted(_spellings(secrets), key=len, reverse=True)
        self._own_hosts = frozenset(_hosts(own_addresses))

    def redact(self, text: str) -> str:
        """The text without secrets or personal data."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        text = _TOKEN_RE.sub("***", text)
        return mask(text, keep=self._own_hosts)[0]

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


def _hosts(addresses: Iterable[str | None]) -> Iterable[str]:
    """The host of each URL ("http://127.0.0.1:8000/v1" → "127.0.0.1")."""
    for address in filter(None, addresses):
        try:
            host = urlsplit(address).hostname
        except ValueError:  # not a URL the operator could have meant: nothing to keep
            continue
        if host:
            yield host


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


class TextFormatter(logging.Formatter):
    """Plain aligned lines: UTC time, level, logger, message; a traceback indented below."""

    def format(self, record: logging.LogRecord) -> str:
        """Render `record` as one line (and its exception, indented, on the lines after)."""
        time = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        line = (
            f"{time} {record.levelname:<{_LEVEL_WIDTH}} {record.name:<{_LOGGER_WIDTH}} "
            f"{record.getMessage()}"
        )
        if record.exc_text:
            line += "\n" + "\n".join("    " + part for part in record.exc_text.splitlines())
        return line


def default_format(stream: TextIO) -> LogFormat:
    """Text for a person at a terminal, JSON for a file, a pipe or a collector."""
    return "text" if stream.isatty() else "json"


def setup_logging(
    level: str,
    *,
    secrets: list[str],
    log_format: LogFormat | None = None,
    own_addresses: Iterable[str | None] = (),
) -> None:
    """Log to stderr, redacted, as JSON lines or text (None: by whether stderr is a terminal).

    Libraries that log tokens or message text are kept quieter.
    """
    handler = logging.StreamHandler()
    chosen = log_format or default_format(sys.stderr)
    handler.setFormatter(TextFormatter() if chosen == "text" else JsonFormatter())
    handler.addFilter(RedactingFilter(secrets, own_addresses))
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
