"""Choosing speech synthesizers: the configured backend first, the other usable ones behind it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.backends import Backend, build, check_names
from bot.errors import BotError
from bot.tts.base import Speech, Synthesizer
from bot.tts.fallback import FallbackHook, FallbackSynthesizer

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.openai_client import OpenAIResources

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "DEFAULT_FALLBACKS",
    "FallbackSynthesizer",
    "Speech",
    "Synthesizer",
    "make_synthesizer",
]

logger = logging.getLogger(__name__)

# Seconds a failed backend waits behind the others: gTTS without a network fails on every
# sentence, and there is no point asking it first again until the network may be back.
FALLBACK_COOLDOWN_SECONDS = 60.0

# TTS_BACKEND name → where the class lives and its keyword arguments from Settings. What a
# backend needs (a client, a binary, a package, its languages) it declares itself; see
# bot.backends.
BACKENDS: dict[str, Backend] = {
    "gtts": Backend("bot.tts.gtts:GTTSSynthesizer", lambda s: {"timeout": s.tts_timeout_seconds}),
    "openai": Backend(
        "bot.tts.openai:OpenAISynthesizer",
        lambda s: {
            "model": s.tts_model,
            "voice": s.tts_voice,
            "timeout": s.tts_timeout_seconds,
            "realtime_sessions": s.tts_realtime_sessions,
        },
    ),
    "espeak": Backend(
        "bot.tts.espeak:EspeakSynthesizer", lambda s: {"timeout": s.tts_timeout_seconds}
    ),
    "piper": Backend("bot.tts.piper:PiperSynthesizer"),
}
DEFAULT_BACKEND = "gtts"  # TTS_BACKEND's default
# TTS_FALLBACKS' default: tried in this order after TTS_BACKEND, each where it can run.
DEFAULT_FALLBACKS = ("gtts", "openai", "espeak")


def chain(settings: Settings) -> tuple[str, ...]:
    """The backends' names in the order they are tried: TTS_BACKEND, then TTS_FALLBACKS."""
    fallbacks = DEFAULT_FALLBACKS if settings.tts_fallbacks is None else settings.tts_fallbacks
    return (settings.tts_backend or DEFAULT_BACKEND, *fallbacks)


def speaks_through_openai(settings: Settings) -> bool:
    """Whether an OpenAI voice is in the chain (chosen or a fallback): its speech is AI-made."""
    return "openai" in chain(settings)


def make_synthesizer(
    settings: Settings,
    *,
    openai_client: OpenAIResources | None,
    on_fallback: FallbackHook | None = None,
) -> FallbackSynthesizer:
    """TTS_BACKEND first, then the usable TTS_FALLBACKS, wrapped in a FallbackSynthesizer.

    `on_fallback` hears of each backend failure (see FallbackSynthesizer).

    Raises:
        BotError: one line naming the variable: a name in TTS_BACKEND or TTS_FALLBACKS that is
            no backend, or a TTS_BACKEND that cannot be built here (a key, binary or package).
    """
    chosen = settings.tts_backend or DEFAULT_BACKEND
    # TTS_FALLBACKS lets an operator drop a fallback (gTTS on a server without internet, say).
    fallbacks = DEFAULT_FALLBACKS if settings.tts_fallbacks is None else settings.tts_fallbacks
    check_names("TTS_BACKEND", (chosen,), BACKENDS)
    check_names("TTS_FALLBACKS", fallbacks, BACKENDS)  # a typo is refused, not skipped
    order = [chosen] + [name for name in fallbacks if name != chosen]
    synthesizers: list[Synthesizer] = []
    for name in order:
        variable = "TTS_BACKEND" if name == chosen else "TTS_FALLBACKS"
        try:
            synthesizers.append(build(variable, name, BACKENDS, settings, openai_client))
        except BotError as error:
            if name == chosen:
                raise
            logger.info("tts fallback %s is not usable here: %s", name, error)
    return FallbackSynthesizer(
        synthesizers, cooldown=FALLBACK_COOLDOWN_SECONDS, on_fallback=on_fallback
    )
