"""Telegram's formatting rules (HTML, MarkdownV2, Markdown), checked the way the server does."""

from __future__ import annotations

import html
import re

HTML_TAGS = frozenset(
    "b strong i em u ins s strike del span tg-spoiler a code pre blockquote tg-emoji".split()
)
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>"
)
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")


class MarkupError(ValueError):
    """The text does not parse under the requested parse_mode; str() is Telegram's detail."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def visible_text(text: str, parse_mode: str | None) -> str:
    """Return the text the user would see, or raise MarkupError like Bot API does."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    if mode:
        raise MarkupError(f"Unsupported parse_mode {parse_mode!r}")
    return text


def _offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _check_tag(name: str, attrs: str, closing: bool, text: str, index: int) -> None:
    if name not in HTML_TAGS:
        kind = "end" if closing else "start"
        raise MarkupError(f'Unsupported {kind} tag "{name}" at byte offset {_offset(text, index)}')
    if name == "span" and not closing and "tg-spoiler" not in attrs:
        raise MarkupError(
            f'Tag "span" must have class "tg-spoiler" at byte offset {_offset(text, index)}'
        )


def parse_html(text: str) -> str:
    """Validate Telegram HTML and return its visible text."""
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            match = _TAG.match(text, i)
            if match is None:
                raise MarkupError(f"Unsupported start tag at byte offset {_offset(text, i)}")
            closing, name = match.group(1) == "/", match.group(2).lower()
            _check_tag(name, match.group(3), closing, text, i)
            if not closing:
                stack.append((name, i))
            elif not stack:
                raise MarkupError(f"Unexpected end tag at byte offset {_offset(text, i)}")
            elif stack[-1][0] != name:
                raise MarkupError(
                    f"Unmatched end tag at byte offset {_offset(text, i)}, "
                    f'expected "</{stack[-1][0]}>", found "</{name}>"'
                )
            else:
                stack.pop()
            i = match.end()
        elif char == "&":
            match = _ENTITY.match(text, i)
            if match is None:
                raise MarkupError(
                    f'Character "&" at byte offset {_offset(text, i)} must be escaped'
                )
            out.append(html.unescape(match.group(0)))
            i = match.end()
        elif char == ">":
            raise MarkupError(f'Character ">" at byte offset {_offset(text, i)} must be escaped')
        else:
            out.append(char)
            i += 1
    if stack:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out)


def parse_markdown(text: str) -> str:
    """Validate legacy Markdown (balanced *, _, `, ``` and [..](..)) and return its visible text."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in "*_`[":
            out.append(text[i + 1])
            i += 2
        elif char in "*_`":
            marker = "```" if text.startswith("```", i) else char
            end = text.find(marker, i + len(marker))
            if end < 0:
                raise MarkupError(
                    f"Can't find end of the entity starting at byte offset {_offset(text, i)}"
                )
            out.append(text[i + len(marker) : end])
            i = end + len(marker)
        elif char == "[":
            match = re.compile(r"\[([^\]]*)\](?:\(([^)]*)\))?").match(text, i)
            if match is None:
                raise MarkupError(
                    f"Can't find end of the entity starting at byte offset {_offset(text, i)}"
                )
            out.append(match.group(1))
            i = match.end()
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _v2_marker(text: str, i: int) -> str | None:
    for marker in ("```", "__", "||", "*", "_", "~", "`"):
        if text.startswith(marker, i):
            return marker
    return None


def _v2_code(text: str, i: int, marker: str, out: list[str]) -> int:
    """Copy a code span's content; only ` and \\ are special inside. Return the index after it."""
    j = i + len(marker)
    while j < len(text):
        if text[j] == "\\" and j + 1 < len(text):
            out.append(text[j + 1])
            j += 2
        elif text.startswith(marker, j):
            return j + len(marker)
        else:
            out.append(text[j])
            j += 1
    raise MarkupError(f"Can't find end of Code entity at byte offset {_offset(text, i)}")


def parse_markdown_v2(text: str) -> str:
    """Validate MarkdownV2 (reserved characters escaped, markers balanced); return visible text."""
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i = 0
    while i < len(text):
        char = text[i]
        marker = _v2_marker(text, i)
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif marker in ("`", "```"):
            i = _v2_code(text, i, marker, out)
        elif marker is not None:
            if stack and stack[-1][0] == marker:
                stack.pop()
            else:
                stack.append((marker, i))
            i += len(marker)
        elif char == "[":
            stack.append(("[", i))
            i += 1
        elif char == "]" and stack and stack[-1][0] == "[":
            stack.pop()
            match = re.compile(r"\]\(((?:\\.|[^)\\])*)\)").match(text, i)
            i = match.end() if match else i + 1
        elif char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # a blockquote line
        elif char in _V2_RESERVED:
            raise MarkupError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            out.append(char)
            i += 1
    if stack:
        raise MarkupError(
            f"Can't find end of the entity starting at byte offset {_offset(text, stack[-1][1])}"
        )
    return "".join(out)
