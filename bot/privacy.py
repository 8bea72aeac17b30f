"""The privacy policy of a turn: private values masked into the vault, and never spoken."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.privacy import PLACEHOLDER_RE, Vault, contains_personal_data, mask, regions_for
from bot.i18n import t
from bot.requests import Sender
from bot.stores.locks import Locks
from bot.stores.prefs import VaultStore


@dataclass(frozen=True)
class Privacy:
    """PRIVACY_MODE applied: what the model, memory and speech may see of a user's values.

    Args:
        mode: "mask" keeps private values in the vault and out of prompts and speech; "off"
            leaves text as it is.
        vaults: each conversation's vault of masked values.
        locks: the locks a vault is extended under.
    """

    mode: Literal["mask", "off"]
    vaults: VaultStore
    locks: Locks

    async def mask_into_vault(
        self, sender: Sender, text: str, language: str, known: Vault | None = None
    ) -> tuple[str, Vault]:
        """Mask text with the conversation's vault, extending it atomically.

        Members of a group write at once: the vault is read, extended and written under the
        conversation's lock, so two different values never get the same placeholder and no
        value is lost. With `known` (the vault this turn already read), text that brings no
        new value needs no Redis at all: the usual case for the model's answer.
        """
        if self.mode != "mask":
            return text, Vault()
        regions = regions_for(language)
        if known is None and not contains_personal_data(text, regions=regions):
            # Nothing to add: the vault is only read (to restore the answer), no lock needed.
            return text, await self.vaults.load(sender.conversation)
        if known is not None:
            masked, extended = mask(text, known, regions=regions, owner=sender.owner)
            if extended == known:
                return masked, known
        async with self.locks.hold(f"vault:{sender.conversation}"):
            vault = await self.vaults.load(sender.conversation)
            masked, extended = mask(text, vault, regions=regions, owner=sender.owner)
            if extended != vault:
                await self.vaults.save(sender.conversation, extended)
        return masked, extended

    def speakable(self, text: str, language: str) -> str:
        """What may be spoken: speech can go to a remote service, so never a private value."""
        if self.mode != "mask":
            return text
        return PLACEHOLDER_RE.sub(t("private_value", language), mask(text)[0])

    async def forget(self, sender: Sender) -> None:
        """Forget the conversation's private values (/reset)."""
        await self.vaults.reset(sender.conversation)
