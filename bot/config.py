"""The one settings object: every environment variable of the run contract, read once."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# A plain alias, not `type X = ...`: the latter hides NoDecode (pydantic-settings #715).
UserIdSet = Annotated[frozenset[int], NoDecode]

DEFAULT_SYSTEM_PROMPT = (
    "You are a friendly, concise voice assistant in Telegram. Answer clearly in a few sentences "
    "unless the user asks for more. Placeholders like [PHONE_1] stand for the user's private "
    "values: keep them exactly as they are."
)

CLOUD_BOT_API_MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
LOCAL_BOT_API_MAX_DOWNLOAD_BYTES = 2000 * 1024 * 1024


class Settings(BaseSettings):
    """Configuration from the environment and an optional `.env` file."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # Telegram
    telegram_bot_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org"
    telegram_local_mode: bool = False
    admin_user_ids: UserIdSet = frozenset()
    allowed_user_ids: UserIdSet = frozenset()
    stream_edit_interval_seconds: float = 1.0

    # OpenAI (the SDK's own variable names)
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    # No announced shutdown; OpenAI names it the replacement of gpt-4o-mini (README, Backends).
    openai_model: str = "gpt-6-luna"
    # Sent to reasoning models only (bot.llm.is_reasoning_model); empty sends none. Low keeps a
    # voice answer's first words fast.
    openai_reasoning_effort: Literal["none", "minimal", "low", "medium", "high", ""] = "low"
    openai_timeout_seconds: float = 60.0
    openai_retry_budget_seconds: float = 30.0
    openai_max_attempts: int = Field(default=5, ge=1)
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    # One message to the model, estimated in tokens (~16,000 Latin characters); longer is refused.
    max_input_tokens: int = Field(default=4000, ge=1)

    # Storage
    redis_url: str | None = None
    redis_prefix: str = "vna:"
    database_url: str = "sqlite+aiosqlite:///data/bot.db"
    data_dir: Path = Path("data")

    # Conversation memory
    memory_max_turns: int = Field(default=20, ge=1)
    memory_max_tokens: int = Field(default=3000, ge=100)
    memory_idle_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)

    # Voice in
    max_voice_seconds: int = Field(default=300, ge=1)
    # Longer recordings (up to this, and the file limit) are cut at pauses and transcribed in
    # pieces; past LONG_NOTE_SECONDS the answer is a summary, with the transcript beside it.
    max_recording_minutes: int = Field(default=120, ge=1)
    long_note_seconds: int = Field(default=120, ge=1)
    # Turns this process works on at once; more wait their turn after their first sign of
    # life. Telegram's ~30 messages a second carry ~15 answers a second, so more turns at once
    # only lengthen every turn and the event loop's stalls (see README, Performance).
    max_concurrent_turns: int = Field(default=64, ge=1)
    # One person's flood must not hold the places others need: past these, their updates are
    # refused (politely once a minute) and dropped (0 = no limit).
    user_max_queued_updates: int = Field(default=10, ge=0)
    user_max_messages_per_minute: int = Field(default=30, ge=0)
    # Backend names stay strings here; each registry (bot.asr, bot.tts) refuses an unknown one
    # when it builds, and None is the stage's default there. So settings import nothing of the bot.
    asr_backend: str | None = None  # a name in bot.asr.BACKENDS
    transcribe_model: str = "gpt-transcribe"
    # Stream the transcript (shown as it grows) where the model can; whisper-1 cannot.
    transcribe_stream: bool = True
    whisper_model: str = "base"
    whisper_compute_type: str = "int8"
    whisper_beam_size: int = Field(default=1, ge=1)
    whisper_threads: int = Field(default=0, ge=0)
    whisper_workers: int = Field(default=0, ge=0)
    language_confidence: float = Field(default=0.7, ge=0.0, le=1.0)
    # Words that, said first in a group voice note, call the bot (besides its name and username).
    bot_wake_words: Annotated[tuple[str, ...], NoDecode] = ()

    # Voice out
    tts_backend: str | None = None  # a name in bot.tts.BACKENDS
    # Tried after TTS_BACKEND; those that cannot run here are skipped. None: bot.tts's default.
    tts_fallbacks: Annotated[tuple[str, ...] | None, NoDecode] = None
    # A realtime model speaks through the Realtime API; gpt-4o-mini-tts or tts-1 through
    # audio.speech, where a server still offers it (bot.core.readaloud.is_realtime_model).
    tts_model: str = "gpt-realtime-2.1-mini"
    tts_voice: str = "alloy"
    tts_timeout_seconds: float = 10.0
    # Realtime sessions one process keeps open and speaks through at once (one sentence each).
    tts_realtime_sessions: int = Field(default=32, ge=1)
    max_speech_seconds: int = Field(default=180, ge=5)

    # Privacy and caches
    privacy_mode: Literal["mask", "off"] = "mask"
    # Encrypts the private values each conversation remembers. Unset, it derives from the bot
    # token as it always did (so existing vaults still decrypt); set it, and a new bot token
    # keeps them. Changing it forgets them (see the README).
    vault_key: SecretStr | None = None
    transcript_cache_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=0)
    answer_cache_ttl_seconds: int = Field(default=24 * 3600, ge=0)
    speech_cache_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=0)

    # Quotas (0 = unlimited) and unit prices in US dollars
    daily_token_limit: int = Field(default=0, ge=0)
    daily_voice_seconds_limit: int = Field(default=0, ge=0)
    daily_tts_chars_limit: int = Field(default=0, ge=0)
    daily_cost_limit_usd: float = Field(default=0.0, ge=0)
    monthly_token_limit: int = Field(default=0, ge=0)
    monthly_voice_seconds_limit: int = Field(default=0, ge=0)
    monthly_tts_chars_limit: int = Field(default=0, ge=0)
    monthly_cost_limit_usd: float = Field(default=0.0, ge=0)
    # gpt-6-luna's and gpt-transcribe's list prices (README, Backends); reasoning tokens are
    # billed as output.
    price_input_per_1m_tokens: float = Field(default=0.10, ge=0)
    price_output_per_1m_tokens: float = Field(default=0.50, ge=0)
    price_transcription_per_minute: float = Field(default=0.0045, ge=0)
    price_tts_per_1m_chars: float = Field(default=15.0, ge=0)
    # gpt-realtime-2.1-mini's prices (OpenAI's model page); audio output is ~20 tokens a second.
    price_realtime_text_input_per_1m_tokens: float = Field(default=0.60, ge=0)
    price_realtime_text_output_per_1m_tokens: float = Field(default=2.40, ge=0)
    price_realtime_audio_output_per_1m_tokens: float = Field(default=20.0, ge=0)

    # Operations
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    # Private by default: /metrics names stages, errors and queue sizes, not for the internet.
    metrics_host: str = "127.0.0.1"
    metrics_on_webhook_port: bool = False
    log_level: str = "INFO"
    log_format: Literal["json", "text"] | None = None  # None: text on a terminal, else JSON
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"

    # Webhook mode and workers on several machines (bot/durable)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    worker_claim_seconds: float = Field(default=60.0, gt=0)
    worker_concurrency: int = Field(default=32, ge=1)
    worker_max_attempts: int = Field(default=3, ge=1)
    shutdown_grace_seconds: float = Field(default=20.0, ge=0, le=25)
    max_update_age_seconds: int | None = Field(default=None, ge=1)
    stale_updates: Literal["note", "skip"] = "note"

    # Live voice (bot/live): the page and its WebSocket at PUBLIC_URL/live, served on PORT
    public_url: str | None = None
    live_auth_max_age_seconds: int = Field(default=86400, ge=1)
    live_silence_ms: int = Field(default=700, ge=100, le=5000)
    live_max_sessions: int = Field(default=50, ge=1)
    live_max_seconds: int = Field(default=600, ge=10)

    @field_validator("admin_user_ids", "allowed_user_ids", mode="before")
    @classmethod
    def _parse_id_list(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            return frozenset(int(p) for p in parts if p)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("tts_fallbacks", mode="before")
    @classmethod
    def _parse_fallbacks(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(p.strip().lower() for p in value.split(",") if p.strip())
        return value

    @field_validator("bot_wake_words", mode="before")
    @classmethod
    def _parse_wake_words(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _check_secret(cls, value: object) -> object:
        # Telegram accepts 1-256 characters A-Z, a-z, 0-9, _ and - in a secret token.
        if value == "":
            return None
        if isinstance(value, str) and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value):
            raise ValueError("use 1-256 characters: letters, digits, _ and -")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not re.match(r"https?://[^/\s]+", value):
            raise ValueError("use the https:// address where Telegram clients reach the bot")
        return value.rstrip("/")

    @property
    def max_download_bytes(self) -> int:
        """Largest file the Bot API lets us download (cloud: 20 MB, local mode: 2000 MB)."""
        if self.telegram_local_mode:
            return LOCAL_BOT_API_MAX_DOWNLOAD_BYTES
        return CLOUD_BOT_API_MAX_DOWNLOAD_BYTES

    @property
    def max_recording_seconds(self) -> int:
        """The longest recording accepted, in seconds (never under MAX_VOICE_SECONDS)."""
        return max(self.max_recording_minutes * 60, self.max_voice_seconds)

    @property
    def vault_secret(self) -> str:
        """What the privacy vaults are encrypted with: VAULT_KEY, else the bot token."""
        key = self.vault_key or self.telegram_bot_token
        return key.get_secret_value()


def describe_error(error: ValidationError) -> str:
    """One line naming the environment variable to set or fix."""
    first = error.errors()[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "configuration"
    if first["type"] == "missing":
        return f"error: {name} is not set; put it in the environment or in .env"
    return f"error: {name} is invalid: {first['msg']}"


def load_settings(**overrides: object) -> Settings:
    """Read the settings, or exit with one line naming the variable to fix."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        print(describe_error(error), file=sys.stderr)
        raise SystemExit(2) from None
