"""Which language the user speaks: the recogniser's guess, the text's, and what we know of them.

Pure: no I/O, no clock; langdetect is seeded so the same text always gets the same answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langdetect import DetectorFactory
from langdetect.detector_factory import init_factory
from langdetect.lang_detect_exception import LangDetectException

from bot.core.patterns import CJK, CJK_CHARS, HANGUL, KANA, LETTER

# langdetect samples at random; a fixed seed makes it a function of its input.
DetectorFactory.seed = 0

TYPED_CONFIDENCE = 0.9
TYPED_MIN_WORDS = 3
# A CJK character counts as a word: Chinese and Japanese put no spaces between words. Digits
# are no words here: they say nothing of a language.
_COUNTED_WORD = re.compile(rf"[{CJK_CHARS}]|[^\W\d_]+")
# langdetect often calls plain Chinese Korean ("明天北京的天气怎么样" → ko, p=0.99999), so the
# CJK languages are told apart by their scripts, which is exact: kana is Japanese, hangul Korean.
SCRIPT_CONFIDENCE = 0.99


@dataclass(frozen=True)
class LanguageChoice:
    """The language to answer in, where the choice came from, and whether to transcribe again.

    Args:
        language: ISO 639-1 code.
        source: "pinned", "speech", "text", "known", "telegram" or "default".
        retranscribe: run ASR again with `language` forced; the transcript was made in another one.
    """

    language: LanguageCode
    source: str
    retranscribe: bool


class LanguageCode(str):
    """A language tag normalised where it enters the bot: trimmed, lower case, "-" between subtags.

    Made only by `parse` (or `base_of`), so a value of this type is known to be normalised: the
    code past the entry points compares and looks up codes without normalising them again.
    """

    __slots__ = ()

    @classmethod
    def parse(cls, raw: str | None) -> LanguageCode | None:
        """The tag as said: "ru_RU " → "ru-ru", "zh-Hans" → "zh-hans"; None when blank."""
        first, *rest = re.split(r"[-_]", (raw or "").strip().lower())
        return cls("-".join([first, *filter(None, rest)])) if first else None

    @classmethod
    def base_of(cls, raw: str | None) -> LanguageCode | None:
        """The primary subtag of a raw tag ("ru-RU" → "ru"): what the bot acts on. None if blank."""
        code = cls.parse(raw)
        return code.base if code is not None else None

    @property
    def base(self) -> LanguageCode:
        """The primary subtag, the ISO 639-1 language: "pt-br" → "pt"."""
        return LanguageCode(self.split("-", 1)[0])


def normalize_language(code: str | None) -> LanguageCode | None:
    """ISO 639-1 part of a tag: "ru-RU" → "ru", "zh-hans" → "zh"; None when blank.

    The name of `LanguageCode.base_of` from before it, kept for code written against it.
    """
    return LanguageCode.base_of(code)


DEFAULT_LANGUAGE = LanguageCode("en")
_JA, _KO, _ZH = LanguageCode("ja"), LanguageCode("ko"), LanguageCode("zh")


def detect_text_language(
    text: str, *, candidates: frozenset[str] | None = None
) -> tuple[LanguageCode | None, float]:
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
    scores: dict[LanguageCode, float] = {}
    for tag, probability in zip(detector.langlist, detector.langprob, strict=True):
        code = LanguageCode.base_of(tag)  # langdetect's tags enter here
        if code and (candidates is None or code in candidates):
            scores[code] = scores.get(code, 0.0) + probability  # zh-cn + zh-tw → zh
    total = sum(scores.values())
    if total <= 0:
        return None, 0.0
    best = max(scores, key=scores.__getitem__)
    return best, scores[best] / total


def _script_language(text: str) -> LanguageCode | None:
    """Japanese, Korean or Chinese when CJK characters make up most of the letters, else None."""
    cjk = len(CJK.findall(text))
    if not cjk or cjk * 2 < len(LETTER.findall(text)):
        return None
    if KANA.search(text):
        return _JA
    return _KO if HANGUL.search(text) else _ZH


def choose_language(
    *,
    asr_language: LanguageCode | None,
    asr_probability: float,
    text_language: LanguageCode | None,
    text_probability: float,
    pinned: LanguageCode | None,
    last_spoken: LanguageCode | None,
    telegram_language: LanguageCode | None,
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
    asr, text = asr_language, text_language
    heard = asr or text
    if pinned:
        return LanguageChoice(pinned, "pinned", heard is not None and pinned != heard)
    if asr is None:
        readable = text if text_words >= TYPED_MIN_WORDS else None
        return _without_speech_language(
            readable, text_probability, last_spoken, telegram_language, threshold
        )
    text_confident = text is not None and text_probability >= threshold
    known = last_spoken or telegram_language
    backed = text is not None or known in (None, asr)
    if asr and asr_probability >= threshold and (not text_confident or text == asr) and backed:
        return LanguageChoice(asr, "speech", False)
    for known, source in ((last_spoken, "known"), (telegram_language, "telegram")):
        if known:
            return LanguageChoice(known, source, heard is not None and known != heard)
    if asr:
        return LanguageChoice(asr, "speech", False)
    if text:
        return LanguageChoice(text, "text", False)
    return LanguageChoice(DEFAULT_LANGUAGE, "default", False)


def _without_speech_language(
    text: LanguageCode | None,
    text_probability: float,
    last_spoken: LanguageCode | None,
    telegram_language: LanguageCode | None,
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
    if last_spoken:
        return LanguageChoice(last_spoken, "known", text is not None and last_spoken != text)
    if text is not None:
        return LanguageChoice(text, "text", False)
    if telegram_language:
        return LanguageChoice(telegram_language, "telegram", False)
    return LanguageChoice(DEFAULT_LANGUAGE, "default", False)


def language_to_hear(
    *,
    asr_language: LanguageCode | None,
    asr_probability: float,
    pinned: LanguageCode | None,
    last_spoken: LanguageCode | None,
    telegram_language: LanguageCode | None,
    threshold: float = 0.7,
) -> LanguageCode | None:
    """The language to transcribe in, from an identification made before any transcript.

    The order of choose_language without the text: a pinned language; a confident spoken one
    (a language switch is heard, not overruled by habit); the user's known language; the
    guess. choose_language then checks the transcript and asks for another pass only when the
    text contradicts this choice (robotic Mandarin identified as Thai came back empty).
    """
    if pinned:
        return pinned
    if asr_language and asr_probability >= threshold:
        return asr_language
    return last_spoken or telegram_language or asr_language


def count_words(text: str) -> int:
    """Words in `text`, counting each CJK character as one."""
    return len(_COUNTED_WORD.findall(text))


def detect_typed_language(
    text: str,
    *,
    telegram_language: LanguageCode | None,
    last_spoken: LanguageCode | None,
    pinned: LanguageCode | None,
    threshold: float = TYPED_CONFIDENCE,
) -> LanguageCode:
    """The language of a typed message.

    A pinned language wins; then langdetect when it is confident on at least three words
    (shorter texts are guessed badly); then the Telegram language, the last spoken one, English.
    """
    if pinned:
        return pinned
    if count_words(text) >= TYPED_MIN_WORDS:
        guess, probability = detect_text_language(text)
        if guess and probability >= threshold:
            return guess
    return telegram_language or last_spoken or DEFAULT_LANGUAGE
