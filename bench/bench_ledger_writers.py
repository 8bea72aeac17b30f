"""How SQLite takes 200 turns writing at once: the write strategies side by side.

Run by hand: `python -m bench.bench_ledger_writers [TURNS]`. Each turn does what a message does
to the database: the user upsert (`seen`), the quota check, and two usage rows. Prints a
Markdown table: failed turns ("database is locked" and pool timeouts), wall time, p95 per turn.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.core.quota import Limits, Prices
from bot.db.accounts import Accounts
from bot.db.engine import make_engine, make_session_factory, migrate
from bot.errors import ServiceError

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


async def turn(accounts: Accounts, user_id: int) -> float:
    started = time.perf_counter()
    await accounts.admit(user_id, username=f"u{user_id}", now=NOW)  # what the bot does first
    for kind in ("transcription", "chat"):
        if not await accounts.record_usage(user_id, kind=kind, tokens_in=10, now=NOW):  # type: ignore[arg-type]
            raise ServiceError("database", "deferred to the backlog", retryable=True)
    return time.perf_counter() - started


async def measure(strategy: str, turns: int, folder: Path) -> str:
    url = f"sqlite+aiosqlite:///{folder / f'{strategy}.db'}"
    await migrate(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    accounts = Accounts(sessions, limits=Limits(), prices=Prices(0.15, 0.6, 0.006, 15))
    if strategy.startswith("deferred"):  # what the bot did before: deferred, 5 s busy wait
        accounts._write_sessions = make_session_factory(
            engine.execution_options(sqlite_begin="DEFERRED")
        )
        event.listen(engine.sync_engine, "connect", _old_busy_timeout)
    if "lock" not in strategy:
        accounts._write_lock = None
    started = time.perf_counter()
    results = await asyncio.gather(
        *(turn(accounts, 1 + n) for n in range(turns)), return_exceptions=True
    )
    wall = time.perf_counter() - started
    times = sorted(r for r in results if isinstance(r, float))
    failed = sum(1 for r in results if isinstance(r, BaseException))
    backlog = len(accounts.backlog)
    await accounts.aclose()
    await engine.dispose()
    p95 = times[int(len(times) * 0.95) - 1] if times else float("nan")
    median = statistics.median(times) if times else float("nan")
    return f"| {strategy} | {failed} | {backlog} | {wall:.2f} | {median:.2f} | {p95:.2f} |"


def _old_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


async def main(turns: int) -> None:
    print(f"{turns} turns at once on one SQLite file (seen + quota check + 2 usage rows)\n")
    print("| strategy | failed turns | rows deferred | wall s | median s | p95 s |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        for strategy in ("deferred (before)", "IMMEDIATE", "IMMEDIATE + one lock (chosen)"):
            print(await measure(strategy, turns, Path(folder)))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
