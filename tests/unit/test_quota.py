"""Quota arithmetic: who is refused, until when, at what price, and how admins set limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.config import Settings
from bot.core.quota import (
    ALLOWED,
    Limits,
    Prices,
    QuotaDecision,
    SpeechTokens,
    Usage,
    check,
    cost_of,
    parse_limit,
    period_bounds,
    remaining,
    speech_cost,
)

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
NEXT_DAY = datetime(2026, 11, 25, tzinfo=UTC)
NEXT_MONTH = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("today", "month", "limits", "expected"),
    [
        pytest.param(Usage(), Usage(), Limits(), ALLOWED, id="no limits: allowed"),
        pytest.param(
            Usage(tokens=10**9),
            Usage(tokens=10**9),
            Limits(daily_tokens=0),
            ALLOWED,
            id="a limit of 0 is unlimited",
        ),
        pytest.param(
            Usage(tokens=999),
            Usage(tokens=999),
            Limits(daily_tokens=1000),
            ALLOWED,
            id="tokens under the daily limit: allowed",
        ),
        pytest.param(
            Usage(tokens=1000),
            Usage(tokens=1000),
            Limits(daily_tokens=1000),
            QuotaDecision(False, "tokens", "day", NEXT_DAY, 1000, 1000),
            id="tokens at the daily limit: refused until next UTC midnight",
        ),
        pytest.param(
            Usage(voice_seconds=301),
            Usage(voice_seconds=301),
            Limits(daily_voice_seconds=300),
            QuotaDecision(False, "voice_seconds", "day", NEXT_DAY, 301, 300),
            id="voice over the daily limit: refused",
        ),
        pytest.param(
            Usage(tts_chars=50),
            Usage(tts_chars=5000),
            Limits(monthly_tts_chars=5000),
            QuotaDecision(False, "tts_chars", "month", NEXT_MONTH, 5000, 5000),
            id="speech at the monthly limit: refused until the 1st",
        ),
        pytest.param(
            Usage(cost=0.2),
            Usage(cost=0.99),
            Limits(daily_cost=0.5, monthly_cost=1.0),
            ALLOWED,
            id="cost under both limits: allowed",
        ),
        pytest.param(
            Usage(cost=0.5),
            Usage(cost=1.2),
            Limits(daily_cost=0.5, monthly_cost=1.0),
            QuotaDecision(False, "cost", "month", NEXT_MONTH, 1.2, 1.0),
            id="over both day and month: told the later reset",
        ),
        pytest.param(
            Usage(tokens=10, cost=5.0),
            Usage(tokens=10, cost=5.0),
            Limits(daily_tokens=10, daily_cost=5.0),
            QuotaDecision(False, "tokens", "day", NEXT_DAY, 10, 10),
            id="two daily kinds hit: the first kind is named",
        ),
        pytest.param(
            Usage(tokens=0),
            Usage(tokens=1_000_000),
            Limits(daily_tokens=100),
            ALLOWED,
            id="a daily limit ignores earlier days of the month",
        ),
    ],
)
def test_check(today: Usage, month: Usage, limits: Limits, expected: QuotaDecision) -> None:
    assert check(today=today, month=month, limits=limits, now=NOW) == expected


@pytest.mark.parametrize(
    ("now", "day_end", "month_start", "month_end"),
    [
        pytest.param(
            datetime(2026, 11, 24, 15, 30, tzinfo=UTC),
            datetime(2026, 11, 25, tzinfo=UTC),
            datetime(2026, 11, 1, tzinfo=UTC),
            datetime(2026, 12, 1, tzinfo=UTC),
            id="mid-month",
        ),
        pytest.param(
            datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
            datetime(2027, 1, 1, tzinfo=UTC),
            datetime(2026, 12, 1, tzinfo=UTC),
            datetime(2027, 1, 1, tzinfo=UTC),
            id="December rolls over to January",
        ),
        pytest.param(
            datetime(2028, 2, 29, 0, 0, tzinfo=UTC),
            datetime(2028, 3, 1, tzinfo=UTC),
            datetime(2028, 2, 1, tzinfo=UTC),
            datetime(2028, 3, 1, tzinfo=UTC),
            id="leap day at midnight starts a day",
        ),
        pytest.param(
            datetime(2026, 12, 1, 1, 0, tzinfo=timezone(timedelta(hours=3))),
            datetime(2026, 12, 1, tzinfo=UTC),
            datetime(2026, 11, 1, tzinfo=UTC),
            datetime(2026, 12, 1, tzinfo=UTC),
            id="local time east of UTC is still November in UTC",
        ),
    ],
)
def test_period_bounds_are_utc(
    now: datetime, day_end: datetime, month_start: datetime, month_end: datetime
) -> None:
    day_start, got_day_end, got_month_start, got_month_end = period_bounds(now)
    assert (got_day_end, got_month_start, got_month_end) == (day_end, month_start, month_end)
    assert got_day_end - day_start == timedelta(days=1)


def test_december_limit_resets_on_january_first() -> None:
    decision = check(
        today=Usage(),
        month=Usage(tokens=5),
        limits=Limits(monthly_tokens=5),
        now=datetime(2026, 12, 15, tzinfo=UTC),
    )
    assert decision.resets_at == datetime(2027, 1, 1, tzinfo=UTC)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        period_bounds(datetime(2026, 11, 24))  # noqa: DTZ001 - the point of the test


@pytest.mark.parametrize(
    ("today", "month", "limits", "expected"),
    [
        pytest.param(
            Usage(),
            Usage(),
            Limits(),
            {"tokens": None, "voice_seconds": None, "tts_chars": None, "cost": None},
            id="unlimited",
        ),
        pytest.param(
            Usage(tokens=300),
            Usage(tokens=9_800),
            Limits(daily_tokens=1000, monthly_tokens=10_000),
            {"tokens": 200, "voice_seconds": None, "tts_chars": None, "cost": None},
            id="the tighter of day and month",
        ),
        pytest.param(
            Usage(voice_seconds=90),
            Usage(voice_seconds=90),
            Limits(daily_voice_seconds=60),
            {"tokens": None, "voice_seconds": 0, "tts_chars": None, "cost": None},
            id="never below zero",
        ),
    ],
)
def test_remaining(today: Usage, month: Usage, limits: Limits, expected: dict) -> None:
    assert remaining(today=today, month=month, limits=limits) == expected


PRICES = Prices(
    input_per_1m_tokens=0.15,
    output_per_1m_tokens=0.60,
    transcription_per_minute=0.006,
    tts_per_1m_chars=15.0,
)


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        pytest.param({}, 0.0, id="nothing is free"),
        pytest.param({"tokens_in": 1_000_000}, 0.15, id="a million input tokens"),
        pytest.param({"tokens_out": 500_000}, 0.30, id="half a million output tokens"),
        pytest.param({"voice_seconds": 90}, 0.009, id="a minute and a half of voice"),
        pytest.param({"tts_chars": 2000}, 0.03, id="two thousand spoken characters"),
        pytest.param(
            {"tokens_in": 1000, "tokens_out": 200, "voice_seconds": 10, "tts_chars": 400},
            0.00015 + 0.00012 + 0.001 + 0.006,
            id="one voice turn sums its parts",
        ),
    ],
)
def test_cost_of(amounts: dict, expected: float) -> None:
    assert cost_of(PRICES, **amounts) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("kind_text", "value_text", "expected"),
    [
        pytest.param("daily_tokens", "50000", ("daily_tokens", 50_000.0), id="daily tokens"),
        pytest.param("monthly_cost", "$2.50", ("monthly_cost", 2.5), id="dollars with a sign"),
        pytest.param("Monthly-Voice", "3600", ("monthly_voice_seconds", 3600.0), id="alias, case"),
        pytest.param("tts", "1_000", ("daily_tts_chars", 1000.0), id="bare kind means daily"),
        pytest.param("daily_cost", "off", ("daily_cost", 0.0), id="off means unlimited"),
        pytest.param("daily_cost", "unlimited", ("daily_cost", 0.0), id="unlimited"),
        pytest.param("daily_tokens", "None", ("daily_tokens", 0.0), id="none means no cap"),
        pytest.param("daily_tokens", "default", ("daily_tokens", None), id="default: use global"),
        pytest.param("daily_tokens", "0", ("daily_tokens", 0.0), id="zero is unlimited too"),
    ],
)
def test_parse_limit_accepts(kind_text: str, value_text: str, expected: tuple) -> None:
    assert parse_limit(kind_text, value_text) == expected


@pytest.mark.parametrize(
    ("kind_text", "value_text", "reason"),
    [
        pytest.param("daily_tokens", "-5", "negative", id="negative"),
        pytest.param("daily_tokens", "2e9", "too large", id="absurd tokens"),
        pytest.param("monthly_cost", "5000000", "too large", id="absurd dollars"),
        pytest.param("daily_tokens", "lots", "not a number", id="non-numeric"),
        pytest.param("daily_tokens", "nan", "not a finite number", id="nan"),
        pytest.param("daily_tokens", "inf", "not a finite number", id="infinity"),
        pytest.param("daily_tokens", "10.5", "whole number", id="fractional tokens"),
        pytest.param("daily_bananas", "5", "unknown limit", id="unknown kind"),
        pytest.param("hourly_tokens", "5", "unknown limit", id="unknown period"),
        pytest.param("daily", "5", "unknown limit", id="period alone"),
    ],
)
def test_parse_limit_refuses_with_a_reason(kind_text: str, value_text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_limit(kind_text, value_text)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({}, Limits(daily_tokens=1000, monthly_cost=5.0), id="no overrides"),
        pytest.param(
            {"daily_tokens": None},
            Limits(daily_tokens=1000, monthly_cost=5.0),
            id="None keeps the global value",
        ),
        pytest.param(
            {"daily_tokens": 50_000.0},
            Limits(daily_tokens=50_000, monthly_cost=5.0),
            id="a number replaces it",
        ),
        pytest.param(
            {"monthly_cost": 0.0},
            Limits(daily_tokens=1000, monthly_cost=None),
            id="0 lifts the cap for this user",
        ),
        pytest.param(
            {"daily_voice_seconds": 60.0},
            Limits(daily_tokens=1000, daily_voice_seconds=60, monthly_cost=5.0),
            id="a cap the global policy lacks",
        ),
    ],
)
def test_limits_merged(overrides: dict, expected: Limits) -> None:
    assert Limits(daily_tokens=1000, monthly_cost=5.0).merged(overrides) == expected


def test_limits_merged_rejects_unknown_keys() -> None:
    with pytest.raises(KeyError, match="hourly_tokens"):
        Limits().merged({"hourly_tokens": 5})


def test_limits_from_settings_treat_zero_as_unlimited() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token="123:abc",
        daily_token_limit=20_000,
        daily_cost_limit_usd=0.5,
        monthly_voice_seconds_limit=3600,
        monthly_cost_limit_usd=0,
    )
    assert Limits.from_settings(settings) == Limits(
        daily_tokens=20_000, daily_cost=0.5, monthly_voice_seconds=3600
    )


def test_prices_from_settings() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token="123:abc",
        price_input_per_1m_tokens=1.0,
        price_output_per_1m_tokens=2.0,
        price_transcription_per_minute=0.5,
        price_tts_per_1m_chars=3.0,
        price_realtime_text_input_per_1m_tokens=4.0,
        price_realtime_text_output_per_1m_tokens=5.0,
        price_realtime_audio_output_per_1m_tokens=6.0,
    )
    assert Prices.from_settings(settings) == Prices(1.0, 2.0, 0.5, 3.0, 4.0, 5.0, 6.0)


REALTIME_PRICES = Prices(
    realtime_text_input_per_1m_tokens=0.60,
    realtime_text_output_per_1m_tokens=2.40,
    realtime_audio_output_per_1m_tokens=20.0,
)


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        pytest.param(SpeechTokens(), 0.0, id="nothing read costs nothing"),
        pytest.param(SpeechTokens(text_in=1_000_000), 0.60, id="a million tokens of text read"),
        pytest.param(SpeechTokens(text_out=1_000_000), 2.40, id="a million transcript tokens"),
        pytest.param(SpeechTokens(audio_out=1200), 0.024, id="a minute of speech"),
        pytest.param(
            SpeechTokens(text_in=100, text_out=20, audio_out=200),
            (100 * 0.60 + 20 * 2.40 + 200 * 20.0) / 1e6,
            id="one sentence sums its parts",
        ),
    ],
)
def test_speech_cost_prices_each_kind_of_token(tokens: SpeechTokens, expected: float) -> None:
    assert speech_cost(REALTIME_PRICES, tokens) == pytest.approx(expected)


def test_speech_tokens_add_field_by_field() -> None:
    total = SpeechTokens(1, 2, 3) + SpeechTokens(10, 20, 30)
    assert (total, total.tokens_out) == (SpeechTokens(11, 22, 33), 55)


def test_usage_adds_field_by_field() -> None:
    total = Usage(tokens=1, voice_seconds=2.5, tts_chars=3, cost=0.25) + Usage(
        tokens=10, voice_seconds=0.5, tts_chars=30, cost=0.5
    )
    assert total == Usage(tokens=11, voice_seconds=3.0, tts_chars=33, cost=0.75)
