"""Prompt building: persona, language instruction and a history trimmed to budget."""

import pytest

from bot.core.prompt import (
    Turn,
    build_messages,
    estimate_tokens,
    language_instruction,
    trim_history,
)


def turns(n: int, size: int = 10) -> list[Turn]:
    return [Turn(user=f"u{i} " + "x" * size, assistant=f"a{i} " + "y" * size) for i in range(n)]


@pytest.mark.parametrize(
    ("history", "max_turns", "max_tokens", "kept"),
    [
        pytest.param(turns(5), 10, 10_000, 5, id="everything fits"),
        pytest.param(turns(5), 3, 10_000, 3, id="turn count keeps the newest"),
        pytest.param(turns(5, size=400), 10, 450, 2, id="token budget keeps the newest that fit"),
        pytest.param(turns(5, size=4000), 10, 100, 0, id="one huge turn is dropped"),
        pytest.param([], 10, 100, 0, id="no history"),
    ],
)
def test_trim_history(history: list[Turn], max_turns: int, max_tokens: int, kept: int) -> None:
    result = trim_history(history, max_turns=max_turns, max_tokens=max_tokens)
    assert result == (history[-kept:] if kept else [])


def test_build_messages_orders_persona_history_and_question() -> None:
    messages = build_messages(
        system_prompt="Be nice.",
        history=[Turn("hi", "hello")],
        user_text="how are you?",
        language="ru",
        max_turns=5,
        max_tokens=1000,
    )
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0]["content"].startswith("Be nice.")
    assert "Russian (language code: ru)" in messages[0]["content"]
    assert messages[-1]["content"] == "how are you?"


@pytest.mark.parametrize(
    ("text", "at_least"),
    [("hello world", 2), ("你好世界", 4), ("", 1)],
    ids=[
        "latin text counts about four characters per token",
        "each CJK character is a token",
        "empty",
    ],
)
def test_estimate_tokens(text: str, at_least: int) -> None:
    assert estimate_tokens(text) >= at_least


def test_language_instruction_names_unknown_codes_as_themselves() -> None:
    assert "(language code: xx)" in language_instruction("xx")
