"""A long recording's summary prompt, and what the conversation keeps of it (pure)."""

from __future__ import annotations

from bot.core.prompt import Turn, estimate_tokens, language_instruction

SUMMARY_INSTRUCTIONS = (
    "The user sent a long voice recording; its transcript follows. Summarize it in the "
    "recording's language, in this shape:\n"
    "1. a gist of at most two lines;\n"
    "2. the key points, as a short bulleted list;\n"
    "3. any action items, decisions, dates or deadlines mentioned, as a bulleted list "
    "(leave this part out when there are none).\n"
    "Plain sentences, no preamble. Placeholders like [PHONE_1] stand for private values: "
    "keep them exactly as they are."
)
# What the conversation keeps of a recording: its summary and the transcript's start, within
# this share of the memory's token budget, so the next questions still fit beside it.
MEMORY_SHARE = 0.6
_CUT_MARK = " […]"


def summary_messages(transcript: str, *, language: str, minutes: int) -> list[dict[str, str]]:
    """The chat messages that ask the model for a recording's summary in `language`."""
    return [
        {
            "role": "system",
            "content": f"{SUMMARY_INSTRUCTIONS}\n\n{language_instruction(language)}",
        },
        {"role": "user", "content": f"Transcript of a {minutes}-minute recording:\n\n{transcript}"},
    ]


def recording_turn(transcript: str, summary: str, *, minutes: int, max_tokens: int) -> Turn:
    """The turn a recording leaves in memory: its transcript (as much as fits) and its summary.

    The turn costs at most MEMORY_SHARE of `max_tokens` (estimated as bot.core.prompt
    estimates), so a question about the recording finds it in the history; a transcript too
    long for that keeps its beginning, marked as cut.
    """
    budget = int(max_tokens * MEMORY_SHARE) - estimate_tokens(summary)
    head = f"[A {minutes}-minute voice recording. Its transcript:]\n"
    text = head + transcript
    if estimate_tokens(text) > budget:
        text = _cut_to_tokens(text, max(0, budget - estimate_tokens(_CUT_MARK))) + _CUT_MARK
    return Turn(user=text, assistant=summary)


def _cut_to_tokens(text: str, tokens: int) -> str:
    """The longest start of `text` within `tokens` (binary search on the estimate), at a space."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if estimate_tokens(text[:middle]) <= tokens:
            low = middle
        else:
            high = middle - 1
    cut = text[:low]
    space = cut.rfind(" ")
    return cut[:space] if space > len(cut) // 2 else cut


__all__ = ["recording_turn", "summary_messages"]
