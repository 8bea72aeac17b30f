"""Model lifecycles for the OpenAI emulator: announced shutdowns and models already shut down.

Every model is served unless a test retires it; a retired model answers 404 model_not_found
everywhere, as OpenAI's shut-down models do, and `GET /v1/models/{id}` carries `shutdown_date`
(openai/types/model.py). A test can also take the models endpoint away, as many
OpenAI-compatible servers have none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.emulators import openai_replies as replies
from tests.emulators.openai_http import OpenAIError, Request

MODELS_PREFIX = "/v1/models/"


@dataclass
class ModelLifecycles:
    """Which models are shut down, which have a date, and whether /v1/models exists at all."""

    retired: set[str] = field(default_factory=set)
    shutdowns: dict[str, str] = field(default_factory=dict)
    endpoint: bool = True

    def model_object(self, model: str) -> dict[str, Any]:
        """A Model object as GET /v1/models/{id} returns it."""
        return {
            "id": model,
            "object": "model",
            "created": 1700000000,
            "owned_by": "openai",
            "shutdown_date": self.shutdowns.get(model),
        }

    def listing(self) -> list[dict[str, Any]]:
        """GET /v1/models: the emulator's known models, less the retired ones."""
        known = (*replies.CHAT_MODELS, *replies.AUDIO_MODELS, *self.shutdowns)
        return [self.model_object(m) for m in dict.fromkeys(known) if m not in self.retired]

    def refuse_retired(self, record: Request) -> None:
        """Raise the 404 a shut-down model gets, when the request names one."""
        body = record.json if isinstance(record.json, dict) else {}
        model = str(body.get("model") or record.form.get("model") or "")
        if model in self.retired:
            raise model_not_found(model)

    def refuse_without_endpoint(self, method: str, path: str) -> None:
        """Without a models endpoint, /v1/models answers like any unknown path."""
        if not self.endpoint and path.rstrip("/").startswith("/v1/models"):
            raise OpenAIError(404, f"Invalid URL ({method} {path})")

    async def retrieve(self, request: web.Request, record: Request) -> web.StreamResponse:
        """GET /v1/models/{id}: the model with its shutdown date, or 404 when retired."""
        model = record.path[len(MODELS_PREFIX) :]
        if not model or model in self.retired:
            raise model_not_found(model)
        return web.json_response(self.model_object(model))


def model_not_found(model: str) -> OpenAIError:
    """OpenAI's answer for a model it does not (or no longer) serve."""
    return OpenAIError(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        code="model_not_found",
    )
