"""A Synthesizer over an ordered list of Synthesizers: the first that speaks wins."""

from __future__ import annotations

import collections
import logging
import subprocess
import time
from collections.abc import Callable, Sequence

from bot.errors import ServiceError, SpeechUnavailable
from bot.tts.base import DEFAULT_STYLE, Speech, SpeechStyle, Synthesizer

logger = logging.getLogger(__name__)

# What any backend may raise when its service or program fails (TimeoutError is an OSError).
# Anything else (TypeError, KeyError, ...) is a bug and must surface, not read as a flaky voice.
SERVICE_ERRORS: tuple[type[Exception], ...] = (
    ServiceError,
    SpeechUnavailable,
    OSError,
    subprocess.SubprocessError,
)
# (failed backend, the backend tried next or "none") for the Prometheus counter.
FallbackHook = Callable[[str, str], None]


class FallbackSynthesizer(Synthesizer):
    """Tries each backend that can speak the language, in order, and counts failures.

    Args:
        synthesizers: backends in order of preference.
        cooldown: seconds a backend that just failed is tried only after the others
            (so gTTS without a network is not waited on for every sentence); 0 disables it.
        clock: monotonic seconds; injectable for tests.
        on_fallback: called with (failed backend, next backend or "none") for each failure.
    """

    def __init__(
        self,
        synthesizers: Sequence[Synthesizer],
        *,
        cooldown: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        on_fallback: FallbackHook | None = None,
    ) -> None:
        """Keep the backends in order of preference."""
        self.synthesizers = tuple(synthesizers)
        self.name = "+".join(s.name for s in self.synthesizers)
        self.failures: collections.Counter[str] = collections.Counter()
        self._cooldown = cooldown
        self._clock = clock
        self._failed_at: dict[str, float] = {}
        self._on_fallback = on_fallback

    @property
    def voices(self) -> tuple[str, ...]:  # type: ignore[override]
        """The first backend's voices: the ones a user chooses from."""
        return self.synthesizers[0].voices if self.synthesizers else ()

    @property
    def preferred(self) -> str:
        """The name of the first backend: the voice the answer should have."""
        return self.synthesizers[0].name if self.synthesizers else ""

    def can_speak(self, language: str) -> bool:
        """Whether any backend can speak `language`."""
        return any(s.can_speak(language) for s in self.synthesizers)

    async def synthesize(
        self, text: str, *, language: str, style: SpeechStyle = DEFAULT_STYLE
    ) -> Speech:
        """Speak with the first backend that succeeds; raise SpeechUnavailable if none does."""
        candidates = self._candidates(language)
        if not candidates:
            raise SpeechUnavailable(f"no synthesizer speaks {language!r}")
        last_error: Exception | None = None
        followers = [s.name for s in candidates[1:]] + ["none"]
        for synthesizer, following in zip(candidates, followers, strict=True):
            try:
                return await synthesizer.synthesize(text, language=language, style=style)
            except SERVICE_ERRORS + synthesizer.errors as error:
                self._record_failure(synthesizer, error, following)
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

    def _record_failure(self, synthesizer: Synthesizer, error: Exception, following: str) -> None:
        self.failures[synthesizer.name] += 1
        self._failed_at[synthesizer.name] = self._clock()
        # The reason, never the text: no backend puts what it was asked to say in its errors.
        logger.warning(
            "tts backend %s failed (next: %s): %s: %s",
            synthesizer.name,
            following,
            type(error).__name__,
            error,
        )
        if self._on_fallback is not None:
            self._on_fallback(synthesizer.name, following)

    def warm_up(self) -> None:
        """Warm every backend up."""
        for synthesizer in self.synthesizers:
            synthesizer.warm_up()

    async def aclose(self) -> None:
        """Close every backend."""
        for synthesizer in self.synthesizers:
            await synthesizer.aclose()
