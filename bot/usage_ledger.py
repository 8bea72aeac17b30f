"""The assistant's rows in the ledger: what a turn used, written once the work is done."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.core.quota import SpeechTokens, speech_cost
from bot.core.usage_rows import UsageRecord
from bot.db.accounts import Accounts
from bot.errors import ServiceError
from bot.llm import ChatModel, ChatUsage
from bot.metrics import Metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UsageLedger:
    """Writes a turn's usage rows; an outage defers a row to the backlog, unseen by the user.

    Args:
        accounts: the ledger's facade (and the prices speech tokens are billed at).
        metrics: where the reasoning tokens are counted.
        chat: the chat model, whose name the chat row carries.
        tts_model: TTS_MODEL, the name a Realtime-spoken synthesis row carries.
        clock: the time of each row.
    """

    accounts: Accounts
    metrics: Metrics
    chat: ChatModel
    tts_model: str
    clock: Callable[[], datetime]

    async def record(self, user_id: int, record: UsageRecord) -> None:
        """Write one ledger row; an outage defers it to the backlog, unseen by the user."""
        try:
            written = await self.accounts.record_usage(
                user_id,
                kind=record.kind,
                model=record.model,
                tokens_in=record.tokens_in,
                tokens_out=record.tokens_out,
                voice_seconds=record.voice_seconds,
                tts_chars=record.tts_chars,
                cache_hit=record.cache_hit,
                cost=record.cost,
                now=self.clock(),
            )
        except ServiceError as error:
            log.error("usage not recorded (%s): %s", record.kind, error)
            return
        if not written:
            log.warning("usage row (%s) waits for the database", record.kind)

    async def record_chat(self, user_id: int, usage: ChatUsage | None, *, cached: bool) -> None:
        """The chat row carries the usage the model reported for this very answer.

        Its output tokens include the reasoning ones, which are billed as output: they count
        against the quotas and the cost like the words the user reads.
        """
        if usage and not cached and usage.reasoning_tokens:
            self.metrics.count_reasoning_tokens(usage.reasoning_tokens)
        record = UsageRecord(
            "chat",
            model=self.chat.model,
            tokens_in=usage.prompt_tokens if usage and not cached else 0,
            tokens_out=usage.completion_tokens if usage and not cached else 0,
            cache_hit=cached,
        )
        await self.record(user_id, record)

    async def record_speech(
        self, user_id: int, spoken_text: str, tokens: SpeechTokens | None
    ) -> None:
        """The synthesis row: characters spoken, and the tokens a Realtime model billed for them.

        Tokens are priced at the PRICE_REALTIME_* settings instead of PRICE_TTS_PER_1M_CHARS.
        """
        if tokens is None:
            await self.record(user_id, UsageRecord("synthesis", tts_chars=len(spoken_text)))
            return
        record = UsageRecord(
            "synthesis",
            tts_chars=len(spoken_text),
            model=self.tts_model,
            tokens_in=tokens.text_in,
            tokens_out=tokens.tokens_out,
            cost=speech_cost(self.accounts.prices, tokens),
        )
        await self.record(user_id, record)
