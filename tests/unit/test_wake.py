"""Which group voice notes call the bot: a table of transcripts and names."""

from __future__ import annotations

import pytest

from bot.core.wake import calls_bot, wake_names

NAMES = wake_names(
    first_name="Voice Test Bot", username="voice_test_bot", words=("Jarvis", "小助手")
)


def test_the_names_are_the_first_name_the_username_as_spoken_and_the_wake_words() -> None:
    assert NAMES == ("voice test bot", "jarvis", "小助手", "voice test")


@pytest.mark.parametrize(
    ("transcript", "called"),
    [
        ("Voice Test Bot, what is the capital of France?", True),
        ("Hey voice test bot what time is it", True),
        ("VoiceTestBot, summarise this", True),
        ("Jarvis! Turn it up.", True),
        ("Привет, Jarvis, как дела?", True),
        ("小助手，今天天气怎么样？", True),
        ("Voice test, one two three", True),
        ("I told the voice test bot nothing", False),
        ("What is the capital of France?", False),
        ("Jarvisson is my neighbour", False),
        ("", False),
    ],
    ids=[
        "first name first",
        "after a greeting",
        "run together",
        "a wake word",
        "a wake word after a Russian greeting",
        "a Chinese wake word needs no space",
        "the username without its bot",
        "the name later in the sentence",
        "no name",
        "a longer word that starts like the name",
        "nothing said",
    ],
)
def test_a_voice_note_calls_the_bot_only_with_its_name_first(transcript: str, called: bool) -> None:
    assert calls_bot(transcript, NAMES) is called
