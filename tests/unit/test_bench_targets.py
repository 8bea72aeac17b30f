"""The voice-loop benchmark's targets: rows of data, judged from a run, printed as the README's."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.loop_harness import Trace
from bench.loop_targets import TARGETS, Crowd, Local, Run, judge

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def crowd(size: int, *, voice: float = 10.0, sign: float = 3.0, lost: int = 0) -> Crowd:
    """`size` people who each saw their first sign after `sign` s and the voice after `voice`."""
    traces = [Trace(sign, 4.0, 4.0, None, 5.0, voice) for _ in range(size - lost)]
    traces += [Trace(sign, None, None, None, None, None) for _ in range(lost)]
    calls = Counter({"getFile": size, "sendChatAction": size, "sendMessage": size})
    return Crowd(size, traces, calls, peak_mb=260, stall_ms=40, cpu_ms=60, log=[])


def run(**changes: object) -> Run:
    """A run in which every target is met; `changes` replace fields."""
    values: dict[str, object] = {
        "people": {
            "en": {"first_words": 1.3, "voice": 3.4},
            "zh": {"first_words": 1.3, "voice": 3.4},
        },
        "bounds": {"transcript": 0.8, "first_words": 1.3, "whole": 3.3, "voice": 3.6},
        "crowds": [crowd(1), crowd(200)],
        "group_alone": 3.0,
        "group_five": [9.0] * 5,
        "cache": (0.014, 0, 0.028, 0),
        "local": Local(
            direct={"en_1.ogg": 0.3, "en_2.ogg": 0.2},
            same_work={"en_1.ogg": 0.27, "en_2.ogg": 0.2},
            through_bot={"en_1.ogg": 0.27, "en_2.ogg": 0.21},
            side_by_side=[0.3, 0.24],
            loads=1,
        ),
        "start": {"restart": 0.75, "import": 0.6, "talk": 1.66},
        "upload": "ogg, 24790 bytes",
    }
    return Run(**{**values, **changes})  # type: ignore[arg-type]


def readme_targets() -> list[str]:
    """The first column of the README's targets table."""
    table = README.split("| target | measured | |\n| --- | --- | --- |\n", 1)[1].split("\n\n")[0]
    return [line.split(" | ")[0].removeprefix("| ") for line in table.splitlines()]


def test_the_readme_lists_the_rows_the_benchmark_prints() -> None:
    assert [row.target for row in judge(run())] == readme_targets()


def test_every_target_is_met_by_a_run_within_its_bounds() -> None:
    assert {row.target: row.met for row in judge(run()) if row.met is not True} == {
        "import bot.app (python -X importtime)": None,
        "python -m bot talk --text against a server answering at once": None,
    }


@pytest.mark.parametrize(
    ("changes", "missed"),
    [
        ({"crowds": [crowd(200, voice=21.0)]}, "200 at once: p95 to the voice note ≤ 20 s"),
        ({"crowds": [crowd(200, lost=1)]}, "200 at once: none lost"),
        ({"cache": (0.014, 1, 0.028, 0)}, "cache hit, repeated question: < 100 ms, no model call"),
        (
            {"upload": "wav, 189000 bytes"},
            "remote transcription uploads OGG/Opus as Telegram sent it",
        ),
        (
            {"group_five": [9.0, 30.0]},
            "group: five at once each read the whole answer within 2 × alone + 5 × 3 s",
        ),
    ],
    ids=[
        "a slow voice note",
        "one lost",
        "a model call on a cache hit",
        "a WAV upload",
        "a slow group",
    ],
)
def test_a_measure_past_its_bound_is_missed(changes: dict, missed: str) -> None:
    assert [row.target for row in judge(run(**changes)) if row.met is False] == [missed]


def test_the_local_rows_need_the_local_measurement() -> None:
    names = [row.target for row in judge(run(local=None))]
    assert not [name for name in names if "local" in name]
    assert len(names) == len(judge(run())) - sum(t.local for t in TARGETS)


def test_a_row_renders_as_a_markdown_line_with_its_mark() -> None:
    rows = judge(run(upload="wav, 1 bytes"))
    assert (
        "| remote transcription uploads OGG/Opus as Telegram sent it | wav, 1 bytes | **missed** |"
        in [row.render() for row in rows]
    )
