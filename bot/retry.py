"""The one retry policy for remote calls: exponential backoff with jitter, Retry-After honoured."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from bot.errors import ServiceError

log = logging.getLogger(__name__)
T = TypeVar("T")

_backoff = wait_exponential_jitter(multiplier=0.5, max=8.0, jitter=0.5)


def _is_retryable(error: BaseException) -> bool:
    return isinstance(error, ServiceError) and error.retryable


def _wait(state: RetryCallState) -> float:
    """Wait as long as the server asked (ServiceError caps it), else back off with jitter."""
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, ServiceError) and error.retry_after is not None:
        return error.retry_after
    return float(_backoff(state))


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    stage: str,
    budget_seconds: float,
    max_attempts: int,
    on_retry: Callable[[str], None] | None = None,
) -> T:
    """Run `call`, retrying retryable ServiceErrors within a time budget; re-raise the last."""

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "retrying %s after %s (attempt %d)",
            stage,
            type(error).__name__,
            state.attempt_number,
        )
        if on_retry:
            on_retry(stage)

    retrying = AsyncRetrying(
        retry=retry_if_exception(_is_retryable),
        wait=_wait,
        stop=stop_after_delay(budget_seconds) | stop_after_attempt(max_attempts),
        before_sleep=before_sleep,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity either returns or re-raises")
