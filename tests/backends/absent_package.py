"""A synthesizer module whose package is not installed anywhere."""

from __future__ import annotations

from bot.backends import requires_package
from bot.tts.base import DEFAULT_STYLE, Speech, SpeechStyle, Synthesizer

with requires_package("vna-no-such-package"):
    import vna_no_such_package  # noqa: F401


class NeedsAbsentPackage(Synthesizer):
    """Never importable: its package is missing."""

    name = "absent-package"

    async def synthesize(
        self, text: str, *, language: str, style: SpeechStyle = DEFAULT_STYLE
    ) -> Speech:
        """Never reached."""
        raise AssertionError("imported although its package is missing")
