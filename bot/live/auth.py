"""Who is talking: Telegram's Mini App `initData`, checked as Telegram documents it (pure)."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from bot.core.language import LanguageCode

CLOCK_SKEW_SECONDS = 60  # an auth_date a little ahead of our clock is a clock, not a forgery


@dataclass(frozen=True)
class LiveUser:
    """The Telegram user an initData vouches for."""

    id: int
    language_code: LanguageCode | None = None  # normalised here, where it enters
    username: str | None = None
    full_name: str | None = None


def _secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def check_init_data(
    init_data: str, *, bot_token: str, now: float, max_age: float
) -> LiveUser | None:
    """The user of a genuine, fresh initData; None when it is missing, forged, altered or stale.

    Args:
        init_data: the query string as the Telegram client gave it to the page.
        bot_token: the bot's token (the HMAC key derives from it).
        now: the current Unix time.
        max_age: how old `auth_date` may be, in seconds.
    """
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    fields = dict(pairs)
    given = fields.get("hash", "")
    if len(fields) != len(pairs) or not given:
        return None  # a repeated key could make the page and the check read different values
    expected = hmac.new(
        _secret_key(bot_token), _data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, given.lower()):
        return None
    try:
        auth_date = int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError):
        return None
    if not -CLOCK_SKEW_SECONDS <= now - auth_date <= max_age:
        return None
    name = " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()
    return LiveUser(
        id=user_id,
        language_code=LanguageCode.base_of(str(user.get("language_code") or "")),
        username=user.get("username"),
        full_name=name or None,
    )


def sign_init_data(fields: dict[str, str], *, bot_token: str) -> str:
    """An initData string as a Telegram client would pass it (for tests and benchmarks)."""
    digest = hmac.new(
        _secret_key(bot_token), _data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    return urlencode({**fields, "hash": digest})


__all__ = ["LiveUser", "check_init_data", "sign_init_data"]
