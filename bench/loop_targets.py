"""The voice loop's targets (issue 9) as rows of data: a name, a measure, a bound.

`bench/voice_loop.py` measures a `Run`; `judge(run)` prints one table row per target, the table
the README's Performance section shows. A new target is one row of `TARGETS`.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from bench.loop_harness import Trace, median, percentile

GROUP_RATE_PER_MINUTE = 20  # Telegram's messages a minute to one group


@dataclass
class Crowd:
    """One round of `size` people at once."""

    size: int
    traces: list[Trace]
    calls: Counter[str]
    peak_mb: float
    stall_ms: float
    cpu_ms: float  # the bot's CPU time per answer
    log: list[str]  # the bot's most frequent warnings and errors

    @property
    def lost(self) -> int:
        """People who never got their answer."""
        return sum(1 for t in self.traces if t.whole is None)

    @property
    def voiceless(self) -> int:
        """People who got the answer but no voice note."""
        return sum(1 for t in self.traces if t.whole is not None and t.voice is None)

    def stage(self, name: str) -> list[float]:
        """One stage's times over everyone who saw it."""
        return [v for t in self.traces if (v := getattr(t, name)) is not None]

    def calls_per_answer(self) -> float:
        """Calls naming one of the chats, per answer."""
        return sum(self.calls.values()) / max(1, self.size)


@dataclass
class Local:
    """faster-whisper base int8: real-time factors through the bot and called directly."""

    direct: dict[str, float]
    same_work: dict[str, float]  # the bare model identifying, then decoding in the bot's choice
    through_bot: dict[str, float]
    side_by_side: list[float]
    loads: int

    @property
    def through(self) -> float:
        """Median RTF through the bot."""
        return median(list(self.through_bot.values()))

    @property
    def same(self) -> float:
        """Median RTF of the bare model doing what the bot does."""
        return median(list(self.same_work.values()))

    @property
    def side_ratio(self) -> float:
        """Users at once, each against the same sample alone (1: side by side, 2: in turn)."""
        alone = [self.through_bot[n] for n in list(self.through_bot)[: len(self.side_by_side)]]
        return median(self.side_by_side) / median(alone)


@dataclass
class Run:
    """Everything one benchmark run measured."""

    people: dict[str, dict[str, float]]  # language → stage → median seconds, one person alone
    bounds: dict[str, float]  # stage → what the emulated latencies allow at best
    crowds: list[Crowd]
    group_alone: float  # seconds until a group member alone read the whole answer
    group_five: list[float]  # the same for five members at once
    cache: tuple[float, int, float, int]  # repeated question: s, model calls; forwarded note
    local: Local | None
    start: dict[str, float]  # restart, import, talk: seconds
    upload: str  # what remote transcription uploaded: "ogg, 24790 bytes"

    @property
    def big(self) -> Crowd:
        """The largest crowd."""
        return max(self.crowds, key=lambda c: c.size)

    @property
    def group_allowed(self) -> float:
        """Five at once: twice one alone, plus five more messages at the group's rate."""
        return 2 * self.group_alone + 5 * 60 / GROUP_RATE_PER_MINUTE

    @property
    def calls_per_voice_answer(self) -> float:
        """Bot API calls per answer in the largest crowd, getFile not counted."""
        big = self.big
        return (sum(big.calls.values()) - big.calls["getFile"]) / big.size


Measure = Callable[[Run, str], float]
Shown = Callable[[Run, str], str]


@dataclass(frozen=True)
class Target:
    """One target: its name, the number it judges, its bound, and how the number reads.

    Args:
        name: the row's title; "{language}" and "{size}" (the largest crowd) are filled in.
        measure: the number judged, from the run and the language (per-language targets).
        bound: the number the measure must meet by `compare`; None: shown, not judged.
        shown: how the measurement reads in the table.
        compare: measure against bound; at most, unless said.
        each_language: one row per language of the one-person runs.
        local: a row only when the local model was measured.
    """

    name: str
    measure: Measure
    bound: Measure | None
    shown: Shown
    compare: Callable[[float, float], bool] = operator.le
    each_language: bool = False
    local: bool = False


def _s(value: float) -> str:
    return f"{value:.2f}"


def _local(run: Run) -> Local:
    if run.local is None:
        raise ValueError("a local target without a local measurement")
    return run.local


def _signs(run: Run) -> list[float]:
    return run.big.stage("first_sign")


def _second_drafts(run: Run) -> list[float]:
    return run.big.stage("second_preview")


TARGETS: tuple[Target, ...] = (
    Target(
        "{language}: first words ≤ limit + 0.3 s",
        lambda r, lang: r.people[lang]["first_words"],
        lambda r, lang: r.bounds["first_words"] + 0.3,
        lambda r, lang: (
            f"{_s(r.people[lang]['first_words'])} s (limit {_s(r.bounds['first_words'])})"
        ),
        each_language=True,
    ),
    Target(
        "{language}: voice note ≤ 1.10 × limit",
        lambda r, lang: r.people[lang]["voice"] / r.bounds["voice"],
        lambda r, lang: 1.10,
        lambda r, lang: f"{r.people[lang]['voice'] / r.bounds['voice']:.2f} ×",
        each_language=True,
    ),
    Target(
        "{size} at once: none lost",
        lambda r, _: r.big.lost,
        lambda r, _: 0,
        lambda r, _: str(r.big.lost),
    ),
    Target(
        "{size} at once: p95 to the voice note ≤ 20 s",
        lambda r, _: percentile(r.big.stage("voice"), 0.95),
        lambda r, _: 20,
        lambda r, _: f"{_s(percentile(r.big.stage('voice'), 0.95))} s",
    ),
    Target(
        "{size} at once: first sign of life p95 ≤ 8 s",
        lambda r, _: percentile(_signs(r), 0.95),
        lambda r, _: 8,
        lambda r, _: f"{_s(percentile(_signs(r), 0.95))} s",
    ),
    Target(
        "{size} at once: everyone's first sign before anyone's second draft",
        lambda r, _: max(_signs(r), default=0),
        lambda r, _: min(_second_drafts(r), default=float("inf")),
        lambda r, _: (
            f"last first sign {_s(max(_signs(r), default=float('nan')))} s, first second draft "
            f"{_s(min(_second_drafts(r), default=float('inf')))} s"
        ),
    ),
    Target(
        "{size} at once: Telegram calls per voice answer ≤ 6 (getFile not counted)",
        lambda r, _: r.calls_per_voice_answer,
        lambda r, _: 6,
        lambda r, _: f"{r.calls_per_voice_answer:.2f}",
    ),
    Target(
        "{size} at once: no event-loop stall over 100 ms",
        lambda r, _: r.big.stall_ms,
        lambda r, _: 100,
        lambda r, _: f"{r.big.stall_ms:.0f} ms",
    ),
    Target(
        "{size} at once: bot memory under 500 MB",
        lambda r, _: r.big.peak_mb,
        lambda r, _: 500,
        lambda r, _: f"{r.big.peak_mb:.0f} MB",
        compare=operator.lt,
    ),
    Target(
        "group: five at once each read the whole answer within 2 × alone + 5 × 3 s",
        lambda r, _: max(r.group_five),
        lambda r, _: r.group_allowed,
        lambda r, _: (
            f"max {_s(max(r.group_five))} s (alone {_s(r.group_alone)} s, "
            f"allowed {_s(r.group_allowed)} s)"
        ),
    ),
    Target(
        "cache hit, repeated question: < 100 ms, no model call",
        # A model call fails the target whatever the time.
        lambda r, _: r.cache[0] if r.cache[1] == 0 else float("inf"),
        lambda r, _: 0.1,
        lambda r, _: f"{1000 * r.cache[0]:.0f} ms, {r.cache[1]} model calls",
        compare=operator.lt,
    ),
    Target(
        "cache hit, forwarded voice note: no model call (time to the voice note)",
        lambda r, _: r.cache[3],
        lambda r, _: 0,
        lambda r, _: f"{1000 * r.cache[2]:.0f} ms, {r.cache[3]} model calls",
    ),
    Target(
        "local faster-whisper through the bot within 10 % of the bare model (same work)",
        lambda r, _: _local(r).through / _local(r).same,
        lambda r, _: 1.10,
        lambda r, _: (
            f"RTF {_local(r).through:.3f} vs {_local(r).same:.3f} "
            f"({_local(r).through / _local(r).same:.2f} ×); the bare model's own guess: "
            f"{median(list(_local(r).direct.values())):.3f}"
        ),
        local=True,
    ),
    Target(
        "local: the model is loaded once",
        lambda r, _: _local(r).loads,
        lambda r, _: 1,
        lambda r, _: f"{_local(r).loads} loads",
        compare=operator.eq,
        local=True,
    ),
    Target(
        "local: {users} users at once run side by side (one after another: 2 × alone)",
        lambda r, _: _local(r).side_ratio,
        lambda r, _: 1.5,
        lambda r, _: (
            f"RTF at once {median(_local(r).side_by_side):.3f} ({_local(r).side_ratio:.2f} × alone)"
        ),
        local=True,
    ),
    Target(
        "remote transcription uploads OGG/Opus as Telegram sent it",
        lambda r, _: float(r.upload.startswith(("ogg", "oga", "opus"))),
        lambda r, _: 1.0,
        lambda r, _: r.upload,
        compare=operator.eq,
    ),
    Target(
        "a restarted bot polls again within 2 s",
        lambda r, _: r.start["restart"],
        lambda r, _: 2,
        lambda r, _: f"{_s(r.start['restart'])} s",
    ),
    Target(
        "import bot.app (python -X importtime)",
        lambda r, _: r.start["import"],
        None,
        lambda r, _: f"{_s(r.start['import'])} s",
    ),
    Target(
        "python -m bot talk --text against a server answering at once",
        lambda r, _: r.start["talk"],
        None,
        lambda r, _: f"{_s(r.start['talk'])} s",
    ),
)


@dataclass
class Row:
    """One line of the targets table."""

    target: str
    value: str
    met: bool | None  # None: informational

    def render(self) -> str:
        """The line as Markdown."""
        mark = {True: "met", False: "**missed**", None: "-"}[self.met]
        return f"| {self.target} | {self.value} | {mark} |"


def judge(run: Run, targets: tuple[Target, ...] = TARGETS) -> list[Row]:
    """A row per target, measured and judged: each language's rows first, then the others."""
    users = len(run.local.side_by_side) if run.local else 0
    pairs = [(t, lang) for lang in run.people for t in targets if t.each_language]
    pairs += [(t, "") for t in targets if not t.each_language and (run.local or not t.local)]
    rows = []
    for target, language in pairs:
        name = target.name.format(language=language, size=run.big.size, users=users)
        met = None
        if target.bound is not None:
            met = target.compare(target.measure(run, language), target.bound(run, language))
        rows.append(Row(name, target.shown(run, language), met))
    return rows
