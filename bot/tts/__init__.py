"""Choosing speech synthesizers: the configured backend first, the other usable ones behind it."""

from __future__ import annotations

import importlib
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.errors import BotError
from bot.tts.base import Speech, Synthesizer
from bot.tts.fallback import FallbackSynthesizer

if TYPE_CHECKING:
    import openai

    from bot.config import Settings

__all__ = ["FallbackSynthesizer", "Speech", "Synthesizer", "make_synthesizer"]

logger = logging.getLogger(__name__)

# Seconds a failed backend waits behind the others: gTTS without a network fails on every
# sentence, and there is no point asking it first again until the network may be back.
FALLBACK_COOLDOWN_SECONDS = 60.0


_Keywords = Callable[["Settings", "openai.AsyncOpenAI | None"], dict[str, Any]]


@dataclass(frozen=True)
class _Backend:
    module: str
    cls: str
    package: str
    keywords: _Keywords


_BACKENDS: dict[str, _Backend] = {
    "gtts": _Backend(
        "bot.tts.gtts",
        "GTTSSynthesizer",
        "pip install gTTS",
        lambda s, _: {"timeout": s.tts_timeout_seconds},
    ),
    "openai": _Backend(
        "bot.tts.openai",
        "OpenAISynthesizer",
        "pip install openai",
        lambda s, c: {"client": c, "model": s.tts_model, "voice": s.tts_voice},
    ),
    "espeak": _Backend(
        "bot.tts.espeak",
        "EspeakSynthesizer",
        "apt-get install espeak-ng",
        lambda s, _: {"timeout": s.tts_timeout_seconds},
    ),
}


def make_synthesizer(
    settings: Settings, *, openai_client: openai.AsyncOpenAI | None
) -> Synthesizer:
    """TTS_BACKEND first, then the usable TTS_FALLBACKS, wrapped in a FallbackSynthesizer."""
    chosen = settings.tts_backend
    _require_usable(chosen, openai_client)
    # TTS_FALLBACKS lets an operator drop a fallback (gTTS on a server without internet, say).
    order = [chosen] + [name for name in settings.tts_fallbacks if name != chosen]
    synthesizers = []
    for name in order:
        if not _usable(name, openai_client):
            continue
        try:
            synthesizers.append(_build(name, settings, openai_client))
        except BotError:
            if name == chosen:
                raise
            logger.info("tts fallback %s is not installed; skipping it", name)
    return FallbackSynthesizer(synthesizers, cooldown=FALLBACK_COOLDOWN_SECONDS)


def _usable(name: str, openai_client: openai.AsyncOpenAI | None) -> bool:
    if name == "openai":
        return openai_client is not None
    if name == "espeak":
        return shutil.which("espeak-ng") is not None
    return True


def _require_usable(name: str, openai_client: openai.AsyncOpenAI | None) -> None:
    if name == "openai" and openai_client is None:
        raise BotError("TTS_BACKEND=openai needs OPENAI_API_KEY")
    if name == "espeak" and not _usable(name, openai_client):
        raise BotError(f"TTS_BACKEND=espeak needs espeak-ng: {_BACKENDS[name].package}")


def _build(name: str, settings: Settings, openai_client: openai.AsyncOpenAI | None) -> Synthesizer:
    backend = _BACKENDS[name]
    try:
        module = importlib.import_module(backend.module)
    except ImportError as error:
        raise BotError(f"TTS backend {name!r} needs a package: {backend.package}") from error
    cls: Any = getattr(module, backend.cls)
    synthesizer: Synthesizer = cls(**backend.keywords(settings, openai_client))
    return synthesizer
