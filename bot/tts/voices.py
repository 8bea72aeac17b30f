"""Language tables: which voice each backend uses for an ISO 639-1 language code."""

from __future__ import annotations

# espeak-ng voices (Debian's espeak-ng-data). Codes whose voice is named differently are spelled
# out; the rest are voices named exactly like the language.
_ESPEAK_RENAMED: dict[str, str] = {
    "en": "en-us",
    # `cmn` reads Chinese characters as English-spoken pinyin; `cmn-latn-pinyin` speaks Mandarin.
    "zh": "cmn-latn-pinyin",
    "fr": "fr-fr",
    "pt": "pt-br",  # Brazil has most Portuguese speakers
    "no": "nb",
    "iw": "he",
}
_ESPEAK_SAME = (
    "af am ar bg bn bs ca cs cy da de el eo es et eu fa fi ga gd gu he hi hr hu hy id is it ja ka "
    "kk kn ko ky la lb lt lv mk ml mr ms mt my nb ne nl pa pl ro ru si sk sl sq sr sv sw ta te th "
    "tr tt ug uk ur uz vi"
).split()

ESPEAK_VOICES: dict[str, str] = {code: code for code in _ESPEAK_SAME} | _ESPEAK_RENAMED

# gTTS speaks IETF tags from gtts.lang.tts_langs(); these ISO codes are spelled differently there.
GTTS_RENAMED: dict[str, str] = {
    "zh": "zh-CN",
    "he": "iw",
    "jv": "jw",
    "nb": "no",
    "fil": "tl",
}


def base_language(language: str) -> str:
    """The lower-case primary subtag: "en-US" → "en", "ZH" → "zh"."""
    return language.strip().replace("_", "-").split("-")[0].lower()


def espeak_voice(language: str) -> str | None:
    """The espeak-ng voice for `language`, or None when the table has none."""
    return ESPEAK_VOICES.get(base_language(language))


def gtts_language(language: str, supported: frozenset[str]) -> str | None:
    """The gTTS language tag for `language` among the `supported` tags, or None."""
    code = base_language(language)
    tag = GTTS_RENAMED.get(code, code)
    return tag if tag in supported else None
