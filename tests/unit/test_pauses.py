"""Where a long recording is cut, and how its pieces' transcripts join (pure tables)."""

from __future__ import annotations

import pytest

from bot.core.pauses import Cut, choose_cut, join_transcripts, quiet_threshold

SPEECH, HUSH, HUM = -18.0, -90.0, -38.0


def levels(*runs: tuple[float, int]) -> list[float]:
    """Frame levels from (dBFS, frames) runs."""
    return [level for level, count in runs for _ in range(count)]


@pytest.mark.parametrize(
    ("frames", "min_frames", "expected"),
    [
        pytest.param(
            levels((SPEECH, 60), (HUSH, 20), (SPEECH, 40)),
            50,
            Cut(70, 70),
            id="a pause is cut in its middle, without overlap",
        ),
        pytest.param(
            levels((SPEECH, 60), (HUSH, 20), (SPEECH, 20), (HUSH, 40), (SPEECH, 10)),
            50,
            Cut(120, 120),
            id="the longest pause wins",
        ),
        pytest.param(
            levels((SPEECH, 60), (HUSH, 20), (SPEECH, 20), (HUSH, 20), (SPEECH, 10)),
            50,
            Cut(110, 110),
            id="of equal pauses the later one wins, so pieces stay long",
        ),
        pytest.param(
            levels((SPEECH, 10), (HUSH, 80), (SPEECH, 60), (HUSH, 16), (SPEECH, 4)),
            100,
            Cut(158, 158),
            id="a pause before the shortest piece wanted is not taken",
        ),
        pytest.param(
            levels((SPEECH, 60), (HUSH, 15), (SPEECH, 60)),
            50,
            Cut(67, 67),
            id="a pause of exactly the minimum counts",
        ),
        pytest.param(
            levels((SPEECH, 60), (HUM, 20), (SPEECH, 40)),
            50,
            Cut(70, 70),
            id="a noisy room's hum between words is a pause",
        ),
        pytest.param(
            levels((SPEECH, 120)),
            50,
            Cut(119, 69),
            id="no pause: cut late and overlap the next piece by a second",
        ),
        pytest.param(
            levels((SPEECH, 60), (HUSH, 5), (SPEECH, 60)),
            50,
            Cut(64, 14),
            id="a gap shorter than a pause is only the quietest place to cut",
        ),
        pytest.param(levels((SPEECH, 40)), 50, Cut(40, 40), id="a short rest is one piece"),
        pytest.param([], 0, Cut(0, 0), id="nothing left is nothing to cut"),
    ],
)
def test_choose_cut(frames: list[float], min_frames: int, expected: Cut) -> None:
    assert choose_cut(frames, min_frames=min_frames) == expected


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        pytest.param(levels((SPEECH, 50), (HUSH, 50)), -45.0, id="digital silence: the floor"),
        pytest.param(levels((SPEECH, 50), (HUM, 50)), -33.0, id="a humming room: above its hum"),
        pytest.param(
            levels((SPEECH, 90), (-30.0, 10)), -33.0, id="speech only: never its own words"
        ),
    ],
)
def test_quiet_threshold(frames: list[float], expected: float) -> None:
    assert quiet_threshold(frames) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("texts", "overlapped", "expected"),
    [
        pytest.param(
            ["one two three.", "Four five."],
            [False, False],
            "one two three. Four five.",
            id="pieces cut in pauses are joined as they are",
        ),
        pytest.param(
            ["one two three four", "three four five six"],
            [False, True],
            "one two three four five six",
            id="an overlap's repeated words are kept once",
        ),
        pytest.param(
            ["we meet on Monday.", "monday, at noon"],
            [False, True],
            "we meet on Monday. at noon",
            id="case and punctuation do not hide a repeat",
        ),
        pytest.param(
            ["yes yes", "yes no"],
            [False, False],
            "yes yes yes no",
            id="a word said again after a pause is not a repeat",
        ),
        pytest.param(
            ["alpha beta", "gamma delta"],
            [False, True],
            "alpha beta gamma delta",
            id="an overlap that heard nothing twice loses nothing",
        ),
        pytest.param(
            ["", "hello there", "", "there friend"],
            [False, True, False, True],
            "hello there friend",
            id="silent pieces add nothing",
        ),
    ],
)
def test_join_transcripts(texts: list[str], overlapped: list[bool], expected: str) -> None:
    assert join_transcripts(texts, overlapped) == expected
