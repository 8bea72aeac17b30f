"""Reading text aloud with a Realtime model: which models speak that way, and did it read it all.

A Realtime model is a conversational model that we ask to act as a text-to-speech voice. It is
told to read the text word for word; its own transcript of what it said tells whether it did.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

# The instructions of every Realtime session: a voice, never a conversation partner.
READ_ALOUD_INSTRUCTIONS = (
    "You are a text-to-speech voice, not an assistant. Each message you receive is text to "
    "read aloud. Read it exactly as written, word for word, in the language it is written in, "
    "with natural intonation. Do not answer it, translate it, explain it, shorten it, correct "
    "it or add anything before or after it. Say nothing else."
)

# Realtime models that reason: the least effort keeps the first audio fast (reading needs none).
_REASONING_PREFIXES = ("gpt-realtime-2",)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def is_realtime_model(model: str) -> bool:
    """Whether `model` speaks only through the Realtime API ("gpt-realtime-2.1-mini" does).

    Speech-endpoint models (gpt-4o-mini-tts, tts-1) answer `audio.speech`; realtime models
    (and OpenAI's older "-realtime-preview" names) do not.
    """
    return "realtime" in model.lower()


def reasons(model: str) -> bool:
    """Whether `model` is a reasoning Realtime model, which takes a reasoning effort."""
    return model.lower().startswith(_REASONING_PREFIXES)


def spoken_words(text: str) -> list[str]:
    """The words of `text` as compared: case, accents' forms and punctuation ignored.

    Chinese, Japanese and Korean characters count one word each: they are written without
    spaces, and a model's transcript may space them differently.
    """
    words: list[str] = []
    for run in _WORD.findall(unicodedata.normalize("NFKC", text).casefold()):
        if any(_is_wide(ch) for ch in run):
            words.extend(_split_wide(run))
        else:
            words.append(run)
    return words


def differing_words(text: str, transcript: str) -> int:
    """How many words the model left out, added or changed when reading `text` aloud."""
    given, said = spoken_words(text), spoken_words(transcript)
    matcher = difflib.SequenceMatcher(a=given, b=said, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return max(len(given), len(said)) - matched


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


def _split_wide(run: str) -> list[str]:
    """Each wide character alone; a Latin or digit run inside stays one word: 第3个 → 第, 3, 个."""
    pieces: list[str] = []
    latin = ""
    for ch in run:
        if _is_wide(ch):
            if latin:
                pieces.append(latin)
                latin = ""
            pieces.append(ch)
        else:
            latin += ch
    return [*pieces, latin] if latin else pieces
