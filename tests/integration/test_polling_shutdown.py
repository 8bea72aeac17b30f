"""Polling mode's SIGTERM: answers under way get SHUTDOWN_GRACE_SECONDS, then the process ends.

The bot is a real `python -m bot` process in polling mode; the machine is kept busy by processes
spinning beside it, as on a loaded CI runner.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cluster import Cluster
from tests.emulators import BotApiEmulator, OpenAIEmulator
from tests.processes import busy_cpus

USER = 6101
GRACE_SECONDS = 1
STOP_MARGIN_SECONDS = 6.0  # as for webhook workers (tests/integration/test_webhook_workers.py)
LONG_ANSWER = " ".join(f"part{n}" for n in range(30)) + " end."


def written(log: Path) -> str:
    """What the bot logged so far."""
    return log.read_text(errors="replace")


async def start_polling(bot_api: BotApiEmulator, cluster: Cluster, log: Path) -> subprocess.Popen:
    """`python -m bot` in polling mode with the cluster's settings; returns once it polls."""
    env = cluster.env(SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS))
    for name in ("WEBHOOK_URL", "WEBHOOK_SECRET"):
        del env[name]
    polls = len(bot_api.calls_to("getUpdates"))
    with log.open("wb") as sink:  # a file, not a pipe: a full pipe would block the bot
        process = subprocess.Popen(  # noqa: ASYNC220 - starts at once, waited for below
            [sys.executable, "-m", "bot"],
            cwd=cluster.workdir,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    await bot_api.wait_for(
        lambda: process.poll() is not None or len(bot_api.calls_to("getUpdates")) > polls,
        timeout=90,
    )
    assert process.poll() is None, written(log)
    return process


async def test_sigterm_on_a_busy_machine_stops_polling_within_the_grace_period(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, cluster: Cluster, tmp_path: Path
) -> None:
    openai_api.chunk_delay = 0.25  # about 8 s of streaming, longer than the grace period
    openai_api.reply_with(LONG_ANSWER)
    log = tmp_path / "polling.log"
    process = await start_polling(bot_api, cluster, log)
    try:
        with busy_cpus(2):
            bot_api.send_text(USER, "a long answer please")
            await bot_api.wait_for(lambda: len(bot_api.drafts(USER)) >= 2, timeout=60)
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(process.wait, 60)
            took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 0, written(log)
    assert took < GRACE_SECONDS + STOP_MARGIN_SECONDS, f"exited {took:.1f} s after SIGTERM"
    assert "stopped 1 update(s) unanswered" in written(log)
