"""Ledger timings: record_usage, admit, stats and daily_series on SQLite and PostgreSQL.

Run by hand: `python -m bench.bench_ledger [POSTGRES_SERVER_URL]`. Prints a Markdown table.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from bot.core.quota import Limits, Prices
from bot.db.accounts import Accounts
from bot.db.engine import make_engine, make_session_factory, migrate
from bot.db.models import UsageEvent

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
USERS = 200
EVENTS = 50_000


async def median_ms(call: Callable[[], Awaitable[object]], repeat: int = 50) -> float:
    """Median wall time of one call, in milliseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def seed(accounts: Accounts, engine) -> None:
    """USERS users and EVENTS events spread over 60 days."""
    for user_id in range(1, USERS + 1):
        await accounts.seen(user_id, username=f"u{user_id}", now=NOW)
    rows = [
        {
            "user_id": n % USERS + 1,
            "created_at": NOW - timedelta(minutes=n * 60 * 24 * 60 // EVENTS),
            "kind": "chat",
            "tokens_in": 300,
            "tokens_out": 100,
            "cost": 0.0001,
        }
        for n in range(EVENTS)
    ]
    async with engine.begin() as connection:
        await connection.execute(insert(UsageEvent), rows)


async def measure(name: str, url: str) -> list[str]:
    await migrate(url)
    engine = make_engine(url)
    accounts = Accounts(
        make_session_factory(engine),
        limits=Limits(daily_tokens=10**6),
        prices=Prices(0.15, 0.6, 0.006, 15),
    )
    await seed(accounts, engine)
    timings = {
        "record_usage": lambda: accounts.record_usage(7, kind="chat", tokens_in=10, now=NOW),
        "admit": lambda: accounts.admit(7, now=NOW),
        "usage_report": lambda: accounts.usage_report(7, now=NOW),
        "stats (3 periods)": lambda: accounts.stats(now=NOW),
        "daily_series (30 d)": lambda: accounts.daily_series(now=NOW),
    }
    lines = [f"| {name} | {op} | {await median_ms(call, 20):.2f} |" for op, call in timings.items()]
    started = time.perf_counter()
    await asyncio.gather(
        *(accounts.record_usage(n % USERS + 1, kind="chat", now=NOW) for n in range(200))
    )
    per_second = 200 / (time.perf_counter() - started)
    lines.append(f"| {name} | 200 concurrent record_usage | {per_second:.0f}/s |")
    await engine.dispose()
    return lines


async def main(postgres_server: str | None) -> None:
    print(f"{EVENTS:,} events, {USERS} users, medians\n")
    print("| database | operation | ms |\n| --- | --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        for line in await measure("SQLite", f"sqlite+aiosqlite:///{Path(folder) / 'b.db'}"):
            print(line)
    if postgres_server:
        admin = make_engine(postgres_server, isolation_level="AUTOCOMMIT")
        name = f"bench_{uuid.uuid4().hex[:8]}"
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(postgres_server).set(database=name).render_as_string(False)
            for line in await measure("PostgreSQL", url):
                print(line)
        finally:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
