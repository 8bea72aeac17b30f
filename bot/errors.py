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
    """

    def __init__(
        self,
        stage: str,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage = stage
        self.status = status
        self.retryable = retryable
        self.retry_after = (
            None if retry_after is None else min(max(retry_after, 0.0), MAX_RETRY_AFTER_SECONDS)
        )


class AudioError(BotError):
    """The audio could not be decoded: empty, truncated beyond use, or not audio at all."""


class SpeechUnavailable(BotError):
    """No speech synthesizer could speak the text."""


def is_retryable_status(status: int | None) -> bool:
    """429 and 5xx are worth another try; other 4xx are not; no status means a network failure."""
    if status is None:
        return True
    return status == 429 or status >= 500
