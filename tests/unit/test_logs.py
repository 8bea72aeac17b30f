"""The logs: no record carries the token or the API key (exceptions included), in either format;
plain aligned lines on a terminal; the bot's own service addresses are not a user's IP address."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterator

import pytest

from bot.logs import default_format, setup_logging

TOKEN = "7012345678:AAHsecretTokenPartXq3kV9pL2mZ8sW4tY6uR1"
KEY = "sk-proj-logfilter0123456789abcdef"


OWN = ["http://127.0.0.1:8000/v1", "redis://:hunter2@10.1.2.3:6379/0", None]


@pytest.fixture
def use_logging() -> Iterator[Callable[[str], io.StringIO]]:
    """The bot's logging set-up in a format, writing into a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    hooks = sys.excepthook, threading.excepthook

    def use(log_format: str) -> io.StringIO:
        setup_logging("DEBUG", secrets=[TOKEN, KEY], log_format=log_format, own_addresses=OWN)  # type: ignore[arg-type]
        buffer = io.StringIO()
        handler = root.handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(buffer)
        return buffer

    yield use
    root.handlers[:], level = saved
    root.setLevel(level)
    logging.captureWarnings(False)
    logging.raiseExceptions = True
    sys.excepthook, threading.excepthook = hooks


@pytest.fixture
def bot_logging(use_logging: Callable[[str], io.StringIO]) -> io.StringIO:
    """The bot's logging set-up as JSON lines, writing into a buffer."""
    return use_logging("json")


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


def log_everything_secret() -> None:
    """A record with a token, a key, a user's IP address and the bot's own addresses."""
    logging.getLogger("bot.app").warning(
        "token %s key %s from 203.0.113.7; cannot reach %s or 10.1.2.3:6379 (%s)",
        TOKEN,
        KEY,
        OWN[0],
        OWN[1],
    )


def test_text_and_json_mask_secrets_the_same_way(
    use_logging: Callable[[str], io.StringIO],
) -> None:
    json_out = use_logging("json")
    log_everything_secret()
    text_out = use_logging("text")
    log_everything_secret()
    [record] = records(json_out.getvalue())
    [line] = text_out.getvalue().splitlines()
    assert line.endswith(" " + record["message"])
    for secret in (TOKEN, TOKEN.split(":")[1], KEY, "203.0.113.7", "hunter2"):
        assert secret not in record["message"]


def test_the_bots_own_service_addresses_are_not_masked_as_a_users_ip(
    bot_logging: io.StringIO,
) -> None:
    log_everything_secret()
    [record] = records(bot_logging.getvalue())
    assert (
        "from [IP_1]; cannot reach http://127.0.0.1:8000/v1 or 10.1.2.3:6379" in (record["message"])
    )


def test_an_own_address_with_a_password_is_still_masked_whole(bot_logging: io.StringIO) -> None:
    log_everything_secret()
    [record] = records(bot_logging.getvalue())
    assert record["message"].endswith("([URL_1])")
    assert "hunter2" not in bot_logging.getvalue()


def test_text_lines_are_plain_and_aligned(use_logging: Callable[[str], io.StringIO]) -> None:
    out = use_logging("text")
    logging.getLogger("bot.app").info("bot @x is polling")
    logging.getLogger("bot.stores.redis").warning("redis at %s", "redis://127.0.0.1:6379")
    first, second = out.getvalue().splitlines()
    pattern = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (INFO|WARNING) +bot\.\S+ +"
    assert re.match(pattern, first) and re.match(pattern, second)
    assert first.index("bot @x is polling") == second.index("redis at redis://127.0.0.1:6379")
    assert not first.startswith("{")


def test_a_traceback_in_text_follows_its_line_indented(
    use_logging: Callable[[str], io.StringIO],
) -> None:
    out = use_logging("text")
    try:
        raise RuntimeError(f"rejected {TOKEN}")
    except RuntimeError:
        logging.getLogger("telegram.ext.Application").exception("error while polling")
    head, *trace = out.getvalue().splitlines()
    assert head.endswith(" error while polling")
    assert trace[0] == "    Traceback (most recent call last):"
    assert all(line.startswith("    ") for line in trace)
    assert TOKEN not in out.getvalue() and "RuntimeError: rejected ***" in trace[-1]


def test_the_default_format_is_text_on_a_terminal_and_json_otherwise() -> None:
    leader, follower = os.openpty()
    with open(follower, "w") as terminal, io.StringIO() as pipe:
        assert (default_format(terminal), default_format(pipe)) == ("text", "json")
    os.close(leader)
