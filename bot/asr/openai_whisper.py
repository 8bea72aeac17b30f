"""Local speech recognition with OpenAI's reference `openai-whisper` package (PyTorch)."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bot.asr.base import Transcriber, Transcript
from bot.audio_in import ASR_RATE, wav_to_float32
from bot.backends import requires_package
from bot.core.language import LanguageCode

with requires_package("openai-whisper"):
    import whisper

log = logging.getLogger(__name__)

# Bounded temperature fallback: the default six steps can multiply the time on unclear audio.
TEMPERATURES = (0.0, 0.4)


class OpenAIWhisperTranscriber(Transcriber):
    """Whisper through the `openai-whisper` package; the model loads once, on first use.

    Args:
        model: an official name ("base", "small", ...) or the path of a .pt checkpoint.
        device: the torch device; the bot targets the CPU.
        cache_dir: where whisper downloads official checkpoints.
    """

    name = "openai-whisper"
    offline = True
    piece_seconds = 30.0  # Whisper's own window: a piece is one pass of the encoder
    parallel = 1  # its one worker

    def __init__(self, *, model: str, device: str = "cpu", cache_dir: Path | None = None) -> None:
        self._model_name = model
        self._device = device
        self._cache_dir = cache_dir
        self._model: Any = None
        # A thread lock: loading runs in a worker thread and must work from any event loop.
        self._load_lock = threading.Lock()
        # One inference at a time: parallel calls on a few cores only thrash, and a worker of
        # its own keeps the shared default executor free for decoding and synthesis.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)

    async def load(self) -> None:
        """Load the model now rather than on the first voice note (idempotent)."""
        if self._model is None:
            await asyncio.get_running_loop().run_in_executor(self._worker, self._loaded)

    def _loaded(self) -> Any:
        """The model, loading it under the lock the first time."""
        with self._load_lock:
            if self._model is None:
                log.info("loading openai-whisper model %s on %s", self._model_name, self._device)
                root = str(self._cache_dir) if self._cache_dir else None
                self._model = whisper.load_model(
                    self._model_name, device=self._device, download_root=root
                )
            return self._model

    async def transcribe(
        self,
        wav: bytes,
        *,
        language: str | None = None,
        container: str = "wav",
        retry_unheard: bool = True,
    ) -> Transcript:
        """Recognise 16 kHz mono WAV; a forced `language` skips detection and helps accuracy.

        `retry_unheard` does nothing here: this backend never decodes a note twice.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, self._transcribe_sync, wav, language)

    async def aclose(self) -> None:
        """Stop the inference worker thread."""
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _transcribe_sync(self, wav: bytes, language: str | None) -> Transcript:
        """The blocking part: detect the language (for its probability), then decode."""
        model = self._loaded()
        audio = wav_to_float32(wav)
        probability = 1.0
        if language is None:
            language, probability = _detect_language(model, audio)
        result = whisper.transcribe(
            model,
            audio,
            language=language,
            temperature=TEMPERATURES,
            fp16=False,  # half precision is GPU-only; on the CPU it only prints a warning
            condition_on_previous_text=False,
            verbose=None,
        )
        return Transcript(
            text=str(result["text"]).strip(),
            language=LanguageCode.base_of(language),
            language_probability=probability,
            duration=len(audio) / ASR_RATE,
        )


def _detect_language(model: Any, audio: Any) -> tuple[str, float]:
    """Whisper's own language identification on the first 30 s: (code, probability)."""
    if not model.is_multilingual:
        return "en", 1.0
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(audio), model.dims.n_mels)
    _, probabilities = model.detect_language(mel.to(model.device))
    best = max(probabilities, key=probabilities.get)
    return str(best), float(probabilities[best])
