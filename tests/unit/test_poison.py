"""What cannot be an update is recognised before it can hurt: at the door, and in the stream."""

from __future__ import annotations

import pytest

from bot.durable.queue import Entry
from bot.durable.receiver import read_update


@pytest.mark.parametrize(
    ("body", "update_id"),
    [
        pytest.param(b'{"update_id": 7, "message": {}}', 7, id="an update"),
        pytest.param(b'{"update_id": 1e400}', None, id="an id too large for a number"),
        pytest.param(b'{"update_id": 9223372036854775808}', None, id="an id past 64 bits"),
        pytest.param(b'{"update_id": -1}', None, id="a negative id"),
        pytest.param(b'{"update_id": 1.5}', None, id="an id that is not whole"),
        pytest.param(b'{"update_id": "7"}', None, id="an id written as text"),
        pytest.param(b'{"update_id": true}', None, id="an id that is a truth value"),
        pytest.param(b'{"message": {}}', None, id="no id"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, None, id="nested 100,000 deep"),
        pytest.param(b"\xff\xfe", None, id="not text"),
        pytest.param(b"[7]", None, id="not an object"),
    ],
)
def test_read_update(body: bytes, update_id: int | None) -> None:
    data = read_update(body)
    assert (data["update_id"] if data else None) == update_id


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({b"update": b"{}", b"id": b"x", b"user": b"", b"turn": b"0"}, id="id"),
        pytest.param({b"update": b"{}", b"id": b"7", b"user": b"abc", b"turn": b"1"}, id="user"),
        pytest.param({b"update": b"{}", b"id": b"7", b"turn": b"one"}, id="turn"),
        pytest.param({b"id": b"7"}, id="no update"),
    ],
)
def test_a_damaged_entry_is_read_as_unreadable_and_kept_as_it_was(
    fields: dict[bytes, bytes],
) -> None:
    entry = Entry.from_stream(b"1-0", fields)
    assert entry.unreadable is not None and entry.entry_id == "1-0"
    stored = dict(zip(entry.fields()[::2], entry.fields()[1::2], strict=True))
    assert stored == {k.decode(): v.decode() for k, v in fields.items()}
