"""Quota arithmetic: usage, limits, prices and the allow/refuse decision; `now` is a parameter.

Limits apply per user and per UTC period: a day starts at 00:00 UTC, a month on the 1st at
00:00 UTC. A limit of 0 or None means unlimited. A user at or over any limit is refused until
that period resets. The kinds are the rows of KIND_TABLE; the ledger, /usage, /setlimit and /stats
read them from there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

QuotaKind = Literal["tokens", "voice_seconds", "tts_chars", "cost"]
# What a usage event records: a model answer, a transcription or a synthesis.
UsageKind = Literal["chat", "transcription", "synthesis"]
Period = Literal["day", "month"]
# What an amount counts: whole things (tokens, characters), seconds, or US dollars.
Unit = Literal["count", "seconds", "usd"]


@dataclass(frozen=True)
class Kind:
    """One quota kind: a row of KIND_TABLE, which everything else reads.

    Args:
        name: the quantity's one name: the field of `Usage`, the ledger column that holds it
            (unless `ledger` says otherwise), the limit keys `daily_<name>` and `monthly_<name>`
            (the users' override columns too), and the messages `kind_<name>` and
            `amount_<name>` in each language table.
        unit: what it counts; whole numbers for "count", and how `/usage` shows it.
        daily_setting: the Settings field of the global daily cap (0 = unlimited).
        monthly_setting: the Settings field of the global monthly cap.
        aliases: the other words `/setlimit` takes for it.
        max_value: the largest limit that is a policy and not a typo.
        ledger: the `UsageEvent` columns whose sum is the amount; empty means `(name,)`.
    """

    name: QuotaKind
    unit: Unit
    daily_setting: str
    monthly_setting: str
    aliases: tuple[str, ...]
    max_value: float
    ledger: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The ledger columns summed into this kind."""
        return self.ledger or (self.name,)

    def setting(self, period: Period) -> str:
        """The Settings field of the global cap for one period."""
        return self.daily_setting if period == "day" else self.monthly_setting


KIND_TABLE: tuple[Kind, ...] = (
    Kind(
        "tokens",
        unit="count",
        daily_setting="daily_token_limit",
        monthly_setting="monthly_token_limit",
        aliases=("token",),
        max_value=1e9,  # a billion tokens a day is a typo, not a policy
        ledger=("tokens_in", "tokens_out"),
    ),
    Kind(
        "voice_seconds",
        unit="seconds",
        daily_setting="daily_voice_seconds_limit",
        monthly_setting="monthly_voice_seconds_limit",
        aliases=("voice", "seconds"),
        max_value=1e8,
    ),
    Kind(
        "tts_chars",
        unit="count",
        daily_setting="daily_tts_chars_limit",
        monthly_setting="monthly_tts_chars_limit",
        aliases=("tts", "chars"),
        max_value=1e9,
    ),
    Kind(
        "cost",
        unit="usd",
        daily_setting="daily_cost_limit_usd",
        monthly_setting="monthly_cost_limit_usd",
        aliases=("usd",),
        max_value=1e6,
    ),
)
KINDS: tuple[QuotaKind, ...] = tuple(kind.name for kind in KIND_TABLE)
KIND_BY_NAME: Mapping[str, Kind] = {kind.name: kind for kind in KIND_TABLE}
PERIODS: tuple[Period, ...] = ("day", "month")
LIMIT_KEYS: tuple[str, ...] = tuple(f"{p}_{k}" for p in ("daily", "monthly") for k in KINDS)

_KIND_ALIASES: dict[str, Kind] = {
    word: kind for kind in KIND_TABLE for word in (kind.name, *kind.aliases)
}
_UNLIMITED_WORDS = frozenset({"off", "none", "unlimited", "no"})
_DEFAULT_WORDS = frozenset({"default", "reset", "inherit"})


@dataclass(frozen=True)
class Usage:
    """What a user consumed in some period: one field per row of KIND_TABLE."""

    tokens: int = 0
    voice_seconds: float = 0
    tts_chars: int = 0
    cost: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        """Sum two usages field by field."""
        return Usage(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def of(self, kind: QuotaKind) -> float:
        """The amount of one kind."""
        return float(getattr(self, kind))


class Limits:
    """Daily and monthly caps per kind, by limit key (`daily_tokens`, ...); 0 or None: unlimited.

    Args:
        caps: a value for some of LIMIT_KEYS; the others are unlimited.

    Raises:
        KeyError: a key that is not one of LIMIT_KEYS.
    """

    __slots__ = ("_caps",)

    def __init__(self, **caps: float | None) -> None:
        """Keep the caps, 0 and None both as None."""
        unknown = set(caps) - set(LIMIT_KEYS)
        if unknown:
            raise KeyError(f"unknown limit keys: {sorted(unknown)}")
        self._caps = {key: caps.get(key) or None for key in LIMIT_KEYS}

    @classmethod
    def from_settings(cls, settings: object) -> Limits:
        """The global limits from the settings each row of KIND_TABLE names (DAILY_*, MONTHLY_*)."""
        return cls(
            **{
                f"{_prefix(period)}_{kind.name}": getattr(settings, kind.setting(period))
                for kind in KIND_TABLE
                for period in PERIODS
            }
        )

    def merged(self, overrides: Mapping[str, float | None]) -> Limits:
        """These limits with a user's overrides on top.

        An override of None keeps the global value; 0 makes that cap unlimited for the user.
        Unknown keys raise KeyError.
        """
        changes = {key: value for key, value in overrides.items() if value is not None}
        return Limits(**{**self._caps, **changes})

    def get(self, period: Period, kind: QuotaKind) -> float | None:
        """The cap for one period and kind, None when unlimited."""
        return self._caps[f"{_prefix(period)}_{kind}"]

    def as_dict(self) -> dict[str, float | None]:
        """Every key with its cap (None when unlimited)."""
        return dict(self._caps)

    def __eq__(self, other: object) -> bool:
        """Equal when every cap is."""
        return isinstance(other, Limits) and self._caps == other._caps

    def __hash__(self) -> int:
        """A hash of the caps, so equal limits hash alike."""
        return hash(tuple(self._caps.items()))

    def __repr__(self) -> str:
        """The caps that are set, as the constructor takes them."""
        caps = ", ".join(f"{key}={value!r}" for key, value in self._caps.items() if value)
        return f"Limits({caps})"


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
    windows = tuple(zip(PERIODS, (today, month), strict=True))
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

    `kind_text` is `daily_<kind>` or `monthly_<kind>` with kind a name of KIND_TABLE or one of
    its aliases (voice, tts, usd, ...); a bare kind means daily. `value_text` is a
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
    if value > kind.max_value:
        raise ValueError(f"{value_text} is too large for {kind.name} (at most {kind.max_value:g})")
    if kind.unit == "count" and not value.is_integer():
        raise ValueError(f"{kind.name} must be a whole number")
    return key, value


def _parse_key(kind_text: str) -> tuple[str, Kind]:
    text = kind_text.strip().lower().replace("-", "_")
    period, _, rest = text.partition("_")
    if period not in ("daily", "monthly"):
        period, rest = "daily", text
    kind = _KIND_ALIASES.get(rest)
    if kind is None:
        raise ValueError(f"unknown limit {kind_text!r}; use one of: {', '.join(LIMIT_KEYS)}")
    return f"{period}_{kind.name}", kind


def _prefix(period: Period) -> str:
    return "daily" if period == "day" else "monthly"
