"""Synthesizers whose needs are not met on any machine, for the registry's error messages."""

from __future__ import annotations

from bot.backends import Needs
from bot.tts.base import DEFAULT_STYLE, Speech, SpeechStyle, Synthesizer


class NeedsAbsentBinary(Synthesizer):
    """Declares a program that no PATH has."""

    name = "absent-binary"
    needs = Needs(binaries=("vna-no-such-binary",), install="apt-get install vna-no-such-binary")

    async def synthesize(
        self, text: str, *, language: str, style: SpeechStyle = DEFAULT_STYLE
    ) -> Speech:
        """Never reached: the registry refuses to build it."""
        raise AssertionError("built although its binary is missing")
