"""Speech-to-text backends, chosen by name from the settings; only the chosen one is imported."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.asr.base import Transcriber, Transcript
from bot.backends import Backend, build

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.openai_client import OpenAIResources

__all__ = ["BACKENDS", "Transcriber", "Transcript", "backend_name", "make_transcriber"]

# ASR_BACKEND name → where the class lives and its keyword arguments from Settings. What a
# backend needs (the OpenAI client, a package) it declares itself; see bot.backends.
BACKENDS: dict[str, Backend] = {
    "openai": Backend(
        "bot.asr.openai:OpenAITranscriber",
        lambda s: {"model": s.transcribe_model, "stream": s.transcribe_stream},
    ),
    "faster-whisper": Backend(
        "bot.asr.faster_whisper:FasterWhisperTranscriber",
        lambda s: {
            "model": s.whisper_model,
            "compute_type": s.whisper_compute_type,
            "beam_size": s.whisper_beam_size,
            "cpu_threads": s.whisper_threads,
            "workers": s.whisper_workers,
            "cache_dir": s.data_dir / "models",
        },
    ),
    "openai-whisper": Backend(
        "bot.asr.openai_whisper:OpenAIWhisperTranscriber",
        lambda s: {"model": s.whisper_model, "cache_dir": s.data_dir / "models"},
    ),
}
# ASR_BACKEND's default: the API when OPENAI_API_KEY is set, else the local model.
DEFAULT_WITH_API_KEY = "openai"
DEFAULT_WITHOUT_API_KEY = "faster-whisper"


def backend_name(settings: Settings) -> str:
    """ASR_BACKEND, or else the default for whether an API key is set."""
    if settings.asr_backend:
        return settings.asr_backend
    return DEFAULT_WITH_API_KEY if settings.openai_api_key else DEFAULT_WITHOUT_API_KEY


def make_transcriber(settings: Settings, *, openai_client: OpenAIResources | None) -> Transcriber:
    """The transcriber ASR_BACKEND names (see `backend_name`).

    Raises:
        BotError: one line naming the variable: an unknown name, or what to install or set
            when the backend cannot be built.
    """
    transcriber: Transcriber = build(
        "ASR_BACKEND", backend_name(settings), BACKENDS, settings, openai_client
    )
    return transcriber
