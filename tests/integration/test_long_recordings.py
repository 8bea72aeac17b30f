"""Recordings longer than MAX_VOICE_SECONDS: heard in pieces, summarised, paid for as heard.

The recordings are real Spanish voice samples between silences, each block announced by a
marker tone (tests/emulators/recordings.py). The emulated recogniser reads the markers in the
audio each request carries and answers with those blocks' words, so the transcript tells
which blocks every piece held: each exactly once and in order, or the test fails.
"""

from __future__ import annotations

import asyncio
import functools
import re

import pytest

from bot.core.recording import SUMMARY_INSTRUCTIONS
from bot.i18n import t
from tests.conftest import manifest, sample
from tests.emulators.audio_tools import audio_duration
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.openai_replies import CANNED, requested_language
from tests.emulators.recordings import blocks_in, build_recording, recording_seconds

USER = 7007
BLOCK_SECONDS = 30
SAMPLES = ("es_1.ogg", "es_2.ogg")
OPENAI_MAX_UPLOAD = 25 * 2**20


@functools.cache
def recording(blocks: int) -> bytes:
    """`blocks` blocks of BLOCK_SECONDS, alternating the Spanish samples."""
    return build_recording(
        [sample(SAMPLES[b % 2]) for b in range(blocks)], block_seconds=BLOCK_SECONDS
    )


def block_text(block: int) -> str:
    return f"[{block}] {manifest()[SAMPLES[block % 2]]['text']}"


def hear_markers(fields: dict[str, str], audio: bytes) -> tuple[str, str]:
    """The emulated recogniser: the words of the blocks whose markers the audio holds."""
    return " ".join(block_text(b) for b in blocks_in(audio)), "spanish"


async def charged_seconds(services) -> float:  # type: ignore[no-untyped-def]
    """The voice seconds the ledger holds for USER today, once it holds any (30 s at most)."""
    for _ in range(300):
        report = await services.accounts.usage_report(USER)
        if report.today.voice_seconds:
            break
        await asyncio.sleep(0.1)
    return float(report.today.voice_seconds)


async def test_a_40_minute_recording_is_heard_in_pieces_with_every_block_once_in_order(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with(hear_markers)
    openai_api.reply_with("Una reunión sobre el tiempo y una reserva.")
    services = await start_bot(make_settings())
    bot_api.send_voice(USER, recording(80), duration=80 * BLOCK_SECONDS, language_code="es")
    [document] = await bot_api.wait_for_messages(USER, 1, kind="document", timeout=240)
    await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=60)
    transcript = document.data.decode()
    assert re.findall(r"\[(\d+)\]", transcript) == [str(b) for b in range(80)]
    assert all(block_text(b) in transcript for b in range(80)), "no word lost at a seam"
    pieces = openai_api.transcription_requests()
    assert len(pieces) >= 80 * BLOCK_SECONDS / 180, "pieces of at most three minutes"
    lengths = [audio_duration(piece.files["file"]) for piece in pieces]
    assert all(len(piece.files["file"]) < OPENAI_MAX_UPLOAD for piece in pieces)
    assert max(lengths) <= 180
    whole = recording_seconds(recording(80))
    assert sum(lengths) == pytest.approx(whole, abs=0.5), "all of it, once"
    assert await charged_seconds(services) == pytest.approx(sum(lengths), abs=0.5)


async def test_one_status_message_shows_the_progress_until_the_recording_is_heard(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with(hear_markers)
    openai_api.reply_with("Una reunión sobre el tiempo y una reserva.")
    await start_bot(make_settings())
    bot_api.send_voice(USER, recording(20), duration=20 * BLOCK_SECONDS, language_code="de")
    await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=120)
    done = t("transcribed", "es", minutes=10)
    [status] = [m for m in bot_api.chat_messages(USER) if m.text == done]
    *progress, last = status.edits
    assert last == done
    percents = [int(re.sub(r"\D", "", edit)) for edit in progress]
    assert all(edit.startswith("⏳") for edit in progress) and percents == sorted(percents)
    texts = [m.text for m in bot_api.chat_messages(USER) if m.kind == "text"]
    assert not any(text and text.startswith("⏳") for text in texts), "one status message"


async def test_a_spanish_recording_is_summarised_in_spanish_as_text_and_voice(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with(hear_markers)
    # The emulator's own answer in the language the prompt asks for, without quoting it all.
    openai_api.reply_with(lambda body: CANNED[requested_language(body["messages"])])
    await start_bot(make_settings())
    bot_api.send_audio(
        USER,
        recording(12),
        duration=12 * BLOCK_SECONDS,
        file_name="reunion.ogg",
        mime_type="audio/ogg",
    )
    voice = await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=120)
    texts = [m.text or "" for m in bot_api.chat_messages(USER) if m.kind == "text"]
    assert any(block_text(11) in text for text in texts), "a transcript that fits is a message"
    [summary_request] = openai_api.chat_requests()
    system = summary_request.json["messages"][0]["content"]
    assert SUMMARY_INSTRUCTIONS in system and "language code: es" in system
    assert any(text.startswith(CANNED["es"]) for text in texts)
    assert voice[0].data.startswith(b"OggS")


async def test_the_next_question_can_refer_to_the_recording(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with(hear_markers)
    openai_api.reply_with("Habló del tiempo en Madrid y de una reserva.")
    await start_bot(make_settings(memory_max_tokens=3000))
    bot_api.send_voice(USER, recording(12), duration=12 * BLOCK_SECONDS, language_code="es")
    await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=120)
    bot_api.send_text(USER, "¿Qué dijo sobre el paraguas?", language_code="es")
    await openai_api.wait_for(lambda: len(openai_api.chat_requests()) == 2, timeout=30)
    messages = openai_api.chat_requests()[1].json["messages"]
    remembered = " ".join(m["content"] for m in messages[1:-1])
    assert block_text(0) in remembered, "the transcript is in the history"
    assert "Habló del tiempo en Madrid" in remembered, "and so is the summary"


async def test_a_recording_over_the_voice_seconds_left_is_refused_before_download(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings(daily_voice_seconds_limit=600))
    bot_api.send_voice(USER, sample("es_1.ogg"), duration=2400, language_code="es")
    [message] = await bot_api.wait_for_messages(USER, 1)
    assert message.text == t("recording_over_quota", "es", seconds=2400, left=600)
    assert not bot_api.calls_to("getFile"), "nothing is downloaded"
    assert not openai_api.transcription_requests()


async def test_a_recording_that_would_cost_more_than_the_money_left_is_refused_before_download(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    settings = make_settings(daily_cost_limit_usd=0.10)
    cost = 40 * settings.price_transcription_per_minute  # 40 minutes, over $0.10
    await start_bot(settings)
    bot_api.send_voice(USER, sample("es_1.ogg"), duration=2400, language_code="de")
    [message] = await bot_api.wait_for_messages(USER, 1)
    assert message.text == t("recording_over_budget", "de", cost=f"{cost:.2f}", left="0.10")
    assert not bot_api.calls_to("getFile")


async def test_a_recording_longer_than_declared_is_refused_at_the_voice_seconds_left(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    services = await start_bot(make_settings(daily_voice_seconds_limit=900))
    real = recording(40)  # 20 minutes, declared as 10
    bot_api.send_voice(USER, real, duration=600, language_code="en")
    [message] = await bot_api.wait_for_messages(USER, 1, timeout=60)
    seconds = round(recording_seconds(real))
    refusals = {t("too_long", "en", seconds=s, limit=900) for s in range(seconds - 2, seconds + 3)}
    assert message.text in refusals, "its packets were counted, nothing decoded"
    assert not openai_api.transcription_requests()
    report = await services.accounts.usage_report(USER)
    assert report.today.voice_seconds == 0, "nothing heard, nothing charged"


async def test_cancel_mid_way_stops_the_recording_and_charges_only_the_pieces_heard(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with(hear_markers)
    openai_api.hold("/audio/transcriptions", after=3)
    services = await start_bot(make_settings())
    bot_api.send_voice(USER, recording(40), duration=40 * BLOCK_SECONDS)
    try:
        # Four pieces side by side: the 4th to 7th wait, so the first three were heard.
        await openai_api.wait_for(lambda: openai_api.held == 4, timeout=120)
        bot_api.send_text(USER, "/cancel")
        await bot_api.wait_for(
            lambda: any(m.text == t("cancel_done", "en") for m in bot_api.chat_messages(USER)),
            timeout=30,
        )
        heard = [r for r in openai_api.transcription_requests() if r.status == 200]
        assert len(heard) == 3
        expected = sum(audio_duration(r.files["file"]) for r in heard)
        assert await charged_seconds(services) == pytest.approx(expected, abs=0.5)
        assert not openai_api.chat_requests(), "no summary of a stopped recording"
    finally:
        openai_api.release("/audio/transcriptions")
