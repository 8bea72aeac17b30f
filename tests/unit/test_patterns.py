"""The shared text patterns: the rules kept where two private copies used to disagree."""

from __future__ import annotations

import pytest

from bot.core.patterns import CJK, SENTENCE_END, SENTENCE_ENDED, WORD, url_spans
from bot.speech import split_sentences


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        pytest.param("See https://example.com/a?b=1.", ["https://example.com/a?b=1"], id="dot"),
        pytest.param("打开https://example.com，然后", ["https://example.com"], id="cjk comma"),
        pytest.param("DATABASE_URL=postgres://u:p@h/db", ["postgres://u:p@h/db"], id="any scheme"),
        pytest.param("Visit WWW.EXAMPLE.ORG today", ["WWW.EXAMPLE.ORG"], id="www in capitals"),
    ],
)
def test_a_url_ends_where_the_sentence_resumes(text: str, urls: list[str]) -> None:
    assert [text[start:end] for start, end in url_spans(text)] == urls


def test_a_link_in_chinese_is_not_read_aloud_but_the_words_after_it_are() -> None:
    assert split_sentences("请打开https://example.com，然后告诉我。") == ["请打开，然后告诉我。"]


def test_a_link_at_a_sentence_end_keeps_the_full_stop() -> None:
    assert split_sentences("Read https://example.com. Then call me.") == ["Read.", "Then call me."]


@pytest.mark.parametrize(
    ("text", "ends"),
    [
        pytest.param("Pi is 3.", 0, id="a Latin mark may still be a decimal point"),
        pytest.param("Pi is 3.14. It", 1, id="a Latin mark with a space after it"),
        pytest.param("第一；第二。", 2, id="CJK marks, the semicolon too, need no space"),
        pytest.param("- one\n- two", 1, id="a line break"),
    ],
)
def test_a_growing_answer_counts_the_sentences_it_finished(text: str, ends: int) -> None:
    assert len(SENTENCE_ENDED.findall(text)) == ends


def test_a_whole_text_ends_its_last_sentence_at_the_end() -> None:
    assert [m.group() for m in SENTENCE_END.finditer("Hola. ¿Qué tal?")] == [".", "?"]


@pytest.mark.parametrize(
    "ch", ["あ", "カ", "中", "㐀", "豈", "한", "\u1100"], ids=lambda c: f"U+{ord(c):04X}"
)
def test_cjk_covers_kana_han_and_hangul_with_its_jamo(ch: str) -> None:
    assert CJK.fullmatch(ch)


def test_a_word_is_letters_and_digits_of_any_script() -> None:
    assert WORD.findall("Hello_world, Привет 42!") == ["Hello", "world", "Привет", "42"]
