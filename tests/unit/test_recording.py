"""What a long recording leaves in memory, and the summary it asks for (pure)."""

from __future__ import annotations

import pytest

from bot.core.prompt import estimate_tokens, trim_history
from bot.core.recording import MEMORY_SHARE, recording_turn, summary_messages

SUMMARY = "Gist: a planning meeting.\n- budget approved\n- next meeting on Monday"


@pytest.mark.parametrize(
    ("words", "max_tokens", "whole"),
    [
        pytest.param(50, 3000, True, id="a short transcript is kept whole"),
        pytest.param(5000, 3000, False, id="a long transcript keeps its start within the share"),
        pytest.param(5000, 200, False, id="a tiny memory still keeps the summary"),
    ],
)
def test_recording_turn_fits_its_share_of_the_memory(
    words: int, max_tokens: int, whole: bool
) -> None:
    transcript = " ".join(f"word{i}" for i in range(words))
    turn = recording_turn(transcript, SUMMARY, minutes=40, max_tokens=max_tokens)
    assert turn.assistant == SUMMARY
    assert (transcript in turn.user) is whole
    assert "word0 word1" in turn.user, "the start is kept"
    assert turn.user.endswith("[…]") is not whole, "a cut is marked"
    cost = estimate_tokens(turn.user) + estimate_tokens(turn.assistant)
    assert cost <= max(max_tokens * MEMORY_SHARE, estimate_tokens(SUMMARY) + 30)


def test_a_recording_turn_survives_the_memory_trim_with_room_for_more() -> None:
    transcript = " ".join(f"word{i}" for i in range(20_000))
    turn = recording_turn(transcript, SUMMARY, minutes=120, max_tokens=3000)
    assert trim_history([turn], max_turns=20, max_tokens=3000) == [turn]


def test_the_summary_is_asked_for_in_the_recordings_language() -> None:
    system, user = summary_messages("hola a todos", language="es", minutes=3)
    assert "Spanish (language code: es)" in system["content"]
    assert "action items" in system["content"] and "two lines" in system["content"]
    assert user["content"].endswith("hola a todos")
