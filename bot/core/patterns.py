"""The text patterns more than one module reads, each defined once: scripts, words, ends, URLs.

Before, modules kept private copies that had drifted apart; where they disagreed, the rule
kept here is the one right for every reader, and the comment beside it says why.
"""

from __future__ import annotations

import re

# Scripts as regex class bodies, to build other patterns from. Hangul includes the conjoining
# jamo (text in NFD spells syllables with them); Han includes extension A and the compatibility
# ideographs (they are Chinese characters too), not the Yijing symbols between (not letters).
KANA_CHARS = "\u3040-\u30ff"
HANGUL_CHARS = "\u1100-\u11ff\uac00-\ud7af"
HAN_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Chinese, Japanese and Korean: a character of theirs is a word to count or compare, and a run
# of them ends a Latin word without a space ("邮箱是zhang@example.cn请回复").
CJK_CHARS = KANA_CHARS + HAN_CHARS + HANGUL_CHARS

KANA = re.compile(f"[{KANA_CHARS}]")
HANGUL = re.compile(f"[{HANGUL_CHARS}]")
CJK = re.compile(f"[{CJK_CHARS}]")
LETTER = re.compile(r"[^\W\d_]")  # a letter of any script
# A word as heard or compared: letters and digits of any script; "_" and marks separate words.
WORD = re.compile(r"[^\W_]+")

# Where a sentence ends in a whole text: . ! ? … (a run of them) followed by a space, the end or
# a Spanish opener; CJK marks (；too) end one without a space. Closing quotes and brackets stay
# with their sentence.
_LATIN_END = r"[.!?…]+[\"'»”’)\]]*"
_CJK_END = r"[。！？；]+[」』”’）\"')]*"
SENTENCE_END = re.compile(rf"{_LATIN_END}(?=\s|$|[¿¡])|{_CJK_END}")
# The ends of sentences known to be finished in a text still growing (a streamed answer): a
# Latin mark once a space follows it ("3." may yet become "3.14"), a CJK mark at once, a line
# break. The streaming answer counted these apart from the speaker that splits at SENTENCE_END,
# and missed "；", which the speaker splits at: they are now the same marks.
SENTENCE_ENDED = re.compile(rf"{_LATIN_END}\s|{_CJK_END}|\n")
# The text ends with a finished sentence (`mark` names Latin marks, to check abbreviations).
FINISHED = re.compile(rf"(?:(?P<mark>[.!?…]+)[\"'»”’)\]]*\s+|{_CJK_END}\s*|\n\s*)\Z")

# A URL: any scheme ("postgres://" as well as "https://") or "www." in any case, then printable
# ASCII only, so it stops where Chinese text, a full-width comma or a space begins. (Speech took
# `https?://\S+`, which swallowed "，然后" after a link in Chinese and the full stop after one in
# English.) Trailing punctuation is usually the sentence's, not the URL's: see URL_TRAILING.
URL = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Za-z][A-Za-z0-9+.-]{1,15}://|www\.)[!-~]+", re.ASCII | re.I
)
URL_TRAILING = ".,;:!?)]}'\"`>"


def url_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each URL in `text`, the sentence's punctuation after it left out."""
    spans = []
    for match in URL.finditer(text):
        url = match.group().rstrip(URL_TRAILING)
        spans.append((match.start(), match.start() + len(url)))
    return spans
