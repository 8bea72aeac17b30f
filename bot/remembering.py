"""What a turn leaves behind: the conversation's memory, and an answer shared through the cache."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.core.cache_keys import is_cacheable
from bot.core.privacy import Vault
from bot.core.prompt import Turn
from bot.privacy import Privacy
from bot.requests import Sender
from bot.stores.caches import AnswerCache
from bot.stores.memory import ConversationStore
from bot.stores.redis import OUTAGES
from bot.tasks import unless_cancelled

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Memory:
    """A conversation's turns kept, and answers without context shared between users.

    Args:
        conversations: each conversation's turns.
        answers: the answer cache (an answer that needs no context, for the same question).
        privacy: masks what a cut-short live answer said before it is kept.
        openai_model: OPENAI_MODEL, part of the answer cache's key.
        system_prompt: SYSTEM_PROMPT, part of the answer cache's key.
    """

    conversations: ConversationStore
    answers: AnswerCache
    privacy: Privacy
    openai_model: str
    system_prompt: str

    async def cached(self, question: str, language: str) -> str | None:
        """The answer shared for this question, if any."""
        return await self.answers.get(**self._answer_key(question, language))

    async def remember(
        self,
        sender: Sender,
        question: str,
        stored: str,
        language: str,
        history: list[Turn],
        cached: str | None,
    ) -> bool:
        """Keep the turn (RPUSH merges concurrent turns) and share the answer when allowed.

        Returns False when Redis could not keep it: the answer is still given.
        """
        try:
            await self.conversations.append(
                sender.conversation, Turn(user=question, assistant=stored)
            )
            if not cached and is_cacheable(
                question=question, answer=stored, has_context=bool(history)
            ):
                await self.answers.put(**self._answer_key(question, language), answer=stored)
        except OUTAGES as error:
            unless_cancelled()
            log.error("turn not remembered: %s", type(error).__name__)
            return False
        return True

    async def keep_interrupted(
        self, sender: Sender, question: str, answer: str, language: str, vault: Vault
    ) -> None:
        """Remember a live answer the user cut short, as far as it was said."""
        stored, _ = await self.privacy.mask_into_vault(
            sender, answer.strip() + " …", language, vault
        )
        try:
            await self.conversations.append(sender.conversation, Turn(question, stored))
        except OUTAGES as error:
            log.error("interrupted turn not remembered: %s", type(error).__name__)

    def _answer_key(self, question: str, language: str) -> dict[str, str]:
        return {
            "question": question,
            "language": language,
            "model": self.openai_model,
            "system_prompt": self.system_prompt,
        }
