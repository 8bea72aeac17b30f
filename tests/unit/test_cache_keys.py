"""Cache keys and the rule for which answers may be shared between users."""

import pytest

from bot.core.cache_keys import (
    answer_key,
    is_cacheable,
    normalize_question,
    speech_key,
    voice_id,
)
from bot.errors import is_retryable_status

BASE = {"language": "en", "model": "gpt-4o-mini", "system_prompt": "Be nice."}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(
            "What is the capital of France?",
            "what is the capital of france",
            id="case and final punctuation",
        ),
        pytest.param("  two   spaces ", "two spaces", id="spacing"),
        pytest.param("ＡＢＣ？", "abc", id="full-width characters"),
        pytest.param("ｶﾀｶﾅ", "カタカナ", id="half-width katakana"),
        pytest.param("Cafe\u0301", "Café", id="a combining accent or a precomposed letter"),
        pytest.param("no\u00a0break", "no break", id="a no-break space"),
        pytest.param("\ufeed\ufeee", "\u0648\u0648", id="Arabic positional forms"),
    ],
)
def test_the_same_question_written_differently_shares_a_key(a: str, b: str) -> None:
    assert normalize_question(a) == normalize_question(b)
    assert answer_key(question=a, **BASE) == answer_key(question=b, **BASE)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("What is 2⁸ in decimal?", "What is 28 in decimal?", id="a superscript"),
        pytest.param("What is x₂?", "What is x2?", id="a subscript"),
        pytest.param("Is ½ more than 0.4?", "Is 1/2 more than 0.4?", id="a fraction"),
        pytest.param("Is ½ more than 0.4?", "Is 1⁄2 more than 0.4?", id="a fraction slash"),
        pytest.param("What comes after ①?", "What comes after 1?", id="a circled digit"),
        pytest.param("What is ٢٨ + 1?", "What is 28 + 1?", id="Arabic-Indic digits"),
        pytest.param("What is २८ + 1?", "What is 28 + 1?", id="Devanagari digits"),
        pytest.param("What is Ⅳ?", "What is IV?", id="a Roman numeral sign"),
        pytest.param("What does ㎏ mean?", "What does kg mean?", id="a squared unit"),
        pytest.param("Define ℕ", "Define N", id="a mathematical letter"),
    ],
)
def test_questions_that_only_look_alike_keep_their_own_keys(a: str, b: str) -> None:
    assert normalize_question(a) != normalize_question(b)
    assert answer_key(question=a, **BASE) != answer_key(question=b, **BASE)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"language": "de"}, id="another language"),
        pytest.param({"model": "gpt-4o"}, id="another model"),
        pytest.param({"system_prompt": "Be brief."}, id="another persona"),
    ],
)
def test_anything_that_changes_the_answer_changes_the_key(change: dict) -> None:
    assert answer_key(question="hi", **BASE) != answer_key(question="hi", **{**BASE, **change})


def test_speech_keys_differ_by_voice() -> None:
    assert speech_key(text="hi", language="en", voice="gtts") != speech_key(
        text="hi", language="en", voice="espeak"
    )


@pytest.mark.parametrize(
    ("question", "answer", "has_context", "cacheable"),
    [
        pytest.param(
            "What is 2+2?", "4.", False, True, id="an impersonal first question is shared"
        ),
        pytest.param("What is 2+2?", "4.", True, False, id="an answer given with context is not"),
        pytest.param("Is [PHONE_1] valid?", "Yes.", False, False, id="a masked question is not"),
        pytest.param(
            "Who are you?",
            "Write to help@example.com",
            False,
            False,
            id="an answer with an e-mail is not",
        ),
        pytest.param(
            "Who are you?",
            "Call [PHONE_1].",
            False,
            False,
            id="an answer with a placeholder is not",
        ),
        pytest.param("Hi", "   ", False, False, id="an empty answer is not"),
    ],
)
def test_is_cacheable(question: str, answer: str, has_context: bool, cacheable: bool) -> None:
    assert is_cacheable(question=question, answer=answer, has_context=has_context) is cacheable


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(429, True), (500, True), (503, True), (None, True), (400, False), (401, False), (404, False)],
    ids=[
        "rate limited",
        "server error",
        "unavailable",
        "no answer at all",
        "bad request",
        "unauthorised",
        "not found",
    ],
)
def test_which_failures_are_worth_another_try(status: int | None, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable


def test_a_sentence_spoken_in_another_voice_or_at_another_speed_has_another_key() -> None:
    keys = {
        speech_key(text="Hello.", language="en", voice=voice_id(backend="openai", voice=v, speed=s))
        for v in ("alloy", "nova")
        for s in (1.0, 1.25)
    }
    assert len(keys) == 4


def test_the_voice_id_names_backend_voice_and_speed() -> None:
    assert voice_id(backend="openai", voice="nova", speed=1.25) == "openai/nova@1.25"
    assert voice_id(backend="gtts", voice=None, speed=1.0) == "gtts/-@1"
