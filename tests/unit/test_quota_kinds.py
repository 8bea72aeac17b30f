"""Every row of KIND_TABLE is a whole quota kind: a row without its parts fails here.

A kind is read from the table by quotas, the ledger, /usage, /setlimit and /stats; what the
table cannot hold (the settings, the columns, the translations) must exist beside it.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import get_args

import pytest

from bot.config import Settings
from bot.core.quota import (
    ALLOWED,
    KIND_TABLE,
    KINDS,
    Kind,
    Limits,
    QuotaKind,
    Usage,
    check,
    parse_limit,
    remaining,
)
from bot.db.accounts import Stats, UsageReport
from bot.db.ledger import PeriodStats
from bot.db.models import UsageEvent, User
from bot.i18n import TABLES, t
from bot.tg.admin import SETLIMIT_USAGE
from bot.tg.reports import format_amount, format_remaining, format_stats, format_usage

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
LANGUAGES = sorted(TABLES)
by_kind = pytest.mark.parametrize("kind", KIND_TABLE, ids=lambda kind: kind.name)


def some(kind: Kind) -> Usage:
    """A usage of this kind alone, large enough to show in every unit (two hours, $7200)."""
    return Usage(**{kind.name: 7200})


def report_of(usage: Usage, limits: Limits) -> UsageReport:
    """What /usage reads for a user who used `usage` today and this month."""
    return UsageReport(
        user_id=1,
        exempt=False,
        today=usage,
        month=usage,
        limits=limits,
        remaining=remaining(today=usage, month=usage, limits=limits),
        day_resets_at=NOW,
        month_resets_at=NOW,
        decision=ALLOWED,
    )


def test_the_table_names_each_quota_kind_once() -> None:
    assert KINDS == get_args(QuotaKind)


def test_usage_has_a_field_per_kind() -> None:
    assert tuple(f.name for f in fields(Usage)) == KINDS


@by_kind
def test_a_kind_has_its_daily_and_monthly_settings(kind: Kind) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token="123:abc",
        **{kind.daily_setting: 7, kind.monthly_setting: 70},
    )
    limits = Limits.from_settings(settings)
    assert (limits.get("day", kind.name), limits.get("month", kind.name)) == (7, 70)


@by_kind
def test_a_kind_is_refused_at_its_cap(kind: Kind) -> None:
    decision = check(
        today=some(kind), month=some(kind), limits=Limits(**{f"daily_{kind.name}": 1}), now=NOW
    )
    assert (decision.allowed, decision.kind, decision.period) == (False, kind.name, "day")


@by_kind
def test_a_kind_has_its_ledger_columns_and_override_columns(kind: Kind) -> None:
    assert set(kind.columns) <= set(UsageEvent.__table__.columns.keys())
    assert {f"daily_{kind.name}", f"monthly_{kind.name}"} <= set(User.__table__.columns.keys())


@by_kind
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_kind_has_its_names_in_every_language(kind: Kind, language: str) -> None:
    table = TABLES[language]
    assert table[f"kind_{kind.name}"]
    assert "{amount}" in table[f"amount_{kind.name}"]


@by_kind
@pytest.mark.parametrize("language", LANGUAGES)
def test_usage_shows_what_was_used_of_a_kind(kind: Kind, language: str) -> None:
    assert format_usage(some(kind), language) != format_usage(Usage(), language)


@by_kind
def test_usage_shows_what_is_left_of_a_kind(kind: Kind) -> None:
    capped = report_of(Usage(), Limits(**{f"daily_{kind.name}": 9000}))
    left = f"{t(f'kind_{kind.name}', 'de')}: {format_amount(kind.name, 9000)}"
    assert left in format_remaining(capped, "de").split("; ")


@by_kind
def test_stats_show_a_kind(kind: Kind) -> None:
    def stats_of(usage: Usage) -> str:
        period = PeriodStats(
            1, active_users=1, messages=1, usage=usage, cache_hit_rate=0, top_users=()
        )
        return format_stats(Stats(generated_at=NOW, periods=(period,)))

    assert stats_of(some(kind)) != stats_of(Usage())


@by_kind
@pytest.mark.parametrize("period", ["daily", "monthly"])
def test_setlimit_accepts_a_kind_and_its_aliases(kind: Kind, period: str) -> None:
    key = f"{period}_{kind.name}"
    assert parse_limit(key, "100") == (key, 100.0)
    assert [parse_limit(f"{period}_{word}", "off") for word in kind.aliases] == [
        (key, 0.0) for _ in kind.aliases
    ]
    assert f"daily_{kind.name}" in SETLIMIT_USAGE


@by_kind
def test_setlimit_refuses_a_kind_over_its_largest_sane_value(kind: Kind) -> None:
    with pytest.raises(ValueError, match="too large"):
        parse_limit(kind.name, f"{kind.max_value * 10:.0f}")


def test_no_alias_names_two_kinds() -> None:
    words = [word for kind in KIND_TABLE for word in (kind.name, *kind.aliases)]
    assert len(words) == len(set(words))
