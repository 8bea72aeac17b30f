"""Sentence chunks for speech: what a voice should read, one sentence at a time."""

import pytest

from bot.speech import estimate_seconds, finished_sentences, split_sentences, within_budget


@pytest.mark.parametrize(
    ("text", "chunks"),
    [
        ("Hello world. How are you? I'm fine!", ["Hello world.", "How are you?", "I'm fine!"]),
        ("你好。今天天气很好！你呢？", ["你好。", "今天天气很好！", "你呢？"]),
        ("Привет! Как дела? Всё хорошо.", ["Привет!", "Как дела?", "Всё хорошо."]),
        ("Hola. ¿Cómo estás? ¡Muy bien!", ["Hola.", "¿Cómo estás?", "¡Muy bien!"]),
        ("Hola.¿Qué tal?", ["Hola.", "¿Qué tal?"]),
        (
            "Guten Tag. Wie geht's? Mir geht es gut.",
            ["Guten Tag.", "Wie geht's?", "Mir geht es gut."],
        ),
        ("Dr. Müller kommt z.B. morgen. Gut.", ["Dr. Müller kommt z.B. morgen.", "Gut."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("Version 3.14 is out... Try it.", ["Version 3.14 is out...", "Try it."]),
        ("First line\nSecond line", ["First line", "Second line"]),
    ],
)
def test_text_splits_into_sentences(text: str, chunks: list[str]) -> None:
    assert split_sentences(text) == chunks


@pytest.mark.parametrize(
    ("text", "chunks"),
    [
        ("## Steps\n**Bold** and _italic_ and `code`.", ["Steps", "Bold and italic and code."]),
        ("- milk\n- eggs\n* bread", ["milk", "eggs", "bread"]),
        ("1. Boil water.\n2) Add pasta.", ["Boil water.", "Add pasta."]),
        ("> Quoted wisdom.", ["Quoted wisdom."]),
        ("<b>Bold</b> &amp; <i>fine</i>.", ["Bold & fine."]),
        ("Read [the guide](https://example.com/guide) now.", ["Read the guide now."]),
        ("See https://example.com/a?b=1 for more.", ["See for more."]),
        ("Visit www.example.org today.", ["Visit today."]),
        ("Great job 🎉👍🏽!", ["Great job!"]),
        ("Run this:\n```bash\nrm -rf /tmp/x\n```\nDone.", ["Run this:", "Done."]),
        ("| a | b |\n|---|---|\n| 1 | 2 |", ["a b", "1 2"]),
        ("snake_case stays whole.", ["snake_case stays whole."]),
    ],
)
def test_markup_is_not_read_aloud(text: str, chunks: list[str]) -> None:
    assert split_sentences(text) == chunks


@pytest.mark.parametrize(
    "text",
    ["", "   \n\n ", "https://example.com", "```\ncode only\n```", "*** --- ***", "🎉🎉"],
)
def test_nothing_speakable_gives_no_chunks(text: str) -> None:
    assert split_sentences(text) == []


@pytest.mark.parametrize(
    ("text", "max_chars", "chunks"),
    [
        ("one two three four five six", 10, ["one two", "three four", "five six"]),
        ("alpha, beta gamma, delta epsilon.", 15, ["alpha,", "beta gamma,", "delta epsilon."]),
        ("甲乙丙，丁戊己，庚辛。", 4, ["甲乙丙，", "丁戊己，", "庚辛。"]),
        ("abcdefghij", 4, ["abcd", "efgh", "ij"]),
    ],
)
def test_long_sentence_splits_at_clauses_then_spaces(
    text: str, max_chars: int, chunks: list[str]
) -> None:
    assert split_sentences(text, max_chars=max_chars) == chunks


@pytest.mark.parametrize("max_chars", [20, 57, 120, 300])
def test_long_text_without_punctuation_keeps_words_whole(max_chars: int) -> None:
    words = [f"word{i}" for i in range(200)]
    chunks = split_sentences(" ".join(words), max_chars=max_chars)
    assert all(len(chunk) <= max_chars for chunk in chunks)
    assert [word for chunk in chunks for word in chunk.split()] == words


@pytest.mark.parametrize(
    "text",
    [
        "One sentence here. Another one there! A third? And the fourth.",
        "第一句。第二句！第三句？第四句。",
        "## Plan\n- Step one is long enough, with a clause.\n- Step two. Step three.\nDone.",
    ],
)
def test_chunks_of_a_draft_agree_with_the_final_text(text: str) -> None:
    final = split_sentences(text)
    for end in range(len(text)):
        complete = split_sentences(text[:end])[:-1]
        assert complete == final[: len(complete)]


@pytest.mark.parametrize(
    ("chunk", "seconds"),
    [("a" * 20, 1.0), ("你好吗？你好", 1.2), ("", 0.0)],
)
def test_estimate_counts_wide_characters_slower(chunk: str, seconds: float) -> None:
    assert estimate_seconds(chunk) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("chunks", "max_seconds", "planned"),
    [
        (["a" * 40, "b" * 40, "c" * 40], 3.0, ["a" * 40, "b" * 40]),
        (["a" * 40, "b" * 40, "c" * 40], 4.0, ["a" * 40, "b" * 40]),
        (["a" * 40, "b" * 40, "c" * 40], 4.1, ["a" * 40, "b" * 40, "c" * 40]),
        (["a" * 400], 1.0, ["a" * 400]),
        ([], 10.0, []),
    ],
)
def test_budget_keeps_chunks_until_the_estimate_fills_it(
    chunks: list[str], max_seconds: float, planned: list[str]
) -> None:
    assert within_budget(chunks, max_seconds) == planned


@pytest.mark.parametrize(
    ("text_so_far", "finished"),
    [
        ("你好。", ["你好。"]),
        ("你好。今天", ["你好。"]),
        ("第一句！第二", ["第一句！"]),
        ("こんにちは。元気", ["こんにちは。"]),
        ("Hello. ", ["Hello."]),
        ("Hello.", []),
        ("Hello. Wor", ["Hello."]),
        ('He said "Stop." ', ['He said "Stop."']),
        ("Dr. ", []),
        ("Line one\n", ["Line one"]),
    ],
    ids=[
        "a CJK mark ends a sentence without a space",
        "the next CJK sentence is still growing",
        "a CJK exclamation",
        "Japanese",
        "a Latin mark and a space",
        "a Latin mark alone may be a decimal point or an abbreviation yet",
        "the next Latin sentence is still growing",
        "a closing quote after the mark",
        "an abbreviation is not a sentence end",
        "a line break",
    ],
)
def test_finished_sentences_of_a_streaming_answer(text_so_far: str, finished: list[str]) -> None:
    assert finished_sentences(text_so_far) == finished
