"""Splitting long answers and rendering Markdown for Telegram."""

import pytest

from bot.core.text import is_blank, markdown_to_html, mentions_bot, split_message, strip_mention


@pytest.mark.parametrize(
    ("text", "limit", "expected_parts"),
    [
        pytest.param("short", 4096, ["short"], id="short text is one part"),
        pytest.param("", 4096, [""], id="empty text is one empty part"),
        pytest.param("aaaa bbbb cccc", 10, ["aaaa bbbb ", "cccc"], id="cuts at a space"),
        pytest.param(
            "aaaa aaaa.\n\nbbb bbb bbb",
            16,
            ["aaaa aaaa.\n\n", "bbb bbb bbb"],
            id="prefers a paragraph break",
        ),
        pytest.param("x" * 25, 10, ["x" * 10, "x" * 10, "x" * 5], id="an unbroken run is cut hard"),
    ],
)
def test_split_message(text: str, limit: int, expected_parts: list[str]) -> None:
    assert split_message(text, limit) == expected_parts


def test_split_message_never_loses_a_character() -> None:
    text = " ".join(f"word{i}." for i in range(3000))
    parts = split_message(text)
    assert "".join(parts) == text
    assert all(len(part) <= 4096 for part in parts)


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        pytest.param("**bold**", "<b>bold</b>", id="bold"),
        pytest.param("*italic* text", "<i>italic</i> text", id="italic"),
        pytest.param("use `x < y`", "use <code>x &lt; y</code>", id="inline code is escaped"),
        pytest.param("```py\nprint(1)\n```", "<pre>print(1)</pre>", id="fenced code"),
        pytest.param("## Title", "<b>Title</b>", id="heading becomes bold"),
        pytest.param(
            "5 * 3 = 15 & 2 < 3", "5 * 3 = 15 &amp; 2 &lt; 3", id="plain symbols are escaped"
        ),
    ],
)
def test_markdown_to_html(markdown: str, html: str) -> None:
    assert markdown_to_html(markdown) == html


@pytest.mark.parametrize(
    "written",
    [
        pytest.param("\x000\x00 `a` \x003\x00", id="NUL around digits"),
        pytest.param("\x00 `a` \x00", id="bare NULs"),
        pytest.param("\ue0000\ue000 `a` \ue0001\ue000", id="private-use characters"),
        pytest.param("".join(map(chr, range(0xE000, 0xE010))) + "`a`", id="a run of them"),
    ],
)
def test_no_character_the_model_writes_is_taken_for_a_code_span(written: str) -> None:
    rendered = markdown_to_html(written)
    assert rendered.count("<code>a</code>") == 1
    assert rendered.replace("<code>a</code>", "a") == written.replace("`a`", "a")


@pytest.mark.parametrize(
    ("text", "mentioned", "stripped"),
    [
        pytest.param("@voice_test_bot hi there", True, "hi there", id="mention at start"),
        pytest.param("hi @Voice_Test_Bot!", True, "hi !", id="mention is case-insensitive"),
        pytest.param(
            "hi @voice_test_bot_fan", False, "hi @voice_test_bot_fan", id="longer name is not us"
        ),
    ],
)
def test_mentions(text: str, mentioned: bool, stripped: str) -> None:
    assert mentions_bot(text, "voice_test_bot") is mentioned
    assert strip_mention(text, "voice_test_bot") == stripped


@pytest.mark.parametrize(
    ("text", "blank"),
    [
        pytest.param("", True, id="empty"),
        pytest.param(" \n\t\u00a0\u3000", True, id="spaces of every kind"),
        pytest.param("\u200b\u200c\u200d\u2060\ufeff", True, id="zero-width characters"),
        pytest.param("\u200e\u200f\u202a\u202c\u2066\u2069", True, id="direction marks"),
        pytest.param("\u3164\u2800\u115f", True, id="fillers pasted as empty text"),
        pytest.param("\u0301\ufe0f", True, id="lone combining marks"),
        pytest.param("\u200bhi\u200b", False, id="a word between zero-width spaces"),
        pytest.param("\u200f\u05e9\u05dc\u05d5\u05dd", False, id="Hebrew after a direction mark"),
        pytest.param("👍", False, id="an emoji"),
        pytest.param("。", False, id="a full stop"),
    ],
)
def test_is_blank(text: str, blank: bool) -> None:
    assert is_blank(text) is blank
