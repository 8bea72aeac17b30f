"""Quota arithmetic: usage, limits, prices and the allow/refuse decision; `now` is a parameter.

Limits apply per user and per UTC period: a day starts at 00:00 UTC, a month on the 1st at
00:00 UTC. A limit of 0 or None means unlimited. A user at or over any limit is refused until
that period resets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol, get_args

QuotaKind = Literal["tokens", "voice_seconds", "tts_chars", "cost"]
# What a usage event records: a model answer, a transcription or a synthesis.
UsageKind = Literal["chat", "transcription", "synthesis"]
Period = Literal["day", "month"]

KINDS: tuple[QuotaKind, ...] = get_args(QuotaKind)
LIMIT_KEYS: tuple[str, ...] = tuple(f"{p}_{k}" for p in ("daily", "monthly") for k in KINDS)

# Values above these are typos, not policies (a billion tokens, a million dollars a day).
_MAX_VALUE: dict[QuotaKind, float] = {
    "tokens": 1e9,
    "voice_seconds": 1e8,
    "tts_chars": 1e9,
    "cost": 1e6,
}
_KIND_ALIASES: dict[str, QuotaKind] = {
    "tokens": "tokens",
    "token": "tokens",
    "voice_seconds": "voice_seconds",
    "voice": "voice_seconds",
    "seconds": "voice_seconds",
    "tts_chars": "tts_chars",
    "tts": "tts_chars",
    "chars": "tts_chars",
    "cost": "cost",
    "usd": "cost",
}
_UNLIMITED_WORDS = frozenset({"off", "none", "unlimited", "no"})
_DEFAULT_WORDS = frozenset({"default", "reset", "inherit"})


@dataclass(frozen=True)
class Usage:
    """What a user consumed in some period."""

    tokens: int = 0
    voice_seconds: float = 0
    tts_chars: int = 0
    cost: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        """Sum two usages field by field."""
        return Usage(
            tokens=self.tokens + other.tokens,
            voice_seconds=self.voice_seconds + other.voice_seconds,
            tts_chars=self.tts_chars + other.tts_chars,
            cost=self.cost + other.cost,
        )

    def of(self, kind: QuotaKind) -> float:
        """The amount of one kind."""
        return float(getattr(self, kind))


class _LimitSettings(Protocol):
    daily_token_limit: int
    daily_voice_seconds_limit: int
    daily_tts_chars_limit: int
    daily_cost_limit_usd: float
    monthly_token_limit: int
    monthly_voice_seconds_limit: int
    monthly_tts_chars_limit: int
    monthly_cost_limit_usd: float


@dataclass(frozen=True)
class Limits:
    """Daily and monthly caps per kind; 0 or None means unlimited."""

    daily_tokens: float | None = None
    daily_voice_seconds: float | None = None
    daily_tts_chars: float | None = None
    daily_cost: float | None = None
    monthly_tokens: float | None = None
    monthly_voice_seconds: float | None = None
    monthly_tts_chars: float | None = None
    monthly_cost: float | None = None

    @classmethod
    def from_settings(cls, settings: _LimitSettings) -> Limits:
        """The global limits from DAILY_* and MONTHLY_* settings."""
        return cls(
            daily_tokens=settings.daily_token_limit or None,
            daily_voice_seconds=settings.daily_voice_seconds_limit or None,
            daily_tts_chars=settings.daily_tts_chars_limit or None,
            daily_cost=settings.daily_cost_limit_usd or None,
            monthly_tokens=settings.monthly_token_limit or None,
            monthly_voice_seconds=settings.monthly_voice_seconds_limit or None,
            monthly_tts_chars=settings.monthly_tts_chars_limit or None,
            monthly_cost=settings.monthly_cost_limit_usd or None,
        )

    def merged(self, overrides: Mapping[str, float | None]) -> Limits:
        """These limits with a user's overrides on top.

        An override of None keeps the global value; 0 makes that cap unlimited for the user.
        Unknown keys raise KeyError.
        """
        unknown = set(overrides) - set(LIMIT_KEYS)
        if unknown:
            raise KeyError(f"unknown limit keys: {sorted(unknown)}")
        changes = {key: value or None for key, value in overrides.items() if value is not None}
        return replace(self, **changes)

    def get(self, period: Period, kind: QuotaKind) -> float | None:
        """The cap for one period and kind, None when unlimited."""
        value: float | None = getattr(self, f"{_prefix(period)}_{kind}")
        return value or None

    def as_dict(self) -> dict[str, float | None]:
        """Every key with its cap (None when unlimited)."""
        return {f.name: getattr(self, f.name) or None for f in fields(self)}


class _PriceSettings(Protocol):
    price_input_per_1m_tokens: float
    price_output_per_1m_tokens: float
    price_transcription_per_minute: float
    price_tts_per_1m_chars: float
    price_realtime_text_input_per_1m_tokens: float
    price_realtime_text_output_per_1m_tokens: float
    price_realtime_audio_output_per_1m_tokens: float


@dataclass(frozen=True)
class Prices:
    """Unit prices in US dollars; `realtime_*` are the speech model's, per token it reports."""

    input_per_1m_tokens: float = 0.0
    output_per_1m_tokens: float = 0.0
    transcription_per_minute: float = 0.0
    tts_per_1m_chars: float = 0.0
    realtime_text_input_per_1m_tokens: float = 0.0
    realtime_text_output_per_1m_tokens: float = 0.0
    realtime_audio_output_per_1m_tokens: float = 0.0

    @classmethod
    def from_settings(cls, settings: _PriceSettings) -> Prices:
        """The PRICE_* settings."""
        return cls(
            input_per_1m_tokens=settings.price_input_per_1m_tokens,
            output_per_1m_tokens=settings.price_output_per_1m_tokens,
            transcription_per_minute=settings.price_transcription_per_minute,
            tts_per_1m_chars=settings.price_tts_per_1m_chars,
            realtime_text_input_per_1m_tokens=settings.price_realtime_text_input_per_1m_tokens,
            realtime_text_output_per_1m_tokens=settings.price_realtime_text_output_per_1m_tokens,
            realtime_audio_output_per_1m_tokens=settings.price_realtime_audio_output_per_1m_tokens,
        )


@dataclass(frozen=True)
class SpeechTokens:
    """The tokens a Realtime model reported for speaking (its `response.done` usage).

    Args:
        text_in: input tokens: the instructions and the text to read.
        text_out: output text tokens (the transcript of what it said).
        audio_out: output audio tokens (about 20 per second of speech).
    """

    text_in: int = 0
    text_out: int = 0
    audio_out: int = 0

    def __add__(self, other: SpeechTokens) -> SpeechTokens:
        """Sum two reports field by field."""
        return SpeechTokens(
            self.text_in + other.text_in,
            self.text_out + other.text_out,
            self.audio_out + other.audio_out,
        )

    @property
    def tokens_out(self) -> int:
        """All output tokens, text and audio."""
        return self.text_out + self.audio_out


def speech_cost(prices: Prices, tokens: SpeechTokens) -> float:
    """Estimated cost in US dollars of speech a Realtime model reported in tokens."""
    return (
        tokens.text_in * prices.realtime_text_input_per_1m_tokens
        + tokens.text_out * prices.realtime_text_output_per_1m_tokens
        + tokens.audio_out * prices.realtime_audio_output_per_1m_tokens
    ) / 1e6


def cost_of(
    prices: Prices,
    *,
    tokens_in: int = 0,
    tokens_out: int = 0,
    voice_seconds: float = 0.0,
    tts_chars: int = 0,
) -> float:
    """Estimated cost in US dollars of one piece of work."""
    return (
        tokens_in * prices.input_per_1m_tokens / 1e6
        + tokens_out * prices.output_per_1m_tokens / 1e6
        + voice_seconds / 60 * prices.transcription_per_minute
        + tts_chars * prices.tts_per_1m_chars / 1e6
    )


@dataclass(frozen=True)
class QuotaDecision:
    """Whether a user may go on; when refused, which cap was hit and when it resets."""

    allowed: bool
    kind: QuotaKind | None = None
    period: Period | None = None
    resets_at: datetime | None = None
    used: float = 0.0
    limit: float = 0.0


ALLOWED = QuotaDecision(allowed=True)


def period_bounds(now: datetime) -> tuple[datetime, datetime, datetime, datetime]:
    """(day_start, day_end, month_start, month_end) in UTC around `now` (which must be aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month_start = day_start.replace(day=1)
    if month_start.month == 12:
        month_end = month_start.replace(year=month_start.year + 1, month=1)
    else:
        month_end = month_start.replace(month=month_start.month + 1)
    return day_start, day_start + timedelta(days=1), month_start, month_end


def check(*, today: Usage, month: Usage, limits: Limits, now: datetime) -> QuotaDecision:
    """Allow, or refuse naming the cap that holds the user back longest (the latest reset)."""
    _, day_end, _, month_end = period_bounds(now)
    windows: tuple[tuple[Period, Usage, datetime], ...] = (
        ("day", today, day_end),
        ("month", month, month_end),
    )
    refusals = [
        QuotaDecision(False, kind, period, resets_at, usage.of(kind), limit)
        for period, usage, resets_at in windows
        for kind in KINDS
        if (limit := limits.get(period, kind)) is not None and usage.of(kind) >= limit
    ]
    if not refusals:
        return ALLOWED
    # max() keeps the first of equals, so the order of KINDS breaks ties.
    return max(refusals, key=lambda decision: decision.resets_at or now)


def remaining(*, today: Usage, month: Usage, limits: Limits) -> dict[QuotaKind, float | None]:
    """What is left of each kind before the tighter of the two caps; None when unlimited."""
    windows: tuple[tuple[Period, Usage], ...] = (("day", today), ("month", month))
    left: dict[QuotaKind, float | None] = {}
    for kind in KINDS:
        candidates = [
            limit - usage.of(kind)
            for period, usage in windows
            if (limit := limits.get(period, kind)) is not None
        ]
        left[kind] = max(0.0, min(candidates)) if candidates else None
    return left


def parse_limit(kind_text: str, value_text: str) -> tuple[str, float | None]:
    """Parse `/setlimit` arguments into (limit key, value).

    `kind_text` is `daily_<kind>` or `monthly_<kind>` with kind one of tokens, voice_seconds,
    tts_chars, cost (aliases: voice, tts, usd; a bare kind means daily). `value_text` is a
    number, "off"/"none"/"unlimited" (→ 0.0: no cap for this user) or "default"/"reset"
    (→ None: drop the override and use the global limit).

    Raises:
        ValueError: with a reason fit to show the admin.
    """
    key, kind = _parse_key(kind_text)
    word = value_text.strip().lower()
    if word in _DEFAULT_WORDS:
        return key, None
    if word in _UNLIMITED_WORDS:
        return key, 0.0
    try:
        value = float(word.lstrip("$").replace("_", "").replace(",", ""))
    except ValueError:
        raise ValueError(f"{value_text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{value_text!r} is not a finite number")
    if value < 0:
        raise ValueError("a limit cannot be negative")
    if value > _MAX_VALUE[kind]:
        raise ValueError(f"{value_text} is too large for {kind} (at most {_MAX_VALUE[kind]:g})")
    if kind in ("tokens", "tts_chars") and not value.is_integer():
        raise ValueError(f"{kind} must be a whole number")
    return key, value


def _parse_key(kind_text: str) -> tuple[str, QuotaKind]:
    text = kind_text.strip().lower().replace("-", "_")
    period, _, rest = text.partition("_")
    if period not in ("daily", "monthly"):
        period, rest = "daily", text
    kind = _KIND_ALIASES.get(rest)
    if kind is None:
        raise ValueError(f"unknown limit {kind_text!r}; use one of: {', '.join(LIMIT_KEYS)}")
    return f"{period}_{kind}", kind


def _prefix(period: Period) -> str:
    return "daily" if period == "day" else "monthly"
