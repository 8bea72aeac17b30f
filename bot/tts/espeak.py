"""espeak-ng as a subprocess: offline, robotic, about a hundred languages."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import struct

from bot.backends import Needs
from bot.errors import ServiceError
from bot.tts.base import DEFAULT_STYLE, Speech, SpeechStyle, Synthesizer, base_language

# espeak-ng voices (Debian's espeak-ng-data). Codes whose voice is named differently are spelled
# out; the rest are voices named exactly like the language.
_RENAMED: dict[str, str] = {
    "en": "en-us",
    # `cmn` reads Chinese characters as English-spoken pinyin; `cmn-latn-pinyin` speaks Mandarin.
    "zh": "cmn-latn-pinyin",
    "fr": "fr-fr",
    "pt": "pt-br",  # Brazil has most Portuguese speakers
    "no": "nb",
    "iw": "he",
}
_SAME = (
    "af am ar bg bn bs ca cs cy da de el eo es et eu fa fi ga gd gu he hi hr hu hy id is it ja ka "
    "kk kn ko ky la lb lt lv mk ml mr ms mt my nb ne nl pa pl ro ru si sk sl sq sr sv sw ta te th "
    "tr tt ug uk ur uz vi"
).split()
VOICES: dict[str, str] = {code: code for code in _SAME} | _RENAMED
# Variants (espeak-ng --voices=variant) that any language's voice can take: "en-us+f3".
VARIANTS = ("default", "f1", "f3", "f5", "m1", "m3", "m7", "croak", "whisper")
WORDS_PER_MINUTE = 175  # espeak-ng's own default pace


def espeak_voice(language: str) -> str | None:
    """The espeak-ng voice for `language`, or None when the table has none."""
    return VOICES.get(base_language(language))


class EspeakSynthesizer(Synthesizer):
    """Speaks with Debian's espeak-ng; returns WAV (22.05 kHz mono)."""

    name = "espeak"
    needs = Needs(binaries=("espeak-ng",), install="apt-get install espeak-ng")
    offline = True
    languages = frozenset(VOICES)
    voices = VARIANTS
    native_speed = True  # -s, words per minute

    def __init__(self, *, binary: str | None = None, timeout: float = 10.0) -> None:
        """Use `binary` (default: espeak-ng on PATH) and kill a run after `timeout` seconds."""
        self._binary = binary or "espeak-ng"
        self._timeout = timeout

    @property
    def available(self) -> bool:
        """Whether the espeak-ng binary can be found."""
        return shutil.which(self._binary) is not None

    def can_speak(self, language: str) -> bool:
        """Whether the voice table has `language` and the binary is installed."""
        return super().can_speak(language) and self.available

    async def synthesize(
        self, text: str, *, language: str, style: SpeechStyle = DEFAULT_STYLE
    ) -> Speech:
        """Speak `text` as WAV; raise ServiceError when espeak-ng is missing, fails or hangs."""
        voice = espeak_voice(language)
        binary = shutil.which(self._binary)
        if voice is None or binary is None:
            raise ServiceError("synthesis", "espeak-ng or its voice is not available")
        variant = self.voice_of(style)
        if variant and variant != "default":
            voice = f"{voice}+{variant}"
        pace = str(round(WORDS_PER_MINUTE * style.speed))
        wav = await self._run(binary, voice, pace, text)
        return Speech(_fix_wav_sizes(wav), "wav", self.name, speed=style.speed)

    async def _run(self, binary: str, voice: str, pace: str, text: str) -> bytes:
        # Text goes through stdin, so a leading "-" is never read as an option.
        process = await asyncio.create_subprocess_exec(
            *(binary, "-v", voice, "-s", pace, "-b", "1", "--stdout"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            async with asyncio.timeout(self._timeout):
                wav, _ = await process.communicate(text.encode("utf-8"))
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise ServiceError("synthesis", "espeak-ng timed out", retryable=True) from None
        if process.returncode != 0 or not wav:
            raise ServiceError("synthesis", f"espeak-ng exited with {process.returncode}")
        return wav


def _fix_wav_sizes(wav: bytes) -> bytes:
    """espeak-ng streams to stdout, so its header carries placeholder sizes; write the real ones."""
    if len(wav) < 44 or wav[:4] != b"RIFF" or wav[36:40] != b"data":
        return wav
    header = bytearray(wav[:44])
    struct.pack_into("<I", header, 4, len(wav) - 8)
    struct.pack_into("<I", header, 40, len(wav) - 44)
    return bytes(header) + wav[44:]
