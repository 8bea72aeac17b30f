"""The settings a turn reads, apart from the story that reads them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AssistantSettings:
    """The settings a turn reads (built from `Settings` by the composition root).

    Args:
        max_concurrent_turns: MAX_CONCURRENT_TURNS, turns worked on at once.
        max_voice_seconds: MAX_VOICE_SECONDS; a longer recording is heard in pieces.
        long_note_seconds: LONG_NOTE_SECONDS; a longer note gets its transcript and a summary.
        max_speech_seconds: MAX_SPEECH_SECONDS, the longest voice answer.
        system_prompt: SYSTEM_PROMPT.
        memory_max_turns: MEMORY_MAX_TURNS, turns of history in a prompt.
        memory_max_tokens: MEMORY_MAX_TOKENS, tokens of history in a prompt.
        openai_model: OPENAI_MODEL, part of the answer cache's key.
        tts_model: TTS_MODEL, billed when a Realtime model speaks.
    """

    max_concurrent_turns: int
    max_voice_seconds: int
    long_note_seconds: int
    max_speech_seconds: int
    system_prompt: str
    memory_max_turns: int
    memory_max_tokens: int
    openai_model: str
    tts_model: str


__all__ = ["AssistantSettings"]
