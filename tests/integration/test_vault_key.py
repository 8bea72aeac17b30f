"""VAULT_KEY: the private values a conversation remembers survive a new bot token, not a new key."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.fernet import Fernet

from bot.app import build_services
from bot.config import Settings
from bot.core.privacy import Vault
from bot.events import Answered
from bot.requests import Sender, TextRequest
from tests.conftest import RedisKeyspace
from tests.emulators.openai_api import OpenAIEmulator

PHONE = "+1 650-253-0000"
FIRST_KEY = "the-vault-key-set-at-first-0123456789"
ALICE = Sender(user_id=5005, chat_id=5005, telegram_language="en", username="alice")


async def answer(settings: Settings, text: str) -> str:
    """What the assistant shows Alice for `text`, with services built afresh from `settings`."""
    services = await build_services(settings)
    try:
        events = services.assistant.answer_text(TextRequest(ALICE, text))
        [shown] = [e.text async for e in events if isinstance(e, Answered)]
        return shown
    finally:
        await services.aclose()


@pytest.mark.parametrize(
    ("later_vault_key", "shown"),
    [
        (FIRST_KEY, PHONE),
        ("a-rotated-vault-key-9876543210", "[PHONE_1]"),
    ],
    ids=["the same key restores the value", "a rotated key forgets it, without failing"],
)
async def test_after_a_new_bot_token_private_values_are_restored_only_with_the_same_vault_key(
    later_vault_key: str, shown: str, openai_api: OpenAIEmulator, make_settings
) -> None:
    openai_api.reply_with("Noted.")
    await answer(
        make_settings(telegram_bot_token="111:first", vault_key=FIRST_KEY),
        f"My number is {PHONE}.",
    )
    openai_api.reply_with("Your number is [PHONE_1].")
    later = make_settings(telegram_bot_token="222:second", vault_key=later_vault_key)
    assert await answer(later, "What is my number?") == f"Your number is {shown}."


async def test_without_vault_key_the_vault_is_encrypted_with_the_bot_token_as_before(
    openai_api: OpenAIEmulator, make_settings, redis_keyspace: RedisKeyspace
) -> None:
    openai_api.reply_with("Noted.")
    settings = make_settings(telegram_bot_token="333:token")
    await answer(settings, f"My number is {PHONE}.")
    # The derivation vaults written before VAULT_KEY existed were encrypted with.
    key = hashlib.sha256(b"vault-key:333:token").digest()
    token = redis_keyspace.client.get(redis_keyspace.key(f"vault:{ALICE.conversation}"))
    vault = Vault.from_json(Fernet(base64.urlsafe_b64encode(key)).decrypt(token).decode())
    assert vault.lookup() == {"[PHONE_1]": PHONE}
