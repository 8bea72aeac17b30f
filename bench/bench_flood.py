"""Others' answer times with and without one user flooding the bot (run by hand).

Run: .venv/bin/python -m bench.bench_flood [--others 10] [--texts 300] [--voices 100]

The real bot (`python -m bot`, polling) on the emulators of bench.voice_loop, with the same fixed
latencies. Two rounds, each on a freshly started bot that has answered one voice note: the
others send a voice note each at the same moment, alone; then the same right after one user sent
`--texts` texts and `--voices` voice notes at once. Printed: the others' first sign of life,
whole answer and voice note (p50 / p95), how many of the flood were answered, refused
(updates_refused_total) and told so.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.loop_harness import BotProcess, Trace, percentile
from bench.voice_loop import SAMPLE, Loop, progress
from bot.i18n import t
from tests.emulators.openai_api import Latencies

ABUSER = 9_000_001


def refused_total(bot: BotProcess) -> float:
    """updates_refused_total, all reasons together, from the bot's /metrics."""
    url = f"http://127.0.0.1:{bot.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    found = re.findall(r"^updates_refused_total\{[^}]*\} ([0-9.eE+-]+)$", text, re.MULTILINE)
    return sum(float(v) for v in found)


async def round_of(loop: Loop, others: int, texts: int, voices: int) -> tuple[list[Trace], str]:
    """One round on a fresh bot: the flood (if any), then the others at once."""
    progress(f"{others} others" + (f" after a flood of {texts + voices}" if texts + voices else ""))
    bot = loop.bot()
    await bot.start()
    try:
        await loop.voice_round(loop.people(1), within=60)  # not counted: a serving bot is warm
        for n in range(texts):
            loop.bot_api.send_text(ABUSER, f"flood {n}")
        for _ in range(voices):
            loop.bot_api.send_voice(ABUSER, SAMPLE, duration=6)
        traces = await loop.voice_round(loop.people(others), within=240)
        if not texts + voices:
            return traces, "-"
        told = {t("flood_queue", "en"), t("flood_rate", "en", limit=30)}
        await loop.bot_api.wait_for(lambda: loop.bot_api.pending_updates() == 0, timeout=120)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:  # until every update of the flood is accounted for
            mine = loop.bot_api.chat_messages(ABUSER)
            answered = {m.reply_to_message_id for m in mine if m.text not in told}
            refused = refused_total(bot)
            if len(answered - {None}) + refused >= texts + voices:
                break
            await asyncio.sleep(0.5)
        notices = sum(1 for m in loop.bot_api.chat_messages(ABUSER) if m.text in told)
        summary = f"{len(answered - {None})} answered, {refused:.0f} refused, told {notices}×"
        return traces, summary
    finally:
        await bot.stop()


def _pair(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{percentile(values, 0.5):.2f} / {percentile(values, 0.95):.2f}"


async def main(args: argparse.Namespace) -> None:
    """Both rounds, then the table."""
    latencies = Latencies(0.8, 0.5, 2.0, 0.3)
    rows = []
    with tempfile.TemporaryDirectory(prefix="flood-") as tmp:
        loop = Loop(latencies, Path(tmp))
        async with loop.bot_api, loop.openai_api:
            for texts, voices in ((0, 0), (args.texts, args.voices)):
                traces, flood = await round_of(loop, args.others, texts, voices)
                rows.append(
                    (
                        "alone" if not texts + voices else f"after {texts} texts + {voices} voices",
                        _pair([x.first_sign for x in traces if x.first_sign is not None]),
                        _pair([x.whole for x in traces if x.whole is not None]),
                        _pair([x.voice for x in traces if x.voice is not None]),
                        sum(1 for x in traces if x.voice is None),
                        flood,
                    )
                )
    print(
        f"\n{args.others} others, each a voice note at once (seconds after sending, p50 / p95):\n"
    )
    print("| others sent | first sign | whole answer | voice note | no voice | the flood |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_flood", description=__doc__)
    parser.add_argument("--others", type=int, default=10)
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--voices", type=int, default=100)
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
