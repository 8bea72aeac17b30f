"""Pure cache keys and the rule for which answers may be shared between users."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import cache

from bot.core.privacy import PLACEHOLDER_RE, contains_personal_data


def _digest(*parts: str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode("utf-8"))
        hasher.update(b"\x1f")
    return hasher.hexdigest()


# Compatibility forms that only change how a character is drawn. NFKC would also fold <super>,
# <sub>, <fraction>, <circle>, <font>, <square> and <compat> ("2⁸" into "28", "ℕ" into "n"),
# which are different questions; those stay as written.
_PRESENTATION_TAGS = tuple(
    f"<{tag}>" for tag in ("wide", "narrow", "noBreak", "initial", "medial", "final", "isolated")
)


@cache
def _presentation_base(char: str) -> str:
    decomposition = unicodedata.decomposition(char)
    if not decomposition.startswith(_PRESENTATION_TAGS):
        return char
    return "".join(chr(int(code, 16)) for code in decomposition.split()[1:])


def normalize_question(text: str) -> str:
    """Case, width and spacing folded, trailing punctuation dropped: same question, same key.

    Only what cannot change the meaning is folded, so two different questions never share an
    answer: superscripts, fractions, circled digits and other scripts' digits stay distinct.
    """
    folded = "".join(_presentation_base(char) for char in unicodedata.normalize("NFC", text))
    folded = unicodedata.normalize("NFC", folded).casefold()
    folded = re.sub(r"\s+", " ", folded).strip()
    return folded.rstrip(" .!?。！？¡¿")


def transcript_key(file_unique_id: str) -> str:
    """Key of a transcript: Telegram's file_unique_id is the same for forwarded copies."""
    return f"transcript:{file_unique_id}"


def answer_key(*, question: str, language: str, model: str, system_prompt: str) -> str:
    """Key of a context-free answer: the anonymized question, its language, model and persona."""
    return "answer:" + _digest(normalize_question(question), language, model, system_prompt)


def voice_id(*, backend: str, voice: str | None, speed: float) -> str:
    """Who speaks and how fast: "openai/nova@1.25".

    Part of the speech key, so a sentence spoken in one voice or at one speed is never served
    for another.
    """
    return f"{backend}/{voice or '-'}@{speed:g}"


def speech_key(*, text: str, language: str, voice: str) -> str:
    """Key of synthesized speech: text, language and the backend/voice that spoke it."""
    return "speech:" + _digest(text, language, voice)


def is_cacheable(*, question: str, answer: str, has_context: bool) -> bool:
    """Share an answer only if it had no context and neither side carries anything personal."""
    if has_context or not answer.strip():
        return False
    for text in (question, answer):
        if PLACEHOLDER_RE.search(text) or contains_personal_data(text):
            return False
    return True
