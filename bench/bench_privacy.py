"""Time mask() per message over the PII corpus; print medians by language and by content.

Run from the repository root: ``python -m bench.bench_privacy``.
"""

from __future__ import annotations

import json
import statistics
import timeit
from collections import defaultdict
from pathlib import Path

from bot.core.privacy import mask, regions_for

CORPUS = Path(__file__).parent.parent / "tests" / "fixtures" / "pii_corpus.jsonl"
CALLS = 20  # calls per timing
REPEATS = 5  # timings per message; the median is kept


def time_message(text: str, regions: tuple[str, ...]) -> float:
    """Return the median time of one mask() call on text, in milliseconds."""
    timer = timeit.Timer(lambda: mask(text, regions=regions))
    return statistics.median(t / CALLS * 1000 for t in timer.repeat(REPEATS, CALLS))


def percentile(values: list[float], share: float) -> float:
    """Return the value below which share of the values fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    """Time every corpus message and print the table."""
    cases = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    groups: dict[str, list[float]] = defaultdict(list)
    for case in cases:
        elapsed = time_message(case["text"], regions_for(case["lang"]))
        groups["all"].append(elapsed)
        groups[f"lang={case['lang']}"].append(elapsed)
        digits = sum(c.isdigit() for c in case["text"])
        groups["with >= 7 digits" if digits >= 7 else "with < 7 digits"].append(elapsed)
        groups["with personal data" if case["entities"] else "near miss"].append(elapsed)
    print(f"mask() per message, ms (median of {REPEATS} x {CALLS} calls each)")
    print(f"{'group':<20} {'n':>4} {'median':>8} {'p90':>8} {'max':>8}")
    for name, values in sorted(groups.items(), key=lambda g: (g[0] != "all", g[0])):
        print(
            f"{name:<20} {len(values):>4} {statistics.median(values):>8.3f}"
            f" {percentile(values, 0.9):>8.3f} {max(values):>8.3f}"
        )


if __name__ == "__main__":
    main()
