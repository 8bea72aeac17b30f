"""OpenAI's speech endpoint (audio.speech): multilingual voices, OGG/Opus out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from bot.backends import Needs
from bot.errors import ServiceError
from bot.openai_errors import translate_openai_error
from bot.tts.base import DEFAULT_STYLE, Speech, SpeechStyle, Synthesizer

# The built-in voices of audio.speech (openai.types.audio.speech_create_params.Voice).
VOICES = "alloy ash ballad coral echo fable nova onyx sage shimmer verse marin cedar".split()

if TYPE_CHECKING:
    from bot.openai_client import OpenAIResources


class OpenAISynthesizer(Synthesizer):
    """Speaks through `audio.speech.create` with one model and voice, in any language."""

    name = "openai"
    needs = Needs(openai_client=True)
    # Reading the audio body can break after the SDK has returned the response.
    errors = (httpx.HTTPError,)

    def __init__(self, client: OpenAIResources, *, model: str, voice: str) -> None:
        """Use `client` (its own timeout and retries apply) with `model` and `voice`."""
        self._client = client
        self._model = model
        self._voice = voice
        # TTS_VOICE first: it is the voice of users who chose none.
        self.voices = (voice, *(v for v in VOICES if v != voice))

    native_speed = True  # audio.speech's `speed`

    async def synthesize(
        self, text: str, *, language: str, style: SpeechStyle = DEFAULT_STYLE
    ) -> Speech:
        """Speak `text` as OGG/Opus in the style's voice and speed; SDK errors: ServiceError."""
        import openai  # loaded by bot.app's warm-up, not at start-up (see bot.openai_client)

        try:
            response = await self._client.audio.speech.create(
                model=self._model,
                voice=self.voice_of(style) or self._voice,
                input=text,
                response_format="opus",
                speed=style.speed,
            )
            audio = await response.aread()
        except openai.OpenAIError as error:
            raise translate_openai_error("synthesis", error) from error
        if not audio:
            raise ServiceError("synthesis", "openai returned no audio", retryable=True)
        return Speech(audio, "ogg", self.name, speed=style.speed)
