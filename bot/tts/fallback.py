"""A Synthesizer over an ordered list of Synthesizers: the first that speaks wins."""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Sequence

from bot.errors import SpeechUnavailable
from bot.tts.base import Speech, Synthesizer

logger = logging.getLogger(__name__)


class FallbackSynthesizer(Synthesizer):
    """Tries each backend that can speak the language, in order, and counts failures.

    Args:
        synthesizers: backends in order of preference.
        cooldown: seconds a backend that just failed is tried only after the others
            (so gTTS without a network is not waited on for every sentence); 0 disables it.
        clock: monotonic seconds; injectable for tests.
    """

    def __init__(
        self,
        synthesizers: Sequence[Synthesizer],
        *,
        cooldown: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Keep the backends in order of preference."""
        self.synthesizers = tuple(synthesizers)
        self.name = "+".join(s.name for s in self.synthesizers)
        self.failures: collections.Counter[str] = collections.Counter()
        self._cooldown = cooldown
        self._clock = clock
        self._failed_at: dict[str, float] = {}

    @property
    def preferred(self) -> str:
        """The name of the first backend: the voice the answer should have."""
        return self.synthesizers[0].name if self.synthesizers else ""

    def can_speak(self, language: str) -> bool:
        """Whether any backend can speak `language`."""
        return any(s.can_speak(language) for s in self.synthesizers)

    async def synthesize(self, text: str, *, language: str) -> Speech:
        """Speak with the first backend that succeeds; raise SpeechUnavailable if none does."""
        candidates = self._candidates(language)
        if not candidates:
            raise SpeechUnavailable(f"no synthesizer speaks {language!r}")
        last_error: Exception | None = None
        for synthesizer in candidates:
            try:
                return await synthesizer.synthesize(text, language=language)
            except Exception as error:  # any backend failure means: try the next one
                self._record_failure(synthesizer, error)
                last_error = error
        raise SpeechUnavailable("every synthesizer failed") from last_error

    def _candidates(self, language: str) -> list[Synthesizer]:
        """Capable backends, the ones still cooling down after a failure moved to the end."""
        capable = [s for s in self.synthesizers if s.can_speak(language)]
        cooling = [s for s in capable if self._cooling(s.name)]
        return [s for s in capable if s not in cooling] + cooling

    def _cooling(self, name: str) -> bool:
        failed_at = self._failed_at.get(name)
        return failed_at is not None and self._clock() - failed_at < self._cooldown

    def _record_failure(self, synthesizer: Synthesizer, error: Exception) -> None:
        self.failures[synthesizer.name] += 1
        self._failed_at[synthesizer.name] = self._clock()
        logger.warning("tts backend %s failed: %s", synthesizer.name, type(error).__name__)

    async def aclose(self) -> None:
        """Close every backend."""
        for synthesizer in self.synthesizers:
            await synthesizer.aclose()
