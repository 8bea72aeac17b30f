"""Speech recognition through OpenAI's transcription API (whisper-1 by default)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from bot.asr.base import Transcriber, Transcript
from bot.backends import Needs
from bot.openai_errors import translate_openai_error

if TYPE_CHECKING:
    from bot.openai_client import OpenAIResources

STAGE = "transcription"
# What the API takes as it is (file name and type by bot.audio.sniff_format's container name).
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
# whisper-1 reports no probability for its language. It detects on the first 30 s like local
# Whisper, usually right but sometimes not; 0.9 marks it "confident" for choose_language while
# still below the 1.0 that means "forced".
DETECTED_PROBABILITY = 0.9


def language_code(reported: str | None) -> str | None:
    """ISO 639-1 code for the API's language field ("russian" → "ru"; codes pass through)."""
    if not reported:
        return None
    value = reported.strip().lower()
    if value in LANGUAGE_CODES.values():
        return value
    return LANGUAGE_CODES.get(value)


class OpenAITranscriber(Transcriber):
    """OpenAI's audio.transcriptions; the caller's client sets base_url, timeout and SDK retries."""

    name = "openai"
    needs = Needs(openai_client=True)

    def __init__(self, client: OpenAIResources, *, model: str = "whisper-1") -> None:
        self._client = client
        self._model = model

    accepts = frozenset(_UPLOADS)

    async def transcribe(
        self, audio: bytes, *, language: str | None = None, container: str = "wav"
    ) -> Transcript:
        """Send the audio to the API; a forced `language` is passed through as a hint."""
        import openai  # loaded by bot.app's warm-up, not at start-up (see bot.openai_client)

        name, mime = _UPLOADS.get(container, _UPLOADS["wav"])
        # Only whisper-1 returns verbose_json (with language and duration); the gpt-4o
        # transcription models accept json alone and then report no language.
        verbose = self._model == "whisper-1"
        response_format: Literal["verbose_json", "json"] = "verbose_json" if verbose else "json"
        try:
            response = await self._client.audio.transcriptions.create(
                file=(name, audio, mime),
                model=self._model,
                response_format=response_format,
                language=language or openai.omit,
            )
        except openai.OpenAIError as error:
            raise translate_openai_error(STAGE, error) from error
        text = response if isinstance(response, str) else response.text
        detected = language_code(getattr(response, "language", None))
        duration = getattr(response, "duration", None)
        return Transcript(
            text=(text or "").strip(),
            language=language or detected,
            language_probability=1.0 if language else (DETECTED_PROBABILITY if detected else 0.0),
            duration=float(duration) if duration else _duration(audio, container),
        )


def _duration(audio: bytes, container: str) -> float:
    """Seconds of audio when the API did not say (json format): known for WAV, else 0."""
    from bot.audio import wav_duration  # numpy and PyAV: loaded by bot.app's warm-up

    return wav_duration(audio) if container == "wav" else 0.0
