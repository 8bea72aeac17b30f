"""`python -m bot talk`: the same pipeline on a local file or text, printed to the console."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from pathlib import Path

from bot.app import build_services
from bot.config import Settings
from bot.core.language import LanguageCode
from bot.events import AnswerDelta, Answered, Heard, Notice, Recording, Refused, Spoken
from bot.i18n import t
from bot.requests import AudioRequest, Sender, TextRequest


async def talk(
    settings: Settings, file: Path | None, text: str | None, out: Path | None, language: str | None
) -> int:
    """Answer one file or text; print transcript, language and answer; write the voice to .ogg."""
    sender = Sender(
        user_id=1, chat_id=1, telegram_language=LanguageCode.base_of(language), username="console"
    )
    services = await build_services(settings)
    try:
        if file is not None:
            data = await asyncio.to_thread(file.read_bytes)

            async def fetch() -> bytes:
                return data

            request = AudioRequest(sender, hashlib.sha256(data).hexdigest()[:32], 0.0, fetch)
            events = services.assistant.answer_voice(request)
            default_out = file.with_suffix(".answer.ogg")
        else:
            events = services.assistant.answer_text(TextRequest(sender, text or ""))
            default_out = Path("answer.ogg")
        status = 0
        async with contextlib.aclosing(events) as stream:
            async for event in stream:
                if isinstance(event, Heard | Recording):
                    print(f"transcript ({event.language}): {event.text}")
                elif isinstance(event, AnswerDelta):
                    continue
                elif isinstance(event, Answered):
                    cached = " (cached)" if event.from_cache else ""
                    print(f"answer ({event.language}){cached}: {event.text}")
                elif isinstance(event, Spoken):
                    target = out or default_out
                    await asyncio.to_thread(target.write_bytes, event.ogg)
                    print(f"voice: {target} ({event.duration:.1f} s)")
                elif isinstance(event, Notice | Refused):
                    print(t(event.key, language, **event.params))
                    status = 1 if isinstance(event, Refused) else status
        return status
    finally:
        await services.aclose()
