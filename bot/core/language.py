"""Which language the user speaks: the recogniser's guess, the text's, and what we know of them.

Pure: no I/O, no clock; langdetect is seeded so the same text always gets the same answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langdetect import DetectorFactory
from langdetect.detector_factory import init_factory
from langdetect.lang_detect_exception import LangDetectException

# langdetect samples at random; a fixed seed makes it a function of its input.
DetectorFactory.seed = 0

DEFAULT_LANGUAGE = "en"
TYPED_CONFIDENCE = 0.9
TYPED_MIN_WORDS = 3
# A CJK character counts as a word: Chinese and Japanese put no spaces between words.
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]|[^\W\d_]+")
_LETTER = re.compile(r"[^\W\d_]")
# langdetect often calls plain Chinese Korean ("明天北京的天气怎么样" → ko, p=0.99999), so the
# CJK languages are told apart by their scripts, which is exact: kana is Japanese, hangul Korean.
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u1100-\u11ff]")
SCRIPT_CONFIDENCE = 0.99


@dataclass(frozen=True)
class LanguageChoice:
    """The language to answer in, where the choice came from, and whether to transcribe again.

    Args:
        language: ISO 639-1 code.
        source: "pinned", "speech", "text", "known", "telegram" or "default".
        retranscribe: run ASR again with `language` forced; the transcript was made in another one.
    """

    language: str
    source: str
    retranscribe: bool


def normalize_language(code: str | None) -> str | None:
    """ISO 639-1 part of a tag: "ru-RU" → "ru", "zh-hans" → "zh"; None when blank."""
    if not code or not code.strip():
        return None
    return re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0] or None


def detect_text_language(
    text: str, *, candidates: frozenset[str] | None = None
) -> tuple[str | None, float]:
    """Guess the language of `text` with langdetect: (ISO 639-1 code, probability).

    With `candidates`, only those languages are considered and their probabilities are
    renormalised among themselves. (None, 0.0) when the text is empty or has no letters.
    """
    if not text.strip():
        return None, 0.0
    by_script = _script_language(text)
    if by_script and (candidates is None or by_script in candidates):
        return by_script, SCRIPT_CONFIDENCE
    init_factory()
    from langdetect.detector_factory import _factory  # set by init_factory()

    detector = _factory.create()
    detector.append(text)
    try:
        detector.get_probabilities()
    except LangDetectException:
        return None, 0.0
    scores: dict[str, float] = {}
    for tag, probability in zip(detector.langlist, detector.langprob, strict=True):
        code = normalize_language(tag)
        if code and (candidates is None or code in candidates):
            scores[code] = scores.get(code, 0.0) + probability  # zh-cn + zh-tw → zh
    total = sum(scores.values())
    if total <= 0:
        return None, 0.0
    best = max(scores, key=scores.__getitem__)
    return best, scores[best] / total


def _script_language(text: str) -> str | None:
    """Japanese, Korean or Chinese when CJK characters make up most of the letters, else None."""
    cjk = len(_CJK.findall(text))
    if not cjk or cjk * 2 < len(_LETTER.findall(text)):
        return None
    if _KANA.search(text):
        return "ja"
    return "ko" if _HANGUL.search(text) else "zh"


def choose_language(
    *,
    asr_language: str | None,
    asr_probability: float,
    text_language: str | None,
    text_probability: float,
    pinned: str | None,
    last_spoken: str | None,
    telegram_language: str | None,
    threshold: float = 0.7,
    text_words: int = TYPED_MIN_WORDS,
) -> LanguageChoice:
    """Decide the language of a voice note, in this order of rules.

    1. A language the user pinned wins.
    2. A confident ASR language (probability >= threshold) wins when the text detector agrees
       or is unsure (below threshold). With no transcript at all to back it, it does not
       override the user's known language: robotic Mandarin came back as Thai (p=0.71) with
       empty text, and forcing Chinese then recovered the words.
    3. Otherwise (ASR unsure, or contradicted by a confident text detector) the user's known
       language wins: the last language they spoke, then their Telegram language.
    4. With nothing known: the ASR guess, then the text guess, then English.

    A recogniser that names no language (gpt-transcribe's `languages: []`, the json of the
    gpt-4o models) leaves the transcript's own language: see `_without_speech_language`. As
    for typed text, a guess on fewer than TYPED_MIN_WORDS words (`text_words`) is no guess:
    langdetect calls "Ok" Afrikaans at p=0.99999.

    `retranscribe` is set whenever the choice differs from the language the transcript was made
    in (the ASR's, else the text's): forcing the language makes Whisper far better on accented
    or synthetic speech (measured: es WER 0.98 → 0.58, de 1.02 → 0.42).
    """
    asr, text = normalize_language(asr_language), normalize_language(text_language)
    heard = asr or text
    if pin := normalize_language(pinned):
        return LanguageChoice(pin, "pinned", heard is not None and pin != heard)
    if asr is None:
        readable = text if text_words >= TYPED_MIN_WORDS else None
        return _without_speech_language(
            readable, text_probability, last_spoken, telegram_language, threshold
        )
    text_confident = text is not None and text_probability >= threshold
    known = normalize_language(last_spoken) or normalize_language(telegram_language)
    backed = text is not None or known in (None, asr)
    if asr and asr_probability >= threshold and (not text_confident or text == asr) and backed:
        return LanguageChoice(asr, "speech", False)
    for known, source in ((last_spoken, "known"), (telegram_language, "telegram")):
        if code := normalize_language(known):
            return LanguageChoice(code, source, heard is not None and code != heard)
    if asr:
        return LanguageChoice(asr, "speech", False)
    if text:
        return LanguageChoice(text, "text", False)
    return LanguageChoice(DEFAULT_LANGUAGE, "default", False)


def _without_speech_language(
    text: str | None,
    text_probability: float,
    last_spoken: str | None,
    telegram_language: str | None,
    threshold: float,
) -> LanguageChoice:
    """The choice when the recogniser named no language: the transcript's text speaks first.

    A confident text language wins (German speech from an English Telegram is German); then
    the language the user last spoke; then the text's unsure guess, which is still about this
    very message; the Telegram language only when there is no transcript to read. Another pass
    is asked for when the choice differs from the text's guess.
    """
    if text is not None and text_probability >= threshold:
        return LanguageChoice(text, "text", False)
    if known := normalize_language(last_spoken):
        return LanguageChoice(known, "known", text is not None and known != text)
    if text is not None:
        return LanguageChoice(text, "text", False)
    if code := normalize_language(telegram_language):
        return LanguageChoice(code, "telegram", False)
    return LanguageChoice(DEFAULT_LANGUAGE, "default", False)


def language_to_hear(
    *,
    asr_language: str | None,
    asr_probability: float,
    pinned: str | None,
    last_spoken: str | None,
    telegram_language: str | None,
    threshold: float = 0.7,
) -> str | None:
    """The language to transcribe in, from an identification made before any transcript.

    The order of choose_language without the text: a pinned language; a confident spoken one
    (a language switch is heard, not overruled by habit); the user's known language; the
    guess. choose_language then checks the transcript and asks for another pass only when the
    text contradicts this choice (robotic Mandarin identified as Thai came back empty).
    """
    if pin := normalize_language(pinned):
        return pin
    asr = normalize_language(asr_language)
    if asr and asr_probability >= threshold:
        return asr
    return normalize_language(last_spoken) or normalize_language(telegram_language) or asr


def count_words(text: str) -> int:
    """Words in `text`, counting each CJK character as one."""
    return len(_WORD.findall(text))


def detect_typed_language(
    text: str,
    *,
    telegram_language: str | None,
    last_spoken: str | None,
    pinned: str | None,
    threshold: float = TYPED_CONFIDENCE,
) -> str:
    """The language of a typed message.

    A pinned language wins; then langdetect when it is confident on at least three words
    (shorter texts are guessed badly); then the Telegram language, the last spoken one, English.
    """
    if pin := normalize_language(pinned):
        return pin
    if count_words(text) >= TYPED_MIN_WORDS:
        guess, probability = detect_text_language(text)
        if guess and probability >= threshold:
            return guess
    return (
        normalize_language(telegram_language) or normalize_language(last_spoken) or DEFAULT_LANGUAGE
    )
