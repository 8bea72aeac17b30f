"""Telegram's initData check: genuine and fresh passes, anything else is refused."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.live.auth import LiveUser, check_init_data, sign_init_data

TOKEN = "123456:test-token"
NOW = 1_800_000_000.0
USER = {"id": 42, "first_name": "Ada", "last_name": "L", "username": "ada", "language_code": "ru"}


def signed(**changes: str) -> str:
    fields = {"query_id": "AAE", "user": json.dumps(USER), "auth_date": str(int(NOW) - 60)}
    return sign_init_data({**fields, **changes}, bot_token=TOKEN)


def tamper(init_data: str, key: str, value: str) -> str:
    fields = dict(parse_qsl(init_data))
    fields[key] = value
    return urlencode(fields)


def check(init_data: str, max_age: float = 86400) -> LiveUser | None:
    return check_init_data(init_data, bot_token=TOKEN, now=NOW, max_age=max_age)


def test_a_genuine_fresh_init_data_names_its_user() -> None:
    assert check(signed()) == LiveUser(id=42, language_code="ru", username="ada", full_name="Ada L")


@pytest.mark.parametrize(
    "init_data",
    [
        pytest.param(
            sign_init_data(
                {"user": json.dumps(USER), "auth_date": str(int(NOW))}, bot_token="654321:other"
            ),
            id="signed with another bot's token",
        ),
        pytest.param(tamper(signed(), "user", json.dumps({**USER, "id": 43})), id="user altered"),
        pytest.param(tamper(signed(), "auth_date", str(int(NOW))), id="auth_date altered"),
        pytest.param(tamper(signed(), "hash", "0" * 64), id="hash replaced"),
        pytest.param(signed().split("&hash=")[0], id="no hash"),
        pytest.param(signed(auth_date=str(int(NOW) - 86401)), id="older than the maximum age"),
        pytest.param(signed(auth_date=str(int(NOW) + 3600)), id="from the future"),
        pytest.param(signed() + "&user=%7B%22id%22%3A1%7D", id="a key given twice"),
        pytest.param(sign_init_data({"auth_date": str(int(NOW))}, bot_token=TOKEN), id="no user"),
        pytest.param("", id="empty"),
        pytest.param("%%%", id="not a query string"),
    ],
)
def test_anything_else_is_refused(init_data: str) -> None:
    assert check(init_data) is None


def test_the_maximum_age_is_a_setting() -> None:
    assert check(signed(), max_age=30) is None
    assert check(signed(), max_age=61) is not None
