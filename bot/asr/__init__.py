"""Speech-to-text backends, chosen by name from the settings; only the chosen one is imported."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.asr.base import Transcriber, Transcript
from bot.errors import BotError

if TYPE_CHECKING:
    import openai

    from bot.config import Settings

__all__ = ["Transcriber", "Transcript", "make_transcriber"]


@dataclass(frozen=True)
class _Backend:
    """Where a backend lives, the PyPI package it needs, and its keyword arguments from Settings."""

    module: str
    cls: str
    package: str
    kwargs: Callable[[Settings], dict[str, Any]]


BACKENDS: dict[str, _Backend] = {
    "openai": _Backend(
        "bot.asr.openai", "OpenAITranscriber", "openai",
        lambda s: {"model": s.transcribe_model},
    ),
    "faster-whisper": _Backend(
        "bot.asr.faster_whisper", "FasterWhisperTranscriber", "faster-whisper",
        lambda s: {
            "model": s.whisper_model,
            "compute_type": s.whisper_compute_type,
            "beam_size": s.whisper_beam_size,
            "cpu_threads": s.whisper_threads,
            "cache_dir": s.data_dir / "models",
        },
    ),
    "openai-whisper": _Backend(
        "bot.asr.openai_whisper", "OpenAIWhisperTranscriber", "openai-whisper",
        lambda s: {"model": s.whisper_model, "cache_dir": s.data_dir / "models"},
    ),
}  # fmt: skip


def make_transcriber(
    settings: Settings, *, openai_client: openai.AsyncOpenAI | None
) -> Transcriber:
    """The transcriber ASR_BACKEND names (see Settings.effective_asr_backend).

    Raises:
        BotError: one line naming what to install or set when the backend cannot be built.
    """
    name = settings.effective_asr_backend
    backend = BACKENDS.get(name)
    if backend is None:
        raise BotError(f"unknown ASR_BACKEND={name}; choose one of {', '.join(BACKENDS)}")
    try:
        module = importlib.import_module(backend.module)
    except ModuleNotFoundError as error:
        if error.name and error.name.startswith("bot."):
            raise
        raise BotError(
            f"ASR_BACKEND={name} needs the package {backend.package}: pip install {backend.package}"
        ) from None
    factory = getattr(module, backend.cls)
    if name == "openai":
        if openai_client is None:
            raise BotError("ASR_BACKEND=openai needs OPENAI_API_KEY")
        return factory(openai_client, **backend.kwargs(settings))  # type: ignore[no-any-return]
    return factory(**backend.kwargs(settings))  # type: ignore[no-any-return]
