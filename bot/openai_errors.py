"""The one translation of openai SDK errors into ServiceError, used by every OpenAI adapter."""

from __future__ import annotations

from bot.errors import MODEL_NOT_FOUND, CredentialsRejected, ServiceError, is_retryable_status


def translate_openai_error(stage: str, error: Exception) -> ServiceError:
    """Our ServiceError for an openai SDK exception, with `retryable` and Retry-After set.

    An HTTP error answer keeps its status (429 and 5xx are retryable); a timeout or a broken
    connection is retryable; anything else the SDK raises (a malformed response) is not. A
    rejected key (401) is CredentialsRejected: the operator's to fix, never retried. A model
    the server does not have (404 model_not_found: shut down, or misspelt) keeps that reason,
    so the user is told the model is unavailable rather than that the service is not answering.
    """
    import openai  # loaded by bot.app's warm-up, not at start-up (see bot.openai_client)

    if isinstance(error, openai.AuthenticationError):
        return CredentialsRejected(stage)
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        return ServiceError(
            stage,
            f"HTTP {status}",
            status=status,
            retryable=is_retryable_status(status),
            retry_after=retry_after_seconds(error.response.headers.get("retry-after")),
            reason=MODEL_NOT_FOUND if is_model_not_found(error) else None,
        )
    if isinstance(error, openai.APIConnectionError):  # APITimeoutError is one too
        return ServiceError(stage, type(error).__name__, retryable=True)
    return ServiceError(stage, type(error).__name__)


def is_model_not_found(error: Exception) -> bool:
    """Whether an openai SDK error is the server's 404 with the code model_not_found."""
    import openai

    return isinstance(error, openai.NotFoundError) and error.code == MODEL_NOT_FOUND


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header; None when absent or an HTTP date.

    A date gets None because the shared retry policy's own backoff is good enough; ServiceError
    clamps the number to what the policy is willing to wait.
    """
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None
