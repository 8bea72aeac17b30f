"""Accounts against real databases: SQLite in a temporary file, PostgreSQL at TEST_POSTGRES_URL."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import make_url

from bot.core.quota import Limits, Prices, QuotaDecision, Usage
from bot.db.accounts import SEEN_REFRESH, Access, Accounts
from bot.db.engine import make_engine, make_session_factory, migrate
from bot.db.models import AdminAction
from bot.errors import ServiceError
from tests.postgres import POSTGRES_URL, TcpProxy, fresh_postgres_database

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PRICES = Prices(
    input_per_1m_tokens=1.0,
    output_per_1m_tokens=2.0,
    transcription_per_minute=0.06,
    tts_per_1m_chars=10.0,
)
ADMIN = 1
ALICE, BOB, CAROL = 10, 20, 30


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    """An empty database migrated to head: one per test, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bot.db'}"
        await migrate(url)
        yield url
        return
    async with fresh_postgres_database(POSTGRES_URL) as url:
        await migrate(url)
        yield url


@pytest.fixture
async def engine(database_url: str):
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


def accounts_on(engine, **policy) -> Accounts:
    """Accounts over the engine with a test policy; keyword arguments override it."""
    policy.setdefault("limits", Limits())
    policy.setdefault("prices", PRICES)
    policy.setdefault("admin_ids", frozenset({ADMIN}))
    return Accounts(make_session_factory(engine), **policy)


@pytest.fixture
async def accounts(engine) -> Accounts:
    accounts = accounts_on(engine, limits=Limits(daily_tokens=1000, monthly_cost=1.0))
    for user_id, username in ((ADMIN, "boss"), (ALICE, "Alice"), (BOB, "bob"), (CAROL, None)):
        await accounts.seen(user_id, username=username, full_name="X", language="en", now=NOW)
    return accounts


async def quota_of(accounts: Accounts, user_id: int, *, now: datetime) -> QuotaDecision:
    """The quota decision the bot reads before each message (`admit`)."""
    return (await accounts.admit(user_id, now=now)).quota


async def access_of(accounts: Accounts, user_id: int) -> Access:
    """The access the bot reads before each message (`admit`)."""
    return (await accounts.admit(user_id, now=NOW)).access


async def audit_rows(engine) -> list[tuple[int, str, int | None, str | None]]:
    async with make_session_factory(engine)() as session:
        rows = await session.execute(
            select(
                AdminAction.admin_id,
                AdminAction.action,
                AdminAction.target_user_id,
                AdminAction.detail,
            ).order_by(AdminAction.id)
        )
        return [tuple(row) for row in rows]


async def test_usage_report_adds_up_today_and_this_month(accounts: Accounts) -> None:
    await accounts.record_usage(ALICE, kind="chat", tokens_in=300, tokens_out=100, now=NOW)
    await accounts.record_usage(ALICE, kind="transcription", voice_seconds=30, now=NOW)
    await accounts.record_usage(ALICE, kind="synthesis", tts_chars=1000, now=NOW)
    earlier = NOW - timedelta(days=5)
    await accounts.record_usage(ALICE, kind="chat", tokens_in=1000, now=earlier)
    last_month = datetime(2026, 10, 31, 23, 59, tzinfo=UTC)
    await accounts.record_usage(ALICE, kind="chat", tokens_in=10**6, now=last_month)
    await accounts.record_usage(BOB, kind="chat", tokens_in=777, now=NOW)

    report = await accounts.usage_report(ALICE, now=NOW)

    today_cost = 300e-6 + 200e-6 + 0.03 + 0.01
    assert report.today == Usage(
        tokens=400, voice_seconds=30, tts_chars=1000, cost=pytest.approx(today_cost)
    )
    assert report.month == Usage(
        tokens=1400, voice_seconds=30, tts_chars=1000, cost=pytest.approx(today_cost + 1e-3)
    )
    assert report.remaining["tokens"] == 600
    assert report.remaining["cost"] == pytest.approx(1.0 - today_cost - 1e-3)
    assert report.remaining["voice_seconds"] is None
    assert report.day_resets_at == datetime(2026, 11, 25, tzinfo=UTC)
    assert report.month_resets_at == datetime(2026, 12, 1, tzinfo=UTC)


async def test_a_cache_hit_costs_nothing_but_still_counts(accounts: Accounts) -> None:
    await accounts.record_usage(ALICE, kind="chat", tokens_in=50, cache_hit=True, now=NOW)
    report = await accounts.usage_report(ALICE, now=NOW)
    assert (report.today.tokens, report.today.cost) == (50, 0.0)


async def test_quota_refuses_at_the_daily_limit_until_utc_midnight(accounts: Accounts) -> None:
    await accounts.record_usage(ALICE, kind="chat", tokens_in=999, now=NOW)
    assert (await quota_of(accounts, ALICE, now=NOW)).allowed

    await accounts.record_usage(ALICE, kind="chat", tokens_out=1, now=NOW)
    decision = await quota_of(accounts, ALICE, now=NOW)

    assert not decision.allowed
    assert (decision.kind, decision.period, decision.used, decision.limit) == (
        "tokens",
        "day",
        1000,
        1000,
    )
    assert decision.resets_at == datetime(2026, 11, 25, tzinfo=UTC)
    tomorrow = datetime(2026, 11, 25, 0, 0, 1, tzinfo=UTC)
    assert (await quota_of(accounts, ALICE, now=tomorrow)).allowed


async def test_monthly_cost_limit_holds_until_the_first(accounts: Accounts) -> None:
    december = datetime(2026, 12, 3, tzinfo=UTC)
    await accounts.record_usage(ALICE, kind="chat", tokens_out=500_000, now=december)
    decision = await quota_of(accounts, ALICE, now=december + timedelta(days=2))
    assert (decision.allowed, decision.kind, decision.period) == (False, "cost", "month")
    assert decision.resets_at == datetime(2027, 1, 1, tzinfo=UTC)


async def test_admins_are_never_refused(accounts: Accounts) -> None:
    await accounts.record_usage(ADMIN, kind="chat", tokens_in=50_000, now=NOW)
    assert (await quota_of(accounts, ADMIN, now=NOW)).allowed
    report = await accounts.usage_report(ADMIN, now=NOW)
    assert report.exempt and report.decision.allowed and report.today.tokens == 50_000


async def test_a_per_user_limit_takes_effect_and_is_audited(accounts: Accounts, engine) -> None:
    await accounts.record_usage(ALICE, kind="chat", tokens_in=5000, now=NOW)
    assert not (await quota_of(accounts, ALICE, now=NOW)).allowed

    await accounts.set_limit(ADMIN, ALICE, "daily_tokens", 10_000, now=NOW)
    assert (await quota_of(accounts, ALICE, now=NOW)).allowed
    await accounts.set_limit(ADMIN, BOB, "daily_tokens", 0, now=NOW)
    await accounts.record_usage(BOB, kind="chat", tokens_in=10**6, now=NOW)
    bob = await quota_of(accounts, BOB, now=NOW)
    assert (bob.allowed, bob.kind) == (False, "cost")  # daily tokens lifted, monthly cost holds

    await accounts.set_limit(ADMIN, ALICE, "daily_tokens", None, now=NOW)
    assert not (await quota_of(accounts, ALICE, now=NOW)).allowed
    assert await audit_rows(engine) == [
        (ADMIN, "set_limit", ALICE, "daily_tokens=10000"),
        (ADMIN, "set_limit", BOB, "daily_tokens=0"),
        (ADMIN, "set_limit", ALICE, "daily_tokens=default"),
    ]


async def test_set_limit_refuses_unknown_keys(accounts: Accounts) -> None:
    with pytest.raises(ValueError, match="unknown limit"):
        await accounts.set_limit(ADMIN, ALICE, "hourly_tokens", 5)


async def test_block_unblock_and_allow_change_access_and_are_audited(engine) -> None:
    accounts = accounts_on(engine, allowed_ids=frozenset({BOB}))
    for user_id in (ALICE, BOB):
        await accounts.seen(user_id, username=None, full_name=None, language=None, now=NOW)
    assert await access_of(accounts, ALICE) == "not_allowed"
    assert await access_of(accounts, BOB) == "ok"
    assert await access_of(accounts, ADMIN) == "ok"  # admins need no row and no allowlist entry

    await accounts.allow(ADMIN, ALICE, now=NOW)
    assert await access_of(accounts, ALICE) == "ok"
    await accounts.set_blocked(ADMIN, ALICE, True, now=NOW)
    assert await access_of(accounts, ALICE) == "blocked"
    await accounts.set_blocked(ADMIN, ALICE, False, now=NOW)
    assert await access_of(accounts, ALICE) == "ok"

    assert [row[1:3] for row in await audit_rows(engine)] == [
        ("allow", ALICE),
        ("block", ALICE),
        ("unblock", ALICE),
    ]


async def test_everyone_is_let_in_without_an_allowlist(accounts: Accounts) -> None:
    assert await access_of(accounts, 424242) == "ok"


async def test_admin_changes_to_an_unknown_user_raise_lookup_error(accounts: Accounts, engine):
    for change in (
        accounts.set_limit(ADMIN, 999, "daily_tokens", 5),
        accounts.set_blocked(ADMIN, 999, True),
        accounts.allow(ADMIN, 999),
    ):
        with pytest.raises(LookupError):
            await change
    assert await audit_rows(engine) == []


async def test_find_user_by_id_or_username(accounts: Accounts) -> None:
    assert (await accounts.find_user(str(ALICE))).username == "Alice"
    assert (await accounts.find_user("@alice")).id == ALICE
    assert (await accounts.find_user("ALICE")).id == ALICE
    assert await accounts.find_user("@nobody") is None
    assert await accounts.find_user("31337") is None
    assert await accounts.find_user("@") is None


async def test_seen_refreshes_the_user_and_keeps_first_seen(accounts: Accounts) -> None:
    later = NOW + timedelta(hours=3)
    record = await accounts.seen(ALICE, username="alice2", full_name="A", language="ru", now=later)
    assert (record.username, record.language, record.blocked) == ("alice2", "ru", False)
    assert (record.first_seen, record.last_seen) == (NOW, later)
    assert record.overrides["daily_tokens"] is None


async def seed_ledger(accounts: Accounts) -> None:
    """Seven events over 40 days; the numbers below follow from them."""
    events = [
        (ALICE, timedelta(hours=1), dict(kind="chat", tokens_in=100, tokens_out=50)),
        (ALICE, timedelta(hours=2), dict(kind="transcription", voice_seconds=90)),
        (BOB, timedelta(hours=11, minutes=59), dict(kind="chat", tokens_in=10, cache_hit=True)),
        (BOB, timedelta(hours=12, minutes=1), dict(kind="chat", tokens_in=20)),
        (ALICE, timedelta(days=3), dict(kind="chat", tokens_in=1000)),
        (BOB, timedelta(days=10), dict(kind="chat", tokens_in=500, tokens_out=500)),
        (CAROL, timedelta(days=20), dict(kind="synthesis", tts_chars=1000)),
        (CAROL, timedelta(days=40), dict(kind="chat", tokens_in=10**6)),
    ]
    for user_id, ago, amounts in events:
        await accounts.record_usage(user_id, now=NOW - ago, **amounts)


async def test_stats_for_one_seven_and_thirty_days(accounts: Accounts) -> None:
    await seed_ledger(accounts)
    day, week, month = (await accounts.stats(now=NOW)).periods

    assert (day.days, day.active_users, day.messages, day.tokens) == (1, 2, 3, 180)
    assert day.voice_minutes == pytest.approx(1.5)
    assert day.cost == pytest.approx(100e-6 + 100e-6 + 0.09 + 20e-6)
    assert day.cache_hit_rate == pytest.approx(1 / 4)
    assert [(u.user_id, u.username, u.tokens) for u in day.top_users] == [
        (ALICE, "Alice", 150),
        (BOB, "bob", 30),
    ]
    assert (week.active_users, week.messages, week.tokens) == (2, 4, 1180)
    assert (month.active_users, month.messages, month.tokens) == (3, 5, 2180)
    assert [(u.user_id, u.tokens) for u in month.top_users] == [
        (ALICE, 1150),
        (BOB, 1030),
        (CAROL, 0),
    ]
    assert month.cost == pytest.approx(day.cost + 1e-3 + 1.5e-3 + 0.01)


async def test_daily_series_has_every_day_including_empty_ones(accounts: Accounts) -> None:
    await seed_ledger(accounts)
    series = await accounts.daily_series(now=NOW, days=30)

    assert [d.date for d in series] == [date(2026, 10, 26) + timedelta(n) for n in range(30)]
    by_date = {d.date: d for d in series}
    today, yesterday = by_date[date(2026, 11, 24)], by_date[date(2026, 11, 23)]
    assert (today.messages, today.tokens, today.voice_minutes) == (2, 160, 1.5)
    assert (yesterday.messages, yesterday.tokens) == (1, 20)  # 23:59 belongs to the 23rd
    assert by_date[date(2026, 11, 21)].tokens == 1000
    assert by_date[date(2026, 11, 14)].tokens == 1000
    assert by_date[date(2026, 11, 4)].cost == pytest.approx(0.01)
    busy = {date(2026, 11, d) for d in (24, 23, 21, 14, 4)}
    assert all(d.messages == d.tokens == d.cost == 0 for d in series if d.date not in busy)


async def test_ten_concurrent_records_lose_nothing(accounts: Accounts) -> None:
    await asyncio.gather(
        *(accounts.record_usage(ALICE, kind="chat", tokens_in=7, now=NOW) for _ in range(10))
    )
    assert (await accounts.usage_report(ALICE, now=NOW)).today.tokens == 70


async def test_usage_rows_of_turns_that_end_together_share_transactions(engine) -> None:
    accounts = accounts_on(engine)
    await accounts.seen(ALICE, now=NOW)
    commits: list[int] = []
    event.listen(engine.sync_engine, "commit", lambda _connection: commits.append(1))
    await asyncio.gather(
        *(accounts.record_usage(ALICE, kind="chat", tokens_in=7, now=NOW) for _ in range(50))
    )
    assert (await accounts.usage_report(ALICE, now=NOW)).today.tokens == 350
    assert len(commits) < 50


async def test_a_row_the_database_refuses_costs_the_rows_written_with_it_nothing(
    engine,
) -> None:
    accounts = accounts_on(engine)
    await accounts.seen(ALICE, now=NOW)
    nobody = 999  # no such user: the ledger's foreign key refuses the row
    outcomes = await asyncio.gather(
        accounts.record_usage(ALICE, kind="chat", tokens_in=7, now=NOW),
        accounts.record_usage(nobody, kind="chat", tokens_in=7, now=NOW),
        accounts.record_usage(ALICE, kind="chat", tokens_in=7, now=NOW),
        return_exceptions=True,
    )
    assert outcomes[0] is True and outcomes[2] is True
    assert isinstance(outcomes[1], ServiceError) and not outcomes[1].retryable
    assert (await accounts.usage_report(ALICE, now=NOW)).today.tokens == 14


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_an_unreachable_database_raises_a_retryable_service_error() -> None:
    url = f"postgresql+asyncpg://bot:secret@127.0.0.1:{closed_port()}/bot"
    engine = make_engine(url)
    accounts = accounts_on(engine)
    try:
        with pytest.raises(ServiceError) as caught:
            await quota_of(accounts, ALICE, now=NOW)
    finally:
        await engine.dispose()
    assert caught.value.stage == "database" and caught.value.retryable
    assert "secret" not in str(caught.value)


async def test_migrate_names_the_database_it_cannot_reach_without_the_password() -> None:
    port = closed_port()
    with pytest.raises(ServiceError) as caught:
        await migrate(f"postgresql+asyncpg://bot:secret@127.0.0.1:{port}/bot")
    message = str(caught.value)
    assert (
        f"cannot reach the database at postgresql+asyncpg://bot:***@127.0.0.1:{port}/bot" in message
    )
    assert "\n" not in message and "secret" not in message


@pytest.mark.postgres
async def test_a_database_that_goes_away_and_comes_back_keeps_every_usage_row() -> None:
    async with fresh_postgres_database(POSTGRES_URL) as url:
        await migrate(url)
        server = make_url(url)
        proxy = TcpProxy((server.host or "127.0.0.1", server.port or 5432))
        await proxy.start()
        engine = make_engine(server.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
        accounts = accounts_on(engine)
        try:
            await accounts.seen(ALICE, now=NOW)
            await accounts.record_usage(ALICE, kind="chat", tokens_in=5, now=NOW)

            await proxy.cut()
            assert not await accounts.record_usage(ALICE, kind="chat", tokens_in=5, now=NOW)
            assert len(accounts.backlog) == 1, "the row waits for the database"
            with pytest.raises(ServiceError) as caught:
                await quota_of(accounts, ALICE, now=NOW)
            assert caught.value.retryable

            await proxy.restore()
            await accounts.record_usage(ALICE, kind="chat", tokens_in=5, now=NOW)
            await asyncio.wait_for(accounts.backlog.wait_drained(), timeout=30)
            assert (await accounts.usage_report(ALICE, now=NOW)).today.tokens == 15
        finally:
            await accounts.aclose()
            await engine.dispose()
            await proxy.cut()


async def test_admitting_a_message_writes_the_user_only_when_new_changed_or_stale(
    accounts: Accounts,
) -> None:
    def admit(now: datetime, username: str | None = "Alice") -> Any:
        return accounts.admit(ALICE, username=username, full_name="X", language="en", now=now)

    soon = NOW + timedelta(minutes=2)
    assert (await admit(soon)).user.last_seen == NOW, "seen moments ago: no write"
    assert (await admit(soon, username="alice_b")).user.last_seen == soon, "a new name is kept"
    stale = soon + SEEN_REFRESH
    assert (await admit(stale, username="alice_b")).user.last_seen == stale
    newcomer = await accounts.admit(777, username="new", now=NOW)
    assert (newcomer.user.first_seen, newcomer.access, newcomer.quota.allowed) == (NOW, "ok", True)


async def test_admitting_a_message_checks_access_and_quota(
    engine,
) -> None:
    accounts = accounts_on(engine, limits=Limits(daily_tokens=10), allowed_ids=frozenset({BOB}))
    assert (await accounts.admit(ALICE, now=NOW)).access == "not_allowed"
    await accounts.allow(ADMIN, ALICE, now=NOW)
    await accounts.record_usage(ALICE, kind="chat", tokens_in=10, now=NOW)
    admission = await accounts.admit(ALICE, now=NOW)
    assert admission.access == "ok"
    assert not admission.quota.allowed and admission.quota.kind == "tokens"
    await accounts.set_blocked(ADMIN, ALICE, True, now=NOW)
    assert (await accounts.admit(ALICE, now=NOW)).access == "blocked"
    assert (await accounts.admit(ADMIN, now=NOW)).access == "ok"
    await accounts.record_usage(ADMIN, kind="chat", tokens_in=50, now=NOW)
    assert (await accounts.admit(ADMIN, now=NOW)).quota.allowed
