"""Pure prompt building: system prompt, language instruction and a history trimmed to budget."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

LANGUAGE_NAMES = {
    "en": "English", "zh": "Chinese", "ru": "Russian", "es": "Spanish", "de": "German",
    "fr": "French", "it": "Italian", "pt": "Portuguese", "uk": "Ukrainian", "pl": "Polish",
    "nl": "Dutch", "tr": "Turkish", "ja": "Japanese", "ko": "Korean", "ar": "Arabic",
    "hi": "Hindi", "sv": "Swedish", "cs": "Czech", "fi": "Finnish", "el": "Greek",
}  # fmt: skip


@dataclass(frozen=True)
class Turn:
    """One remembered exchange: what the user said and what the bot answered (both masked)."""

    user: str
    assistant: str


def language_name(code: str) -> str:
    """English name of a language code, or the code itself when unknown."""
    return LANGUAGE_NAMES.get(code, code)


def language_instruction(language: str) -> str:
    """The line that tells the model which language to answer in."""
    return (
        f"Always answer in {language_name(language)} (language code: {language}), "
        "whatever language earlier messages used."
    )


def estimate_tokens(text: str) -> int:
    """A cheap, deterministic token estimate: ~4 Latin characters or 1 CJK character per token."""
    wide = sum(1 for ch in text if unicodedata.east_asian_width(ch) in "WF")
    return (len(text) - wide) // 4 + wide + 1


def about_voice_note(*, question: str, transcript: str) -> str:
    """A question asked about a voice note (a reply to it), with the note's words to answer from."""
    return f"{question}\n\nThe voice note I am replying to says:\n{transcript}"


def trim_history(history: Sequence[Turn], *, max_turns: int, max_tokens: int) -> list[Turn]:
    """Keep the newest turns that fit both the turn count and the token budget."""
    kept: list[Turn] = []
    used = 0
    for turn in reversed(history[-max_turns:] if max_turns else []):
        cost = estimate_tokens(turn.user) + estimate_tokens(turn.assistant)
        if used + cost > max_tokens:
            break
        kept.append(turn)
        used += cost
    kept.reverse()
    return kept


def build_messages(
    *,
    system_prompt: str,
    history: Sequence[Turn],
    user_text: str,
    language: str,
    max_turns: int,
    max_tokens: int,
) -> list[dict[str, str]]:
    """Chat messages for the model: persona and language, the trimmed history, the new message."""
    messages = [
        {"role": "system", "content": f"{system_prompt}\n\n{language_instruction(language)}"}
    ]
    for turn in trim_history(history, max_turns=max_turns, max_tokens=max_tokens):
        messages.append({"role": "user", "content": turn.user})
        messages.append({"role": "assistant", "content": turn.assistant})
    messages.append({"role": "user", "content": user_text})
    return messages
