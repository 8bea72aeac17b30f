"""Speaking a whole answer: sentence chunks, concurrent synthesis in order, one voice note."""

from __future__ import annotations

import asyncio
import html
import logging
import re
import unicodedata
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Protocol

from bot.core.cache_keys import voice_id
from bot.core.patterns import FINISHED, SENTENCE_END, url_spans
from bot.core.quota import SpeechTokens
from bot.errors import AudioError, SpeechUnavailable
from bot.tts.base import DEFAULT_STYLE, Speech, SpeechStyle, Synthesizer
from bot.tts.fallback import FallbackSynthesizer

if TYPE_CHECKING:
    from bot.voice_out import VoiceNote

log = logging.getLogger(__name__)

# Faster than any of our voices speaks (espeak-ng: ~17 letters or ~4 Chinese characters a second),
# so the estimate stays below the real length and the planned chunks fill the note.
LETTERS_PER_SECOND = 20.0
WIDE_CHARACTERS_PER_SECOND = 5.0
DEFAULT_CONCURRENCY = 3

_FENCED_CODE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)  # code read aloud helps nobody
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_LINE_MARKERS = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+•]\s+|\d{1,3}[.)]\s+)+")
_TABLE_RULE = re.compile(r"^[\s|:-]*-[\s|:-]*$")
_EMPHASIS = re.compile(r"[*`~|]+|(?<!\w)_+|_+(?!\w)")
_SPACES = re.compile(r"[ \t\u00a0]+")
_ABBREVIATIONS = frozenset("mr mrs ms dr prof st vs e.g i.e z.b bzw".split())
_CLAUSE_BREAK = re.compile(r"(?<=[,;:])(?=\s)|(?<=[，、；：])")
_SPACE_BEFORE_MARK = re.compile(r"\s+(?=[.,!?;:…])")
_WORD_BREAK = re.compile(r"(?<=\s)(?=\S)")


def split_sentences(text: str, *, max_chars: int = 300) -> list[str]:
    """Chunks of speakable text, one sentence each, none longer than `max_chars`.

    Markup that would be read aloud (markdown, HTML tags, URLs, emoji) is removed; a sentence
    longer than `max_chars` is split at clause marks, then at spaces, and only then mid-word.
    """
    chunks: list[str] = []
    for line in _clean(text).split("\n"):
        for sentence in _sentences(line):
            chunks.extend(piece.strip() for piece in _fit(sentence, max_chars))
    return [chunk for chunk in chunks if any(ch.isalnum() for ch in chunk)]


def finished_sentences(text_so_far: str) -> list[str]:
    """The chunks of a growing answer that can no longer change.

    The last chunk counts only when the text ends at a sentence end: a mark and a space (or a
    line break), or a CJK mark, which needs no space. Otherwise it may still grow.
    """
    chunks = split_sentences(text_so_far)
    return chunks if _ends_sentence(text_so_far) else chunks[:-1]


def _ends_sentence(text: str) -> bool:
    match = FINISHED.search(text)
    if match is None:
        return False
    return not _is_abbreviation(text[: match.start()], match.group("mark") or "")


def estimate_seconds(chunk: str) -> float:
    """A lower bound on how long `chunk` takes to say."""
    wide = sum(1 for ch in chunk if unicodedata.east_asian_width(ch) in "WF")
    return (len(chunk) - wide) / LETTERS_PER_SECOND + wide / WIDE_CHARACTERS_PER_SECOND


def within_budget(chunks: Iterable[str], max_seconds: float) -> list[str]:
    """The leading chunks needed to fill `max_seconds` of speech (the text carries the rest)."""
    planned: list[str] = []
    total = 0.0
    for chunk in chunks:
        if total >= max_seconds:
            break
        planned.append(chunk)
        total += estimate_seconds(chunk)
    return planned


def _clean(text: str) -> str:
    text = _FENCED_CODE.sub("\n", text)
    text = _MD_LINK.sub(r"\1", text)
    for start, end in reversed(url_spans(text)):  # the sentence's mark after a link stays
        text = text[:start] + text[end:]
    text = html.unescape(_HTML_TAG.sub("", text))
    lines = (_clean_line(line) for line in text.splitlines() if not _TABLE_RULE.match(line))
    return "\n".join(lines)


def _clean_line(line: str) -> str:
    line = _EMPHASIS.sub("", _LINE_MARKERS.sub("", line))
    line = "".join(ch for ch in line if not _is_symbol(ch))
    return _SPACE_BEFORE_MARK.sub("", _SPACES.sub(" ", line)).strip()


def _is_symbol(ch: str) -> bool:
    """Emoji and pictographs, their joiners and variation selectors: voices read their names."""
    skin_tone = "\U0001f3fb" <= ch <= "\U0001f3ff"
    return unicodedata.category(ch) == "So" or skin_tone or ch in "\u200d\ufe0e\ufe0f"


def _sentences(line: str) -> list[str]:
    sentences, start = [], 0
    for match in SENTENCE_END.finditer(line):
        if _is_abbreviation(line[start : match.start()], match.group()):
            continue
        sentences.append(line[start : match.end()].strip())
        start = match.end()
    sentences.append(line[start:].strip())
    return [sentence for sentence in sentences if sentence]


def _is_abbreviation(before: str, mark: str) -> bool:
    """Whether the period after `before` ends an abbreviation ("Dr.", "e.g."), not a sentence."""
    words = before.split()
    return mark == "." and bool(words) and words[-1].lower().lstrip("(\"'") in _ABBREVIATIONS


def _fit(text: str, max_chars: int, level: int = 0) -> list[str]:
    """Split `text` into pieces of at most `max_chars`, keeping the whitespace between them."""
    if len(text.strip()) <= max_chars:
        return [text]
    breaks = (_CLAUSE_BREAK, _WORD_BREAK)
    if level == len(breaks):
        return [text[i : i + max_chars] for i in range(0, len(text), max_chars)]
    units = breaks[level].split(text)
    return _pack([piece for unit in units for piece in _fit(unit, max_chars, level + 1)], max_chars)


def _pack(units: list[str], max_chars: int) -> list[str]:
    pieces, current = [], ""
    for unit in units:
        if current.strip() and len((current + unit).strip()) > max_chars:
            pieces.append(current)
            current = ""
        current += unit
    return [*pieces, current] if current.strip() else pieces


class SpeechCacheProtocol(Protocol):
    """Synthesised chunks by text, language and voice (implemented on Redis by the stores)."""

    async def get(self, text: str, language: str, voice_id: str) -> Speech | None:
        """The cached speech, or None."""

    async def put(self, text: str, language: str, voice_id: str, speech: Speech) -> None:
        """Remember the speech."""


class IncrementalSpeaker:
    """Speaks sentences while the answer is still streaming, in order, a few at once.

    `feed` the text so far as it grows; `finish` with the final text returns the same voice note
    that `speak_answer` gives for that text, reusing whatever was already synthesised.
    """

    def __init__(
        self,
        *,
        language: str,
        synthesizer: Synthesizer,
        max_seconds: float,
        cache: SpeechCacheProtocol | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        style: SpeechStyle = DEFAULT_STYLE,
    ) -> None:
        """Speak in `language` with `synthesizer` in `style`, up to `max_seconds` of audio."""
        self._language = language
        self._synthesizer = synthesizer
        self._max_seconds = max_seconds
        self._cache = cache
        self._style = style
        # Faster speech says more in the same time: plan the text at the normal pace.
        self._planned_seconds = max_seconds * style.speed
        self._voice_id = voice_id(
            backend=synthesizer.name, voice=synthesizer.voice_of(style), speed=style.speed
        )
        self._semaphore = asyncio.Semaphore(concurrency)
        self._tasks: dict[str, asyncio.Task[Speech]] = {}
        self._order: list[str] = []  # chunks in the order they were started: speaking order
        self._grown = asyncio.Event()
        self._settled = False
        # What a model billed by the token reported for the sentences, after `finish` or `settle`.
        self.tokens: SpeechTokens | None = None

    def feed(self, text_so_far: str) -> None:
        """Start synthesising the complete sentences of `text_so_far` (the last one may grow)."""
        for chunk in within_budget(finished_sentences(text_so_far), self._planned_seconds):
            self._start(chunk)

    async def finish(self, final_text: str) -> VoiceNote:
        """The voice note of `final_text`; SpeechUnavailable when none can be made from it."""
        chunks = within_budget(split_sentences(final_text), self._planned_seconds)
        tasks = [self._start(chunk) for chunk in chunks]
        wanted = set(chunks)
        for text, task in self._tasks.items():
            if text not in wanted:  # a guess from a draft that the final text changed
                task.cancel()
        if not tasks:
            raise SpeechUnavailable("nothing speakable in the answer")
        try:
            speeches = await asyncio.gather(*tasks)
        except BaseException:
            self.cancel()
            raise
        billed = [speech.tokens for speech in speeches if speech.tokens is not None]
        self.tokens = sum(billed, SpeechTokens()) if billed else None
        clips = [(speech.audio, speech.format) for speech in speeches]
        # numpy, PyAV and pydub (~0.1 s) are loaded by bot.app's warm-up, not at start-up.
        from bot.voice_out import encode_voice_note

        try:
            return await asyncio.to_thread(encode_voice_note, clips, max_seconds=self._max_seconds)
        except AudioError as error:  # a backend returned audio that does not decode
            raise SpeechUnavailable("synthesised audio could not be encoded") from error

    async def settle(self, final_text: str) -> int:
        """Synthesise the rest of `final_text` for `parts`; the characters spoken.

        Raises SpeechUnavailable when nothing of it could be spoken.
        """
        chunks = within_budget(split_sentences(final_text), self._planned_seconds)
        tasks = [self._start(chunk) for chunk in chunks]
        wanted = set(chunks)
        for text, task in self._tasks.items():
            if text not in wanted:  # a guess from a draft that the final text changed
                task.cancel()
        self._settled = True
        self._grown.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        spoken = [c for c, r in zip(chunks, results, strict=True) if isinstance(r, Speech)]
        if not spoken:
            raise SpeechUnavailable("nothing speakable in the answer")
        billed = [r.tokens for r in results if isinstance(r, Speech) and r.tokens is not None]
        self.tokens = sum(billed, SpeechTokens()) if billed else None
        return sum(len(chunk) for chunk in spoken)

    async def parts(self) -> AsyncIterator[Speech]:
        """Each sentence's speech in order, as soon as it is ready (a live page plays them).

        Ends after `settle`, once every sentence kept is given; a failed one is skipped.
        """
        given = 0
        while True:
            if given < len(self._order):
                task = self._tasks[self._order[given]]
                given += 1
                speech = await _outcome(task)
                if speech is not None:
                    yield speech
                continue
            if self._settled:
                return
            self._grown.clear()
            await self._grown.wait()

    def cancel(self) -> None:
        """Stop every synthesis still running."""
        for task in self._tasks.values():
            task.cancel()

    def _start(self, chunk: str) -> asyncio.Task[Speech]:
        task = self._tasks.get(chunk)
        if task is None:
            task = asyncio.create_task(self._speak(chunk))
            task.add_done_callback(_retrieve_exception)
            self._tasks[chunk] = task
            self._order.append(chunk)
            self._grown.set()
        return task

    async def _speak(self, chunk: str) -> Speech:
        async with self._semaphore:
            if self._cache is not None:
                cached = await self._cache.get(chunk, self._language, self._voice_id)
                if cached is not None:
                    return cached
            speech = await self._synthesizer.synthesize(
                chunk, language=self._language, style=self._style
            )
            speech = await _at_speed(speech, self._style.speed)
            if self._cache is not None and speech.backend == _preferred(self._synthesizer):
                await self._cache.put(chunk, self._language, self._voice_id, speech)
            return speech


def _preferred(synthesizer: Synthesizer) -> str:
    """The backend whose voice belongs in the cache: a fallback voice is not remembered."""
    if isinstance(synthesizer, FallbackSynthesizer):
        return synthesizer.preferred
    return synthesizer.name


async def _outcome(task: asyncio.Task[Speech]) -> Speech | None:
    """The task's speech; None when it failed or was dropped (the rest is still spoken)."""
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # it is the listener who is being cancelled
        return None
    except Exception as error:  # what a backend raised: settle() reports it, the rest plays
        log.warning("a sentence was not spoken: %s", type(error).__name__)
        return None


async def _at_speed(speech: Speech, speed: float) -> Speech:
    """The clip at `speed`: a backend without a speed of its own gets a tempo change."""
    if abs(speech.speed - speed) < 1e-6:
        return speech
    from bot.tempo import change_tempo  # PyAV is loaded by bot.app's warm-up

    try:
        wav = await asyncio.to_thread(change_tempo, speech.audio, factor=speed / speech.speed)
    except AudioError as error:
        raise SpeechUnavailable("the tempo of synthesised audio could not be changed") from error
    return Speech(wav, "wav", speech.backend, speed=speed)


def _retrieve_exception(task: asyncio.Task[Speech]) -> None:
    """Mark a failure as seen: a discarded draft's failure is no error, a kept one is re-raised."""
    if not task.cancelled():
        task.exception()


async def speak_answer(
    text: str,
    *,
    language: str,
    synthesizer: Synthesizer,
    max_seconds: float,
    cache: SpeechCacheProtocol | None = None,
    style: SpeechStyle = DEFAULT_STYLE,
) -> VoiceNote:
    """Speak `text` in `style` as one OGG/Opus voice note of at most `max_seconds`."""
    speaker = IncrementalSpeaker(
        language=language,
        synthesizer=synthesizer,
        max_seconds=max_seconds,
        cache=cache,
        style=style,
    )
    try:
        return await speaker.finish(text)
    finally:
        speaker.cancel()
