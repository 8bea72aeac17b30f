"""The lifecycle guard: at start, ask the server about each OpenAI model the settings name.

One `GET /v1/models/{id}` per model, in the background after polling starts. A shutdown date
is a WARNING line, a gauge and a line of /stats; a model the server no longer has is an ERROR
line (its users get the stage's apology, bot.errors.refusal_key). A server without a models
endpoint (many OpenAI-compatible ones) costs one debug line.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from bot import asr, tts
from bot.core.lifecycle import ModelStatus, days_left, describe, parse_shutdown
from bot.errors import MODEL_NOT_FOUND

if TYPE_CHECKING:
    from openai.resources.models import AsyncModels

    from bot.config import Settings
    from bot.metrics import Metrics

log = logging.getLogger(__name__)


def models_in_use(settings: Settings) -> list[tuple[str, str]]:
    """(variable, model) for each OpenAI model the configuration calls."""
    uses = [("OPENAI_MODEL", settings.openai_model)]
    if asr.backend_name(settings) == "openai":
        uses.append(("TRANSCRIBE_MODEL", settings.transcribe_model))
    if tts.speaks_through_openai(settings):
        uses.append(("TTS_MODEL", settings.tts_model))
    return uses


def today() -> date:
    """The UTC date, the one shutdown dates are given in."""
    return datetime.now(UTC).date()


async def check_models(
    models: AsyncModels, uses: list[tuple[str, str]], *, metrics: Metrics
) -> list[ModelStatus]:
    """Look each model up once; log, and set the gauge, for those with an end in sight."""
    import openai  # loaded by bot.app's warm-up before this runs

    statuses: list[ModelStatus] = []
    for variable, model in uses:
        try:
            found = await models.retrieve(model)
        except openai.NotFoundError as error:
            if error.code != MODEL_NOT_FOUND:
                log.debug("no models endpoint on the OpenAI server; model lifecycles unchecked")
                return statuses
            status = ModelStatus(variable, model, missing=True)
            log.error(
                "%s=%s: the OpenAI server has no such model (404 model_not_found); users get an "
                "apology until %s names a model it serves",
                variable,
                model,
                variable,
            )
        except openai.OpenAIError as error:
            log.debug("model lifecycles unchecked: %s", type(error).__name__)
            return statuses
        else:
            extra = found.model_extra or {}
            shutdown = parse_shutdown(getattr(found, "shutdown_date", None)) or parse_shutdown(
                extra.get("shutdown_date")
            )
            status = ModelStatus(variable, model, shutdown=shutdown)
            if shutdown is not None:
                log.warning("%s; choose its replacement before then", describe(status, today()))
        _watch(metrics, status)
        statuses.append(status)
    return statuses


def _watch(metrics: Metrics, status: ModelStatus) -> None:
    """The gauge of days left: computed when scraped, 0 for a model already gone."""
    shutdown = status.shutdown
    if status.missing:
        metrics.watch_model_shutdown(status.variable, status.model, lambda: 0.0)
    elif shutdown is not None:
        metrics.watch_model_shutdown(
            status.variable, status.model, lambda: float(days_left(shutdown, today()))
        )


__all__ = ["check_models", "models_in_use", "today"]
