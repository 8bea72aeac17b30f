"""What the models endpoint said of each model the configuration uses, and how to say it.

Pure: today's date is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ModelStatus:
    """One configured model as the server described it at start.

    Args:
        variable: the setting that names it ("OPENAI_MODEL", "TRANSCRIBE_MODEL", "TTS_MODEL").
        model: the model id.
        shutdown: the announced shutdown date, when there is one.
        missing: the server answered 404 model_not_found: shut down already, or misspelt.
    """

    variable: str
    model: str
    shutdown: date | None = None
    missing: bool = False


def parse_shutdown(value: object) -> date | None:
    """A `shutdown_date` field ("2027-01-14", or a full timestamp) as a date; None if absent."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def days_left(shutdown: date, today: date) -> int:
    """Whole days from `today` until `shutdown`; 0 on the day itself, negative after it."""
    return (shutdown - today).days


def describe(status: ModelStatus, today: date) -> str:
    """One line for the operator: the variable, the model, and what is known of its end."""
    name = f"{status.variable}={status.model}"
    if status.missing:
        return f"{name}: not found on the server (404 model_not_found)"
    if status.shutdown is None:
        return f"{name}: no shutdown announced"
    left = days_left(status.shutdown, today)
    return f"{name} shuts down on {status.shutdown.isoformat()} ({left} days left)"
