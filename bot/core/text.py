"""Pure text helpers for Telegram: splitting long answers, Markdown to Telegram HTML, mentions."""

from __future__ import annotations

import html
import re
import unicodedata

TELEGRAM_MAX_TEXT = 4096

_FENCE_RE = re.compile(r"```(?:[\w+-]*\n)?(.*?)```", re.DOTALL)
_CODE_RE = re.compile(r"`([^`\n]+)`")
_BOLD_RE = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_ITALIC_RE = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_HEADING_RE = re.compile(r"^#{1,6}\s+(.+)$", re.MULTILINE)
# Characters that show nothing: spaces, controls, format characters (zero-width space, joiners,
# direction marks, BOM), lone combining marks, and the fillers people paste as "empty" text.
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me"})
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_blank(text: str) -> bool:
    """Whether text shows nothing at all: empty, spaces, or only invisible characters."""
    return all(unicodedata.category(ch) in _INVISIBLE_CATEGORIES or ch in _FILLERS for ch in text)


def split_message(text: str, limit: int = TELEGRAM_MAX_TEXT) -> list[str]:
    """Split text into parts of at most `limit` characters without losing any character.

    Cuts prefer a paragraph break, then a line break, then a sentence end, then a space; only a
    single unbroken run longer than `limit` is cut mid-word.
    """
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = _best_cut(window)
        parts.append(rest[:cut])
        rest = rest[cut:]
    if rest or not parts:
        parts.append(rest)
    return parts


def _best_cut(window: str) -> int:
    floor = len(window) // 2
    for separator in ("\n\n", "\n", ". ", "。", "! ", "? ", " "):
        index = window.rfind(separator)
        if index >= floor:
            return index + len(separator)
    return len(window)


def markdown_to_html(text: str) -> str:
    """Render the Markdown a chat model writes (bold, italic, code, headings) as Telegram HTML."""
    pieces: list[str] = []
    last = 0
    for match in _FENCE_RE.finditer(text):
        pieces.append(_inline_to_html(text[last : match.start()]))
        pieces.append(f"<pre>{html.escape(match.group(1).strip(chr(10)), quote=False)}</pre>")
        last = match.end()
    pieces.append(_inline_to_html(text[last:]))
    return "".join(pieces)


def _inline_to_html(text: str) -> str:
    codes: list[str] = []
    # Code spans wait out the other rules behind a marker made of a character the text does
    # not contain, so nothing the model writes (NUL, private-use characters) can collide with it.
    mark = next(chr(c) for c in range(0xE000, 0x110000) if chr(c) not in text)

    def stash(match: re.Match[str]) -> str:
        codes.append(f"<code>{html.escape(match.group(1), quote=False)}</code>")
        return f"{mark}{len(codes) - 1}{mark}"

    text = _CODE_RE.sub(stash, text)
    text = html.escape(text, quote=False)
    text = _HEADING_RE.sub(r"<b>\1</b>", text)
    text = _BOLD_RE.sub(lambda m: f"<b>{m.group(1) or m.group(2)}</b>", text)
    text = _ITALIC_RE.sub(r"<i>\1</i>", text)
    return re.sub(f"{mark}([0-9]+){mark}", lambda m: codes[int(m.group(1))], text)


def strip_mention(text: str, bot_username: str) -> str:
    """Remove @botname from a group message so the model sees only the question."""
    pattern = re.compile(rf"@{re.escape(bot_username)}\b", re.IGNORECASE)
    return re.sub(r"\s{2,}", " ", pattern.sub("", text)).strip()


def mentions_bot(text: str, bot_username: str) -> bool:
    """Whether a group message addresses the bot by @username."""
    return re.search(rf"@{re.escape(bot_username)}\b", text, re.IGNORECASE) is not None
