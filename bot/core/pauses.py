"""Cutting a long recording at its pauses, and joining the pieces' transcripts back.

Pure: the shell measures each short frame's loudness (dBFS) and asks where to cut; the pieces'
transcripts come back here to be joined in order. A cut in a pause needs no overlap, so no word
is heard twice; where a stretch has no pause at all, the cut overlaps the next piece by a
second and the words both pieces heard are dropped once at the seam.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.patterns import WORD

FRAME_SECONDS = 0.02
# A frame is quiet below max(floor, the quietest tenth + margin), but never within
# SPEECH_GAP_DB of the loudest tenth: a noisy room's hum counts as quiet, speech never does.
SILENCE_FLOOR_DB = -45.0
NOISE_MARGIN_DB = 6.0
SPEECH_GAP_DB = 15.0
MIN_PAUSE_SECONDS = 0.3
OVERLAP_SECONDS = 1.0
# Words compared at a seam: a second of overlap holds at most a few words.
SEAM_WORDS = 12


@dataclass(frozen=True)
class Cut:
    """Where a piece ends and where the next one starts, in frames of the window given.

    `resume` equals `end` for a cut in a pause; it is earlier when the cut found no pause and
    the next piece repeats the frames between them.
    """

    end: int
    resume: int

    @property
    def overlaps(self) -> bool:
        """Whether the next piece starts before this one ends."""
        return self.resume < self.end


def quiet_threshold(levels: Sequence[float]) -> float:
    """The loudness (dBFS) under which a frame counts as a pause, for this stretch of audio."""
    ordered = sorted(levels)
    if not ordered:
        return SILENCE_FLOOR_DB
    tenth = len(ordered) // 10
    quietest, loudest = ordered[tenth], ordered[len(ordered) - 1 - tenth]
    return min(max(SILENCE_FLOOR_DB, quietest + NOISE_MARGIN_DB), loudest - SPEECH_GAP_DB)


def choose_cut(
    levels: Sequence[float],
    *,
    min_frames: int,
    pause_frames: int = round(MIN_PAUSE_SECONDS / FRAME_SECONDS),
    overlap_frames: int = round(OVERLAP_SECONDS / FRAME_SECONDS),
) -> Cut:
    """Where to end a piece whose longest allowed length is `len(levels)` frames.

    The cut goes in the middle of the longest pause (of at least `pause_frames`) whose middle
    lies at or after `min_frames`, the later one of equals. Without such a pause it goes at
    the quietest frame after `min_frames`, and the next piece starts `overlap_frames` earlier.

    Args:
        levels: each frame's loudness in dBFS, from the piece's start.
        min_frames: the shortest piece wanted (pieces stay long, so there are few of them).
        pause_frames: the shortest run of quiet frames that counts as a pause.
        overlap_frames: what a cut outside a pause repeats at the next piece's start.
    """
    total = len(levels)
    if total <= min_frames:
        return Cut(end=total, resume=total)
    threshold = quiet_threshold(levels)
    best: tuple[int, int] | None = None  # (length, middle)
    start = None
    for index, level in enumerate([*levels, float("inf")]):
        if level < threshold:
            start = index if start is None else start
            continue
        if start is not None:
            length, middle = index - start, (start + index) // 2
            if (
                length >= pause_frames
                and middle >= min_frames
                and (best is None or length >= best[0])
            ):
                best = (length, middle)
            start = None
    if best is not None:
        return Cut(end=best[1], resume=best[1])
    quietest = min(range(min_frames, total), key=lambda i: (levels[i], -i))
    end = max(quietest, min(total, overlap_frames + 1))
    return Cut(end=end, resume=max(0, end - overlap_frames))


def join_transcripts(texts: Sequence[str], overlapped: Sequence[bool]) -> str:
    """The pieces' transcripts in order as one text, each seam's repeated words kept once.

    Args:
        texts: each piece's transcript, in the recording's order.
        overlapped: for each piece, whether it starts with audio the piece before it ended
            with (a cut outside a pause); a piece after a pause repeats nothing.
    """
    words: list[str] = []
    for text, overlap in zip(texts, overlapped, strict=True):
        new = text.split()
        if overlap and words:
            new = new[_seam_length(words, new) :]
        words += new
    return " ".join(words)


def _seam_length(before: Sequence[str], after: Sequence[str]) -> int:
    """How many of `after`'s first words repeat `before`'s last ones (the longest such run)."""
    for size in range(min(SEAM_WORDS, len(before), len(after)), 0, -1):
        if [_norm(w) for w in before[-size:]] == [_norm(w) for w in after[:size]]:
            return size
    return 0


def _norm(word: str) -> str:
    """A word as compared at a seam: case and punctuation do not matter (a cut may move them)."""
    return "".join(WORD.findall(word)).casefold()


__all__ = ["Cut", "choose_cut", "join_transcripts", "quiet_threshold"]
