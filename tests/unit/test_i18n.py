"""The bot's own messages: every language has every message, English is the fallback."""

import pytest

from bot.i18n import TABLES, Key, t, ui_language


@pytest.mark.parametrize("language", sorted(TABLES))
def test_every_language_has_exactly_the_english_keys(language: str) -> None:
    assert set(TABLES[language]) == set(TABLES["en"])


@pytest.mark.parametrize("language", sorted(TABLES))
def test_every_message_formats_with_the_english_placeholders(language: str) -> None:
    import string

    for key, english in TABLES["en"].items():
        wanted = {f for _, f, _, _ in string.Formatter().parse(english) if f}
        found = {f for _, f, _, _ in string.Formatter().parse(TABLES[language][key]) if f}
        assert found == wanted, (language, key)


@pytest.mark.parametrize(
    ("code", "expected"),
    [("ru", "ru"), ("ru-RU", "ru"), ("zh-hans", "zh"), ("pt-br", "en"), (None, "en"), ("", "en")],
    ids=["plain", "region dropped", "script dropped", "unknown falls back", "none", "empty"],
)
def test_ui_language(code: str | None, expected: str) -> None:
    assert ui_language(code) == expected


def test_key_parameters_are_translated_too() -> None:
    text = t("over_quota", "de", kind=Key("kind_tokens"), period=Key("period_day"), resets_at="x")
    assert "Tokens" in text and "tägliches" in text
