"""The pure parts of webhook mode: paths, whose turn an update is, and which settings it needs."""

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.durable.modes import mode_problem
from bot.durable.queue import Entry, describe_update
from bot.durable.receiver import webhook_path


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, telegram_bot_token="1:x", **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://bot.example.com/telegram/hook", "/telegram/hook"),
        ("http://10.0.0.5:8080/x", "/x"),
        ("https://bot.example.com", "/"),
    ],
    ids=["https with a path", "plain http behind a proxy", "no path means the root"],
)
def test_the_receiver_listens_at_exactly_the_path_of_the_url(url: str, path: str) -> None:
    assert webhook_path(url) == path


def message(text: str, user: int = 7, chat: int = 7) -> dict[str, object]:
    return {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": chat, "type": "private" if chat > 0 else "group"},
            "from": {"id": user, "is_bot": False, "first_name": "A"},
            "text": text,
        },
    }


POLL = {
    "id": "p",
    "question": "q",
    "options": [],
    "total_voter_count": 0,
    "is_closed": False,
    "is_anonymous": True,
    "type": "regular",
    "allows_multiple_answers": False,
}


@pytest.mark.parametrize(
    ("update", "described"),
    [
        (message("hello"), (7, False)),
        (message("/cancel"), (7, True)),
        (message("/cancel@voice_test_bot now"), (7, True)),
        (message("hello", user=8, chat=-100), (8, False)),
        ({"update_id": 2, "poll": POLL}, (None, False)),
        ({"update_id": 3, "message": {"text": "no chat, no date"}}, (None, False)),
    ],
    ids=[
        "a message takes its sender's turn",
        "/cancel jumps the queue",
        "/cancel addressed to the bot too",
        "in a group, the sender's turn",
        "an update without a user has no turn",
        "an update the parser cannot read has none either",
    ],
)
def test_whose_turn_an_update_is(
    update: dict[str, object], described: tuple[int | None, bool]
) -> None:
    assert describe_update(update) == described


def test_an_entry_survives_being_stored_again() -> None:
    entry = Entry("1-0", 42, '{"update_id": 42}', 7, 3, 1700000000.5)
    flat = entry.fields()
    again = Entry.from_stream("2-0", dict(zip(flat[::2], flat[1::2], strict=True)))  # type: ignore[arg-type]
    assert (again.update_id, again.payload, again.user, again.turn) == (42, entry.payload, 7, 3)
    assert again.received_at == pytest.approx(1700000000.5, abs=0.001)


HOOK = {"webhook_url": "https://h/x"}
SECRET = {"webhook_secret": "s3cret"}
REDIS = {"redis_url": "redis://r"}


@pytest.mark.parametrize(
    ("mode", "values", "names"),
    [
        ("web", {**SECRET, **REDIS}, "WEBHOOK_URL"),
        ("web", {**HOOK, **REDIS}, "WEBHOOK_SECRET"),
        ("single", HOOK, "WEBHOOK_SECRET"),
        ("web", {**HOOK, **SECRET}, "REDIS_URL"),
        ("worker", {}, "REDIS_URL"),
        ("single", {**HOOK, **SECRET}, None),
        ("worker", REDIS, None),
        ("web", {**HOOK, **SECRET, **REDIS}, None),
    ],
    ids=[
        "web needs the URL",
        "web needs the secret",
        "one webhook process needs the secret",
        "web needs a shared Redis",
        "a worker needs a shared Redis",
        "one process may use the embedded Redis",
        "a worker needs neither URL nor secret",
        "web with everything",
    ],
)
def test_each_mode_names_the_one_missing_setting(
    mode: str, values: dict[str, str], names: str | None
) -> None:
    problem = mode_problem(settings(**values), mode)
    if names is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith(f"error: {names} is not set")


@pytest.mark.parametrize("secret", ["a b", "ä", "x" * 257], ids=["space", "non-ASCII", "too long"])
def test_a_secret_telegram_would_refuse_is_refused_at_start(secret: str) -> None:
    with pytest.raises(ValidationError, match="webhook_secret"):
        settings(webhook_secret=secret)


def test_an_empty_secret_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", "")
    assert settings().webhook_secret is None
