"""A Telegram Bot API emulator over HTTP on 127.0.0.1, for end-to-end tests of the real bot."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tests.emulators._http import Fault, FaultQueue, LoopbackServer
from tests.emulators.bot_guest import GuestMode
from tests.emulators.bot_http import (
    ApiError,
    Upload,
    bad_request,
    error_response,
    fault_error,
    ok,
    read_params,
)
from tests.emulators.bot_media import MediaMethods
from tests.emulators.bot_state import BOT_USER, Call
from tests.emulators.bot_webhook import WebhookMethods

Handler = Callable[[dict[str, Any], dict[str, Upload]], Awaitable[Any]]
DEFAULT_TOKEN = "123456:TEST-TOKEN"


class BotApiEmulator(GuestMode, MediaMethods, WebhookMethods, LoopbackServer):
    """Speaks the Bot API at {base_url}/bot{token}/{method}; files at {base_url}/file/bot{token}/.

    Point python-telegram-bot at it with base_url=f"{emu.base_url}/bot" and
    base_file_url=f"{emu.base_url}/file/bot". After setWebhook it POSTs updates instead
    (tests/emulators/bot_webhook.py). Guest calls: tests/emulators/bot_guest.py.
    """

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        """Prepare an emulator that accepts only `token`."""
        MediaMethods.__init__(self)
        LoopbackServer.__init__(self)
        self.webhook_state()
        self.guest_state()
        self.token = token
        self._faults = FaultQueue()
        self._gates: dict[str, asyncio.Event] = {}
        self.held = 0  # calls waiting at a gate right now
        self._allowed_updates: set[str] | None = None
        self._poll_generation = 0
        self._closing = False
        self._handlers: dict[str, Handler] = {
            name.lower(): handler for name, handler in self._method_table().items()
        }

    @property
    def base_url(self) -> str:
        """Root URL of the running emulator, e.g. http://127.0.0.1:PORT."""
        return self.root

    def build_app(self) -> web.Application:
        """The aiohttp application with the method and file-download routes."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._serve_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._serve_file)
        return app

    async def stop(self) -> None:
        """Release pending long polls, then stop serving."""
        self._closing = True
        self.update_arrived.set()
        await self.stop_delivering()
        await super().stop()

    # ---- fault injection -------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Make the next `times` calls of `method` fail like Telegram (429 carries retry_after).

        Use method "download" for file downloads. With `when`, only calls whose parameters it
        accepts fail (and count): other calls of `method` meanwhile are answered.
        """
        fault = Fault(f"/{method.lower()}", times, status, 0.0, retry_after, description)
        fault.when = when
        self._faults.add(fault)

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Hold the next `times` calls of `method` for `seconds` before answering."""
        self._faults.add(Fault(f"/{method.lower()}", times, delay=seconds))

    def hold(self, method: str) -> None:
        """Hold every call of `method` (received, not answered) until release(method)."""
        self._gates[f"/{method.lower()}"] = asyncio.Event()

    def release(self, method: str) -> None:
        """Answer the calls held for `method`, and stop holding new ones."""
        gate = self._gates.pop(f"/{method.lower()}", None)
        if gate is not None:
            gate.set()

    # ---- HTTP ------------------------------------------------------------------------------

    async def _serve_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return error_response(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        try:
            params, uploads = await read_params(request)
        except ApiError as error:
            return error_response(error)
        call = Call(method, params, {k: u.data for k, u in uploads.items()}, time.time())
        self.calls.append(call)
        response = await self._answer(f"/{method.lower()}", params, uploads)
        call.status = response.status
        return response

    async def _answer(
        self, route: str, params: dict[str, Any], uploads: dict[str, Upload]
    ) -> web.Response:
        if delay := self._faults.take(route, delays=True):
            await asyncio.sleep(delay.delay)
        if gate := self._gates.get(route):
            self.held += 1
            try:
                await gate.wait()
            finally:
                self.held -= 1
        if fault := self._faults.take(route, delays=False, params=params):
            return error_response(fault_error(fault))
        handler = self._handlers.get(route[1:])
        if handler is None:
            return error_response(ApiError(404, "Not Found"))
        try:
            return ok(await handler(params, uploads))
        except ApiError as error:
            return error_response(error)

    async def _serve_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return error_response(ApiError(401, "Unauthorized"))
        if delay := self._faults.take("/download", delays=True):
            await asyncio.sleep(delay.delay)
        if fault := self._faults.take("/download", delays=False):
            return error_response(fault_error(fault))
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return error_response(ApiError(404, "Not Found"))

    # ---- methods ---------------------------------------------------------------------------

    def _method_table(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "close": _true,
            "logOut": _true,
            "setMyDescription": _true,
            "setMyShortDescription": _true,
            "answerCallbackQuery": _true,
            **self.message_methods(),
            **self.guest_methods(),
            **self.webhook_methods(),
        }

    async def _get_me(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "supports_guest_queries": True,
        }

    async def _get_updates(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        self.refuse_polling_while_webhook()
        self._poll_generation += 1
        generation = self._poll_generation
        self.update_arrived.set()  # an older long poll wakes up and learns it was terminated
        if params.get("allowed_updates") is not None:
            self._allowed_updates = set(params["allowed_updates"]) or None
        if params.get("offset") is not None:
            self._confirm(int(params["offset"]))
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            ready = self._deliverable()[:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closing:
                return ready
            self.update_arrived.clear()
            try:
                await asyncio.wait_for(self.update_arrived.wait(), remaining)
            except TimeoutError:
                pass
            if self._poll_generation != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self.updates[:] = self.updates[offset:]
        else:
            self.updates[:] = [u for u in self.updates if u["update_id"] >= offset]

    def _deliverable(self) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        if allowed is not None:
            # Telegram never creates updates of types the bot did not ask for.
            self.updates[:] = [u for u in self.updates if allowed & (u.keys() - {"update_id"})]
        return list(self.updates)

    async def _set_my_commands(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        for command in commands:
            if not _valid_command(command):
                raise bad_request("BOT_COMMAND_INVALID")
        self.commands[_commands_key(params)] = [dict(c) for c in commands]
        return True

    async def _get_my_commands(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        return self.commands.get(_commands_key(params), [])

    async def _delete_my_commands(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        self.commands.pop(_commands_key(params), None)
        return True

    async def _get_chat_member(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        chat_id = self.chat_id(params)
        user_id = int(params.get("user_id") or 0)
        if not user_id:
            raise bad_request("user_id is empty")
        status = self.member_status.get((chat_id, user_id), "member")
        user = {"id": user_id, "is_bot": False, "first_name": "Test"}
        if status == "creator":
            return {"status": status, "user": user, "is_anonymous": False}
        if status == "administrator":
            rights = (
                "can_manage_chat can_delete_messages can_manage_video_chats can_restrict_members"
                " can_promote_members can_change_info can_invite_users can_post_stories"
                " can_edit_stories can_delete_stories"
            ).split()
            return {
                "status": status,
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                **dict.fromkeys(rights, True),
            }
        return {"status": status, "user": user}

    async def _get_chat(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        return {**self.chat(self.chat_id(params)), "accent_color_id": 0, "max_reaction_count": 11}


async def _true(params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
    return True


def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    if isinstance(scope, str):
        scope = json.loads(scope)
    return str(scope.get("type", "default")), str(params.get("language_code") or "")


def _valid_command(command: Any) -> bool:
    if not isinstance(command, dict):
        return False
    name, description = str(command.get("command", "")), str(command.get("description", ""))
    valid_name = 1 <= len(name) <= 32 and all(c.islower() or c.isdigit() or c == "_" for c in name)
    return valid_name and 1 <= len(description) <= 256
