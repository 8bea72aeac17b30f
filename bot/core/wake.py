"""Whether a group voice note calls the bot by name in its first words (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_NOT_WORD = re.compile(r"[\W_]+")
# Said before a name ("hey Voicey"); one of them may come first.
GREETINGS = frozenset(
    "hey hi hello ok okay yo dear эй привет слушай окей hola oye oiga hallo he 嘿 喂 你好".split()
)
MAX_NAME_WORDS = 4


def _words(text: str) -> list[str]:
    return _NOT_WORD.sub(" ", text.casefold()).split()


def _is_wide(text: str) -> bool:
    return any("\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in text)


def wake_names(*, first_name: str, username: str, words: Iterable[str] = ()) -> tuple[str, ...]:
    """What may call the bot: its first name, its username as spoken, and BOT_WAKE_WORDS.

    "voice_test_bot" is said "voice test bot"; the name without its "bot" ("voice test") too.
    """
    spoken = " ".join(_words(username))
    names = [first_name, spoken, *words]
    if spoken.endswith(" bot"):
        names.append(spoken.removesuffix(" bot"))
    return tuple(dict.fromkeys(" ".join(_words(n)) for n in names if _words(n)))


def calls_bot(transcript: str, names: Iterable[str]) -> bool:
    """Whether `transcript` starts with one of `names` (after an optional greeting).

    Words are compared case-folded without punctuation; a name may also come run together
    ("VoiceTestBot"), and one in Chinese or Japanese needs no space after it.
    """
    words = _words(transcript)
    if words and words[0] in GREETINGS:
        words = words[1:]
    if not words:
        return False
    for name in names:
        name_words = name.split()
        if not name_words:
            continue
        if words[: len(name_words)] == name_words:
            return True
        compact = "".join(name_words)
        if any("".join(words[:k]) == compact for k in range(1, MAX_NAME_WORDS + 1)):
            return True
        if _is_wide(compact) and "".join(words).startswith(compact):
            return True
    return False
