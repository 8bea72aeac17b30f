"""One vocabulary for failures: typed exceptions with a `retryable` flag, and a pure classifier."""

from __future__ import annotations

# The longest a server's Retry-After is honoured: a retry budget is ~30 s, and a user is waiting.
MAX_RETRY_AFTER_SECONDS = 30.0


class BotError(Exception):
    """Base of the bot's own exceptions."""


class ServiceError(BotError):
    """A remote or local service failed at one stage of the pipeline.

    Args:
        stage: which stage failed ("chat", "transcription", "synthesis", "download", ...).
        message: a short description without user data.
        status: the HTTP status, when there is one.
        retryable: whether trying again later may succeed.
        retry_after: seconds the server asked us to wait, when it said so; kept within
            0..MAX_RETRY_AFTER_SECONDS, so every caller honours it the same way.
        reason: what went wrong when it changes what the user is told (MODEL_NOT_FOUND).
    """

    def __init__(
        self,
        stage: str,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage = stage
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.retry_after = (
            None if retry_after is None else min(max(retry_after, 0.0), MAX_RETRY_AFTER_SECONDS)
        )


class CredentialsRejected(ServiceError):
    """The service refused our API key (HTTP 401): only the operator can fix it, not a retry."""

    def __init__(self, stage: str) -> None:
        super().__init__(stage, "HTTP 401: the API key was rejected", status=401)


class AudioError(BotError):
    """The audio could not be decoded: empty, truncated beyond use, or not audio at all."""


class AudioTooLong(AudioError):
    """The decoded audio is longer than the limit, whatever length Telegram declared."""

    def __init__(self, seconds: float, limit: float) -> None:
        super().__init__(f"{seconds:.1f} s of audio, limit {limit:.0f} s")
        self.seconds = seconds
        self.limit = limit


class SpeechUnavailable(BotError):
    """No speech synthesizer could speak the text."""


def is_retryable_status(status: int | None) -> bool:
    """429 and 5xx are worth another try; other 4xx are not; no status means a network failure."""
    if status is None:
        return True
    return status == 429 or status >= 500


# The server has no such model (shut down, or misspelt): only the operator can fix it.
MODEL_NOT_FOUND = "model_not_found"

# The user's message for a failed stage: the one place where a ServiceError becomes words.
_REFUSAL_KEYS = {
    "database": "db_down",
    "redis": "storage_down",
    "transcription": "transcription_failed",
    "chat": "service_down",
}
# A reason that says more than the stage, by (stage, reason).
_REASON_KEYS = {
    ("chat", MODEL_NOT_FOUND): "model_unavailable",
    ("transcription", MODEL_NOT_FOUND): "transcription_model_unavailable",
}


def refusal_key(error: ServiceError) -> str:
    """The i18n key of the short message that tells the user which service failed."""
    if key := _REASON_KEYS.get((error.stage, error.reason or "")):
        return key
    if error.stage == "download":
        # A file Telegram no longer has comes back only if sent again; the rest is temporary.
        return "transcription_failed" if error.retryable else "file_gone"
    return _REFUSAL_KEYS.get(error.stage, "service_down")
