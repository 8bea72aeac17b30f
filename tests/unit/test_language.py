"""The language rules: what the user spoke, what they typed, and when to transcribe again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.language import (
    LanguageChoice,
    choose_language,
    detect_text_language,
    detect_typed_language,
    language_to_hear,
    normalize_language,
)

MANIFEST = json.loads((Path(__file__).parents[1] / "fixtures" / "manifest.json").read_text())
SPOKEN_TEXTS = [(m["file"], m["language"], m["text"]) for m in MANIFEST if m["kind"] == "speech"]
FIVE = frozenset({"en", "zh", "ru", "es", "de"})


def voice(
    asr: str | None,
    asr_p: float,
    text: str | None = None,
    text_p: float = 0.0,
    *,
    pinned: str | None = None,
    last: str | None = None,
    tg: str | None = None,
) -> dict[str, object]:
    """choose_language's keyword arguments, compactly."""
    return {
        "asr_language": asr,
        "asr_probability": asr_p,
        "text_language": text,
        "text_probability": text_p,
        "pinned": pinned,
        "last_spoken": last,
        "telegram_language": tg,
    }


CHOOSE_RULES = [
    pytest.param(
        voice("en", 0.95, "en", 0.99, pinned="de"),
        LanguageChoice("de", "pinned", True),
        id="a pinned language wins and English heard is retranscribed in it",
    ),
    pytest.param(
        voice("ru", 1.0, "ru", 0.99, pinned="ru"),
        LanguageChoice("ru", "pinned", False),
        id="a pinned language already forced needs no second pass",
    ),
    pytest.param(
        voice("en", 0.95, "en", 0.99, tg="ru"),
        LanguageChoice("en", "speech", False),
        id="confident English from a Russian-speaking user stays English",
    ),
    pytest.param(
        voice("de", 0.88, "de", 0.3, last="ru"),
        LanguageChoice("de", "speech", False),
        id="confident speech wins when the text detector is unsure",
    ),
    pytest.param(
        voice("th", 0.71, None, 0.0, tg="zh"),
        LanguageChoice("zh", "telegram", True),
        id="a confident guess with nothing heard yields to the user's language, retranscribed",
    ),
    pytest.param(
        voice("de", 0.88, None, 0.0),
        LanguageChoice("de", "speech", False),
        id="a confident guess with nothing heard stands when nothing is known",
    ),
    pytest.param(
        voice("de", 0.88, "nl", 0.5, tg="ru"),
        LanguageChoice("de", "speech", False),
        id="confident speech wins over an unsure text detector",
    ),
    pytest.param(
        voice("lv", 0.31, "lv", 0.99, tg="ru"),
        LanguageChoice("ru", "telegram", True),
        id="unsure Latvian from a Russian-speaking user becomes Russian, retranscribed",
    ),
    pytest.param(
        voice("ka", 0.30, None, 0.0, tg="ru-RU"),
        LanguageChoice("ru", "telegram", True),
        id="the Telegram language ru-RU counts as ru",
    ),
    pytest.param(
        voice("en", 0.42, "en", 0.99, last="de", tg="ru"),
        LanguageChoice("de", "known", True),
        id="the last spoken language comes before the Telegram language",
    ),
    pytest.param(
        voice("it", 0.81, "es", 0.99, tg="es"),
        LanguageChoice("es", "telegram", True),
        id="confident speech contradicted by confident text yields to the known language",
    ),
    pytest.param(
        voice("zh", 0.5, "zh", 0.9, tg="zh-hans"),
        LanguageChoice("zh", "telegram", False),
        id="unsure speech that matches the known language is not retranscribed",
    ),
    pytest.param(
        voice("pt", 0.6, None, 0.0, tg="pt-br"),
        LanguageChoice("pt", "telegram", False),
        id="the Telegram language pt-br counts as pt",
    ),
    pytest.param(
        voice("it", 0.5, "es", 0.99),
        LanguageChoice("it", "speech", False),
        id="with nothing known the speech guess is kept",
    ),
    pytest.param(
        voice(None, 0.0, "es", 0.99),
        LanguageChoice("es", "text", False),
        id="with nothing known and no speech guess the text guess is used",
    ),
    pytest.param(
        voice(None, 0.0, None, 0.0),
        LanguageChoice("en", "default", False),
        id="with no guess at all the answer is English",
    ),
    pytest.param(
        voice(None, 0.0, "ru", 0.99, tg="ru"),
        LanguageChoice("ru", "text", False),
        id="a transcript without a speech language is not retranscribed in the language it is in",
    ),
    pytest.param(
        voice(None, 0.0, "de", 0.99, tg="en"),
        LanguageChoice("de", "text", False),
        id="no speech language: confident German text wins over an English Telegram",
    ),
    pytest.param(
        voice(None, 0.0, "de", 0.99, last="es", tg="en"),
        LanguageChoice("de", "text", False),
        id="no speech language: confident text wins over the last spoken language",
    ),
    pytest.param(
        voice(None, 0.0, "nl", 0.4, last="de", tg="en"),
        LanguageChoice("de", "known", True),
        id="no speech language: unsure text yields to the last spoken language, retranscribed",
    ),
    pytest.param(
        voice(None, 0.0, "es", 0.5, tg="en"),
        LanguageChoice("es", "text", False),
        id="no speech language: an unsure text guess comes before the Telegram language",
    ),
    pytest.param(
        voice(None, 0.0, None, 0.0, last="ru", tg="en"),
        LanguageChoice("ru", "known", False),
        id="no speech language and no text: the last spoken language",
    ),
    pytest.param(
        voice(None, 0.0, None, 0.0, tg="zh-hans"),
        LanguageChoice("zh", "telegram", False),
        id="no speech language, no text, nothing spoken before: the Telegram language",
    ),
    pytest.param(
        {**voice(None, 0.0, "af", 0.99, last="ru", tg="en"), "text_words": 1},
        LanguageChoice("ru", "known", False),
        id="no speech language: a one-word transcript's guess is no guess (Ok is not Afrikaans)",
    ),
    pytest.param(
        {**voice(None, 0.0, "af", 0.99, tg="en"), "text_words": 2},
        LanguageChoice("en", "telegram", False),
        id="no speech language, too few words, nothing spoken before: the Telegram language",
    ),
    pytest.param(
        voice(None, 0.0, "en", 0.99, pinned="es", tg="en"),
        LanguageChoice("es", "pinned", True),
        id="no speech language: a pinned language still wins, retranscribed",
    ),
]


@pytest.mark.parametrize(("arguments", "expected"), CHOOSE_RULES)
def test_choose_language(arguments: dict[str, object], expected: LanguageChoice) -> None:
    assert choose_language(**arguments) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        pytest.param(0.7, LanguageChoice("ru", "telegram", True), id="0.65 is unsure at 0.7"),
        pytest.param(0.6, LanguageChoice("es", "speech", False), id="0.65 is confident at 0.6"),
    ],
)
def test_choose_language_threshold_is_configurable(
    threshold: float, expected: LanguageChoice
) -> None:
    arguments = voice("es", 0.65, "es", 0.5, tg="ru")
    assert choose_language(**arguments, threshold=threshold) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "telegram", "last", "pinned", "expected"),
    [
        pytest.param("Wie wird das Wetter morgen?", "ru", None, "es", "es", id="pinned wins"),
        pytest.param("Wie wird das Wetter morgen?", "ru", "en", None, "de", id="confident German"),
        pytest.param("请问明天北京的天气怎么样", "en", None, None, "zh", id="confident Chinese"),
        pytest.param("ok", "ru-RU", "de", None, "ru", id="one word falls back to Telegram"),
        pytest.param("да нет", "en", None, None, "en", id="two words are too few to detect"),
        pytest.param("👍 👍 👍", None, "de", None, "de", id="no letters falls back to last spoken"),
        pytest.param("12 34 56", None, None, None, "en", id="nothing known is English"),
    ],
)
def test_detect_typed_language(
    text: str, telegram: str | None, last: str | None, pinned: str | None, expected: str
) -> None:
    chosen = detect_typed_language(
        text, telegram_language=telegram, last_spoken=last, pinned=pinned
    )
    assert chosen == expected


@pytest.mark.parametrize(
    ("name", "language", "text"), [pytest.param(*s, id=s[0]) for s in SPOKEN_TEXTS]
)
def test_detect_text_language_on_sample_texts(name: str, language: str, text: str) -> None:
    detected, probability = detect_text_language(text)
    assert (detected, probability > 0.7) == (language, True)


@pytest.mark.parametrize(
    ("text", "candidates", "expected"),
    [
        pytest.param("", None, None, id="empty text has no language"),
        pytest.param("  12 345 !!", None, None, id="digits and punctuation have no language"),
        pytest.param(
            "Привет как дела", FIVE, "ru", id="candidates keep a short Russian from Macedonian"
        ),
        pytest.param(
            "你好，请问明天早上北京的天气怎么样？", None, "zh", id="zh-cn is reported as zh"
        ),
        pytest.param(
            "明天北京的天气怎么样？", None, "zh", id="Chinese without hangul is not Korean"
        ),
        pytest.param("東京の天気はどうですか", None, "ja", id="kana makes it Japanese"),
        pytest.param("서울 날씨 어때요", None, "ko", id="hangul makes it Korean"),
    ],
)
def test_detect_text_language_edges(
    text: str, candidates: frozenset[str] | None, expected: str | None
) -> None:
    assert detect_text_language(text, candidates=candidates)[0] == expected


def test_detect_text_language_is_deterministic() -> None:
    results = {detect_text_language("Labas rytas, kaip sekasi?") for _ in range(5)}
    assert len(results) == 1


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ru-RU", "ru"),
        ("zh-hans", "zh"),
        ("pt-br", "pt"),
        ("EN", "en"),
        ("pt_BR", "pt"),
        ("", None),
    ],
)
def test_normalize_language(code: str, expected: str | None) -> None:
    assert normalize_language(code) == expected


@pytest.mark.parametrize(
    ("asr", "probability", "pinned", "last", "telegram", "expected"),
    [
        pytest.param("de", 0.9, "es", "en", "ru", "es", id="a pinned language wins"),
        pytest.param("de", 0.9, None, "en", "ru", "de", id="a confident switch is heard"),
        pytest.param("lv", 0.3, None, "ru", "en", "ru", id="unsure: the language last spoken"),
        pytest.param("th", 0.5, None, None, "zh-hans", "zh", id="unsure: the Telegram language"),
        pytest.param("it", 0.4, None, None, None, "it", id="nothing known: the guess"),
    ],
)
def test_language_to_hear_before_any_transcript(
    asr: str,
    probability: float,
    pinned: str | None,
    last: str | None,
    telegram: str | None,
    expected: str,
) -> None:
    chosen = language_to_hear(
        asr_language=asr,
        asr_probability=probability,
        pinned=pinned,
        last_spoken=last,
        telegram_language=telegram,
    )
    assert chosen == expected
