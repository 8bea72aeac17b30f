"""Speech recognition through OpenAI's transcription API (gpt-transcribe by default).

Three families of model answer differently, and each is asked in its own way:
- gpt-transcribe: `json` with `languages: [{"code": "es"}]` (empty when it cannot tell) and
  `usage` in seconds; a forced language goes as `languages`, never `language`; it streams.
- gpt-4o-transcribe and gpt-4o-mini-transcribe: `json` without a language; they stream.
- whisper-1 and what self-hosted servers serve: `verbose_json` (whisper-1) or `json`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from bot.asr.base import Transcriber, Transcript
from bot.backends import Needs
from bot.core.language import LanguageCode
from bot.errors import ServiceError
from bot.openai_errors import translate_openai_error

if TYPE_CHECKING:
    from openai.types.audio import Transcription, TranscriptionVerbose

    from bot.openai_client import OpenAIResources

STAGE = "transcription"
# What the API takes as it is (file name and type by bot.audio_in.sniff_format's container name).
_UPLOADS = {
    "ogg": ("voice.ogg", "audio/ogg"),
    "wav": ("voice.wav", "audio/wav"),
    "flac": ("audio.flac", "audio/flac"),
    "mp3": ("audio.mp3", "audio/mpeg"),
    "mp4": ("audio.m4a", "audio/mp4"),
}
# The API names the language in English ("russian"); Whisper's own table, code → name.
_WHISPER_LANGUAGES = (
    "en english|zh chinese|de german|es spanish|ru russian|ko korean|fr french|ja japanese|"
    "pt portuguese|tr turkish|pl polish|ca catalan|nl dutch|ar arabic|sv swedish|it italian|"
    "id indonesian|hi hindi|fi finnish|vi vietnamese|he hebrew|uk ukrainian|el greek|ms malay|"
    "cs czech|ro romanian|da danish|hu hungarian|ta tamil|no norwegian|th thai|ur urdu|"
    "hr croatian|bg bulgarian|lt lithuanian|la latin|mi maori|ml malayalam|cy welsh|sk slovak|"
    "te telugu|fa persian|lv latvian|bn bengali|sr serbian|az azerbaijani|sl slovenian|"
    "kn kannada|et estonian|mk macedonian|br breton|eu basque|is icelandic|hy armenian|"
    "ne nepali|mn mongolian|bs bosnian|kk kazakh|sq albanian|sw swahili|gl galician|mr marathi|"
    "pa punjabi|si sinhala|km khmer|sn shona|yo yoruba|so somali|af afrikaans|oc occitan|"
    "ka georgian|be belarusian|tg tajik|sd sindhi|gu gujarati|am amharic|yi yiddish|lo lao|"
    "uz uzbek|fo faroese|ht haitian creole|ps pashto|tk turkmen|nn nynorsk|mt maltese|"
    "sa sanskrit|lb luxembourgish|my myanmar|bo tibetan|tl tagalog|mg malagasy|as assamese|"
    "tt tatar|haw hawaiian|ln lingala|ha hausa|ba bashkir|jw javanese|su sundanese|yue cantonese|"
    # Whisper's aliases.
    "my burmese|ca valencian|nl flemish|ht haitian|lb letzeburgesch|ps pushto|pa panjabi|"
    "ro moldavian|ro moldovan|si sinhalese|es castilian|zh mandarin"
)
LANGUAGE_CODES: dict[str, str] = {
    name: code for code, name in (entry.split(" ", 1) for entry in _WHISPER_LANGUAGES.split("|"))
}
# Models that take `languages` (possible languages) instead of one `language`.
_LANGUAGES_MODELS = ("gpt-transcribe",)
# Models that stream their transcript (`stream=True`); whisper-1 ignores it, and an unknown
# self-hosted model might answer JSON to a streaming request.
_STREAMING_MODELS = ("gpt-transcribe", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
# whisper-1 and gpt-transcribe report no probability for their language. whisper-1 detects on
# the first 30 s like local Whisper, usually right but sometimes not; gpt-transcribe says [] when
# unsure. 0.9 marks either "confident" for choose_language, below the 1.0 that means "forced".
DETECTED_PROBABILITY = 0.9


def language_code(reported: str | None) -> LanguageCode | None:
    """ISO 639-1 code for the API's language field ("russian" → "ru"; codes pass through)."""
    if not reported:
        return None
    value = reported.strip().lower()
    if value in LANGUAGE_CODES.values():
        return LanguageCode.base_of(value)
    return LanguageCode.base_of(LANGUAGE_CODES.get(value))


class OpenAITranscriber(Transcriber):
    """OpenAI's audio.transcriptions; the caller's client sets base_url, timeout and SDK retries."""

    name = "openai"
    needs = Needs(openai_client=True)

    def __init__(
        self, client: OpenAIResources, *, model: str = "gpt-transcribe", stream: bool = True
    ) -> None:
        self._client = client
        self._model = model
        self._stream = stream and model.startswith(_STREAMING_MODELS)

    accepts = frozenset(_UPLOADS)

    async def transcribe(
        self,
        audio: bytes,
        *,
        language: str | None = None,
        container: str = "wav",
        retry_unheard: bool = True,
    ) -> Transcript:
        """Send the audio to the API; a forced `language` is passed through as a hint."""
        return await self.transcribe_growing(
            audio, on_text=None, language=language, container=container
        )

    async def transcribe_growing(
        self,
        audio: bytes,
        *,
        on_text: Callable[[str], None] | None,
        language: str | None = None,
        container: str = "wav",
        retry_unheard: bool = True,
    ) -> Transcript:
        """Transcribe; where the model streams, `on_text` hears the transcript as it grows.

        `retry_unheard` does nothing here: the service has no no-speech test to lift.
        """
        import openai  # loaded by bot.app's warm-up, not at start-up (see bot.openai_client)

        try:
            if self._stream:
                response = await self._streamed(audio, container, language, on_text)
            else:
                response = await self._client.audio.transcriptions.create(
                    **self._request(audio, container, language)
                )
        except openai.OpenAIError as error:
            raise translate_openai_error(STAGE, error) from error
        return self._transcript(response, audio, container, language)

    def _request(self, audio: bytes, container: str, language: str | None) -> dict[str, Any]:
        """The create() arguments this model understands."""
        import openai

        name, mime = _UPLOADS.get(container, _UPLOADS["wav"])
        # Only whisper-1 returns verbose_json (with language and duration); the others take
        # json, in which gpt-transcribe names the language and the gpt-4o models do not.
        verbose = self._model == "whisper-1"
        response_format: Literal["verbose_json", "json"] = "verbose_json" if verbose else "json"
        hint: dict[str, Any] = {"language": language or openai.omit}
        if self._model.startswith(_LANGUAGES_MODELS):
            # gpt-transcribe takes possible languages and refuses both fields at once. Only a
            # language the bot is sure of goes: a user's usual language as a hint would bend
            # a note spoken in another one towards it.
            hint = {"languages": [language] if language else openai.omit}
        return {
            "file": (name, audio, mime),
            "model": self._model,
            "response_format": response_format,
            **hint,
        }

    async def _streamed(
        self,
        audio: bytes,
        container: str,
        language: str | None,
        on_text: Callable[[str], None] | None,
    ) -> Transcription:
        """Read the transcript's events; the done event carries the text and its languages."""
        from openai.types.audio import Transcription

        stream = await self._client.audio.transcriptions.create(
            **self._request(audio, container, language), stream=True
        )
        text = ""
        try:
            async for event in stream:
                if event.type == "transcript.text.delta":
                    text += event.delta
                    if on_text is not None and text.strip():
                        on_text(text.strip())
                elif event.type == "transcript.text.done":
                    return Transcription(text=event.text, languages=event.languages)
        finally:
            await stream.close()
        raise ServiceError(STAGE, "the transcript stream ended early", retryable=True)

    def _transcript(
        self,
        response: Transcription | TranscriptionVerbose | str,
        audio: bytes,
        container: str,
        language: str | None,
    ) -> Transcript:
        text = response if isinstance(response, str) else response.text
        detected = language_code(getattr(response, "language", None)) or _first_language(response)
        duration = getattr(response, "duration", None)
        return Transcript(
            text=(text or "").strip(),
            language=LanguageCode.base_of(language) or detected,
            language_probability=1.0 if language else (DETECTED_PROBABILITY if detected else 0.0),
            duration=float(duration) if duration else _duration(audio, container),
            billed_seconds=_billed_seconds(response),
        )


def _first_language(response: object) -> LanguageCode | None:
    """The first of gpt-transcribe's `languages` (the main one); None when it could not tell."""
    languages = getattr(response, "languages", None) or []
    return LanguageCode.base_of(getattr(languages[0], "code", None)) if languages else None


def _billed_seconds(response: object) -> float | None:
    """The seconds the service says it charged (`usage` of type duration), when it says so."""
    usage = getattr(response, "usage", None)
    if getattr(usage, "type", None) == "duration":
        return float(usage.seconds)  # type: ignore[union-attr]
    return None


def _duration(audio: bytes, container: str) -> float:
    """Seconds of audio when the API did not say (json format): known for WAV, else 0."""
    from bot.audio_in import wav_duration  # numpy and PyAV: loaded by bot.app's warm-up

    return wav_duration(audio) if container == "wav" else 0.0
