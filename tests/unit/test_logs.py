"""The log filter: no record of any logger carries the token or the API key, exceptions included."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import warnings
from collections.abc import Iterator

import pytest

from bot.logs import setup_logging

TOKEN = "7012345678:AAHsecretTokenPartXq3kV9pL2mZ8sW4tY6uR1"
KEY = "sk-proj-logfilter0123456789abcdef"


@pytest.fixture
def bot_logging() -> Iterator[io.StringIO]:
    """The bot's logging set-up, writing into a buffer instead of stderr; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    hooks = sys.excepthook, threading.excepthook
    setup_logging("DEBUG", secrets=[TOKEN, KEY])
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    yield buffer
    root.handlers[:], level = saved
    root.setLevel(level)
    logging.captureWarnings(False)
    logging.raiseExceptions = True
    sys.excepthook, threading.excepthook = hooks


def records(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines()]


def test_no_logger_writes_the_token_or_key_even_in_library_exception_text(
    bot_logging: io.StringIO,
) -> None:
    encoded = TOKEN.replace(":", "%3A")
    try:
        try:
            raise ConnectionError(f"GET https://api.telegram.org/bot{encoded}/getMe failed")
        except ConnectionError as cause:
            raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.") from cause
    except RuntimeError:
        logging.getLogger("telegram.ext.Application").exception("error while %s", "polling")
    logging.getLogger("openai._base_client").warning("key %s refused", KEY)
    logging.getLogger("some.library").info("secret half: %s", TOKEN.split(":")[1])
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn(f"unclosed client for {TOKEN}", ResourceWarning, stacklevel=1)
    stderr = bot_logging.getvalue()
    assert len(records(stderr)) == 4, stderr
    assert "RuntimeError" in records(stderr)[0]["exception"]
    for secret in (TOKEN, encoded, TOKEN.split(":")[1], KEY):
        assert secret not in stderr
