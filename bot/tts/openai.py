"""OpenAI speech: a Realtime model reading aloud, or the speech endpoint (audio.speech).

OpenAI shuts its speech-endpoint models down on 2027-01-06 and names a Realtime model as their
replacement; OpenAI-compatible servers may still offer the endpoint. TTS_MODEL chooses: a
realtime model (bot.core.readaloud.is_realtime_model) speaks through a pool of Realtime
sessions, any other through `audio.speech`.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import TYPE_CHECKING

import httpx

from bot.backends import Needs
from bot.core.readaloud import differing_words, is_realtime_model
from bot.encoder_process import EncoderProcess
from bot.errors import AudioError, BotError, ServiceError
from bot.openai_errors import translate_openai_error
from bot.tts.base import DEFAULT_STYLE, Speech, SpeechStyle, Synthesizer
from bot.tts.realtime_pool import PCM_RATE, RealtimePool
from bot.tts.realtime_pool import warm_up as warm_realtime

# The built-in voices of audio.speech (openai.types.audio.speech_create_params.Voice).
VOICES = "alloy ash ballad coral echo fable nova onyx sage shimmer verse marin cedar".split()
# Those a Realtime session speaks with (openai.types.realtime: RealtimeAudioConfigOutput.voice).
REALTIME_VOICES = "alloy ash ballad coral echo sage shimmer verse marin cedar".split()

if TYPE_CHECKING:
    from bot.openai_client import OpenAIResources

logger = logging.getLogger(__name__)


class OpenAISynthesizer(Synthesizer):
    """Speaks with one OpenAI model and voice, in any language."""

    name = "openai"
    needs = Needs(openai_client=True)
    # Reading the audio body can break after the SDK has returned the response.
    errors = (httpx.HTTPError,)

    def __init__(
        self,
        client: OpenAIResources,
        *,
        model: str,
        voice: str,
        timeout: float = 10.0,
        realtime_sessions: int = 32,
    ) -> None:
        """Use `client` with `model` and `voice`.

        Args:
            client: the shared client (its own timeout applies to the speech endpoint).
            model: a realtime model, or a speech-endpoint model.
            voice: the voice's name.
            timeout: seconds a realtime session may take to open, or to send a sentence's
                next piece of audio.
            realtime_sessions: the most realtime sessions open at once.

        Raises:
            BotError: a realtime model without the `websockets` package.
        """
        self._client = client
        self._model = model
        self._voice = voice
        self._realtime: RealtimePool | None = None
        self._encoder = EncoderProcess("synthesis")  # the Realtime voice's PCM → Opus
        if is_realtime_model(model):
            if importlib.util.find_spec("websockets") is None:
                raise BotError(f"TTS_MODEL={model} needs a package: pip install 'openai[realtime]'")
            self._realtime = RealtimePool(
                client, model=model, voice=voice, size=realtime_sessions, timeout=timeout
            )

        offered = REALTIME_VOICES if self._realtime is not None else VOICES
        # TTS_VOICE first: it is the voice of users who chose none.
        self.voices = (voice, *(v for v in offered if v != voice))
        # audio.speech has a `speed`; a Realtime session's is fixed for its life, so the tempo
        # of its sentences is changed after synthesis (bot.speech).
        self.native_speed = self._realtime is None

    def warm_up(self) -> None:
        """A Realtime voice: its SDK types (realtime_pool.warm_up) and its encoder process."""
        if self._realtime is None:
            return
        warm_realtime(self._model, self._voice)
        self._encoder.start()

    async def synthesize(
        self, text: str, *, language: str, style: SpeechStyle = DEFAULT_STYLE
    ) -> Speech:
        """Speak `text` as OGG/Opus in the style's voice and speed; failures: ServiceError."""
        if self._realtime is not None:
            return await self._read_aloud(self._realtime, text, self.voice_of(style))
        return await self._speech_endpoint(text, style)

    async def _read_aloud(self, pool: RealtimePool, text: str, voice: str | None) -> Speech:
        """One sentence through a Realtime session, its PCM encoded as an OGG/Opus clip."""
        from bot.voice_out import encode_pcm_clip  # numpy, PyAV: loaded by bot.app's warm-up

        self._encoder.start()  # the first time, while the session speaks
        spoken = await pool.speak(text, voice)
        missed = differing_words(text, spoken.transcript)
        if missed:
            # A count, never the words: they are the user's answer.
            logger.warning(
                "synthesis: the realtime transcript differs from the text in %d words", missed
            )
        try:
            clip = await self._encoder.run(encode_pcm_clip, spoken.pcm, rate=PCM_RATE)
        except AudioError as error:
            raise ServiceError("synthesis", "realtime audio too short", retryable=True) from error
        return Speech(clip, "ogg", self.name, tokens=spoken.tokens)

    async def _speech_endpoint(self, text: str, style: SpeechStyle) -> Speech:
        """One request to audio.speech in the style's voice and speed."""
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

    async def aclose(self) -> None:
        """Close the realtime sessions, if any were opened, and the encoder process."""
        self._encoder.close()
        if self._realtime is not None:
            await self._realtime.aclose()
