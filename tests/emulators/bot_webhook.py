"""Webhooks in the Bot API emulator: setWebhook, getWebhookInfo, deleteWebhook, and delivery.

Like Telegram, the emulator POSTs each pending update to the webhook URL with the
X-Telegram-Bot-Api-Secret-Token header, keeps it (and retries it later) until the answer is 2xx,
delivers one chat's updates one at a time, in order, and different chats concurrently, up to
`max_connections` at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.emulators.bot_http import ApiError, Upload, bad_request
from tests.emulators.bot_state import BotState

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


@dataclass
class Delivery:
    """One POST of an update to the webhook, and how the bot answered it (0: no answer)."""

    update_id: int
    status: int
    time: float
    chat: int | None


class WebhookMethods(BotState):
    """The webhook half of the emulator; the server owns the loop that delivers updates."""

    webhook_url: str = ""
    webhook_secret: str | None = None
    webhook_max_connections: int = 40
    # Telegram backs off for minutes; tests want the retry to come quickly.
    webhook_retry_seconds: float = 0.2
    webhook_timeout_seconds: float = 60.0

    def webhook_state(self) -> None:
        """Start with no webhook (called by the emulator's constructor)."""
        self.deliveries: list[Delivery] = []
        self.delivered_bodies: list[dict[str, Any]] = []
        self.last_webhook_error: tuple[float, str] | None = None
        self._delivering: dict[object, asyncio.Task[None]] = {}
        self._delivery_loop: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._stopping = False

    # ---- methods ---------------------------------------------------------------------------

    def webhook_methods(self) -> dict[str, Any]:
        """Method name -> handler for the webhook methods."""
        return {
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }

    def refuse_polling_while_webhook(self) -> None:
        """getUpdates fails with 409 while a webhook is set, as on Telegram."""
        if self.webhook_url:
            raise ApiError(409, WEBHOOK_CONFLICT)

    async def _set_webhook(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        url = str(params.get("url") or "")
        if url and not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _valid_secret(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self.updates.clear()
        self.webhook_url = url
        self.webhook_secret = str(secret) if secret else None
        self.webhook_max_connections = int(params.get("max_connections") or 40)
        if url:
            self._start_delivering()
        return True

    async def _delete_webhook(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        if params.get("drop_pending_updates"):
            self.updates.clear()
        self.webhook_url = ""
        self.webhook_secret = None
        return True

    async def _get_webhook_info(self, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if self.webhook_url:
            info["max_connections"] = self.webhook_max_connections
        if self.last_webhook_error:
            info["last_error_date"] = int(self.last_webhook_error[0])
            info["last_error_message"] = self.last_webhook_error[1]
        return info

    # ---- what tests use --------------------------------------------------------------------

    def deliveries_of(self, update_id: int) -> list[Delivery]:
        """Every POST of one update, in order."""
        return [d for d in self.deliveries if d.update_id == update_id]

    def accepted(self) -> set[int]:
        """The update_ids the bot answered 2xx to."""
        return {d.update_id for d in self.deliveries if 200 <= d.status < 300}

    async def post_update(
        self, update: dict[str, Any], *, secret: str | None = None, url: str | None = None
    ) -> int:
        """POST one update to the webhook now (a redelivery, or a forgery with another secret);
        returns the HTTP status (0 when nothing answered)."""
        return await self._webhook_post(
            update, self.webhook_secret if secret is None else secret, url
        )

    # ---- delivery --------------------------------------------------------------------------

    def _start_delivering(self) -> None:
        if self._delivery_loop is None or self._delivery_loop.done():
            self._delivery_loop = asyncio.create_task(self._deliver_forever())

    async def stop_delivering(self) -> None:
        """Stop the delivery loop and close its HTTP session (the emulator's stop calls it)."""
        self._stopping = True  # also ends a loop whose cancellation wait_for swallowed (3.11)
        tasks = [t for t in (self._delivery_loop, *self._delivering.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._delivering.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _deliver_forever(self) -> None:
        while self.webhook_url and not self._stopping:
            lanes_seen: set[object] = set()
            for update in list(self.updates):
                lane = _lane(update)
                if lane in lanes_seen:
                    continue  # a chat's later updates wait for its oldest one
                lanes_seen.add(lane)
                if lane in self._delivering:
                    continue
                if len(self._delivering) >= self.webhook_max_connections:
                    break
                task = asyncio.create_task(self._post_until_accepted(update))
                self._delivering[lane] = task
                task.add_done_callback(lambda _t, lane=lane: self._delivering.pop(lane, None))
            self.update_arrived.clear()
            waiter = asyncio.ensure_future(self.update_arrived.wait())
            try:
                await asyncio.wait({waiter}, timeout=0.05)
            finally:
                waiter.cancel()

    async def _post_until_accepted(self, update: dict[str, Any]) -> None:
        status = await self._webhook_post(update, self.webhook_secret, None)
        if 200 <= status < 300:
            self.updates[:] = [u for u in self.updates if u is not update]
            self.update_arrived.set()  # the chat's next update may go now
        else:
            reason = f"Wrong response from the webhook: {status}" if status else "No answer"
            self.last_webhook_error = (time.time(), reason)
            await asyncio.sleep(self.webhook_retry_seconds)

    async def _webhook_post(
        self, update: dict[str, Any], secret: str | None, url: str | None
    ) -> int:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {SECRET_HEADER: secret} if secret else {}
        self.delivered_bodies.append(update)
        status = 0
        try:
            async with self._session.post(
                url or self.webhook_url,
                json=update,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout_seconds),
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        delivery = Delivery(int(update["update_id"]), status, time.time(), _chat(update))
        self.deliveries.append(delivery)
        return status


def _chat(update: dict[str, Any]) -> int | None:
    for value in update.values():
        if isinstance(value, dict):
            chat = value.get("chat") or (value.get("message") or {}).get("chat")
            if isinstance(chat, dict) and "id" in chat:
                return int(chat["id"])
    return None


def _lane(update: dict[str, Any]) -> object:
    """Updates of one chat share a lane; an update without a chat has a lane of its own."""
    chat = _chat(update)
    return ("chat", chat) if chat is not None else ("update", update["update_id"])


def _valid_secret(secret: str) -> bool:
    return 1 <= len(secret) <= 256 and all(c.isalnum() or c in "_-" for c in secret)
