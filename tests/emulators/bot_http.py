"""The wire side of the Bot API emulator: decoding parameters and shaping error replies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from tests.emulators._http import Fault

# Values PTB sends as bare strings; everything else arrives JSON-encoded inside form fields.
STRING_PARAMS = frozenset(
    "text caption parse_mode action file_id emoji title description short_description name"
    " language_code file_name performer url secret_token inline_message_id callback_query_id"
    " business_connection_id message_effect_id voice audio photo document video video_note"
    " animation sticker thumbnail".split()
)
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    502: "Bad Gateway",
}


@dataclass
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None


class ApiError(Exception):
    """A Bot API error reply: HTTP status, description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        """Describe the error the way Telegram words it."""
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def bad_request(detail: str) -> ApiError:
    """A 400 'Bad Request: <detail>' error."""
    return ApiError(400, f"Bad Request: {detail}")


def ok(result: Any) -> web.Response:
    """A successful Bot API reply."""
    return web.json_response({"ok": True, "result": result})


def error_response(error: ApiError) -> web.Response:
    """An error reply with Telegram's body shape."""
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.status,
        "description": error.description,
    }
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.status)


def fault_error(fault: Fault) -> ApiError:
    """The ApiError an injected fault stands for (429 carries retry_after like Telegram)."""
    if fault.status == 429:
        retry_after = fault.retry_after or 1
        description = fault.description or f"Too Many Requests: retry after {retry_after}"
        return ApiError(429, description, {"retry_after": retry_after})
    description = fault.description or _DEFAULT_DESCRIPTIONS.get(
        fault.status, "Internal Server Error"
    )
    parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
    return ApiError(fault.status, description, parameters)


def _decode(name: str, value: str) -> Any:
    if name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Parameters from the query, a JSON body, a urlencoded form or a multipart body."""
    raw: dict[str, str] = dict(request.query)
    typed: dict[str, Any] = {}
    uploads: dict[str, Upload] = {}
    if request.content_type == "application/json" and request.can_read_body:
        body = await request.json()
        if not isinstance(body, dict):
            raise bad_request("invalid JSON body")
        typed = body
    elif request.content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                ctype = part.headers.get("Content-Type")
                uploads[part.name] = Upload(bytes(await part.read()), part.filename, ctype)
            else:
                raw[part.name] = await part.text()
    elif request.can_read_body:
        raw.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    params = {name: _decode(name, value) for name, value in raw.items()}
    params.update(typed)
    return params, uploads
