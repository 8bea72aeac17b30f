"""Which settings each webhook mode needs: checked before anything heavy is imported."""

from __future__ import annotations

from bot.config import Settings


def mode_problem(settings: Settings, mode: str) -> str | None:
    """The one line that stops a webhook mode before it starts, or None when all is set.

    `mode` is "web", "worker" or "single" (`python -m bot` with WEBHOOK_URL).
    """
    if mode == "web" and not settings.webhook_url:
        return "error: WEBHOOK_URL is not set; `python -m bot web` receives updates there"
    if mode in ("web", "single") and settings.webhook_secret is None:
        return (
            "error: WEBHOOK_SECRET is not set; webhook mode needs it "
            "(1-256 characters: letters, digits, _ and -)"
        )
    if mode in ("web", "worker") and not settings.redis_url:
        return f"error: REDIS_URL is not set; `python -m bot {mode}` processes share one Redis"
    return None
