"""GET /metrics on the running bot shows what it did: stage latencies, updates, cache lookups."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import sample
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator

USER = 7007
# The stages the issue names, written out rather than imported: the test is the specification.
STAGES = (
    "download",
    "decode",
    "transcription",
    "model_first_token",
    "model_total",
    "synthesis",
    "upload",
)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(autouse=True)
def fast_answers(openai_api: OpenAIEmulator) -> None:
    openai_api.chunk_delay = 0.0
    openai_api.transcribe_with("What will the weather be like tomorrow?", "english")


async def scrape(port: int) -> Samples:
    """Every sample served on /metrics, keyed by name and sorted labels."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
            assert response.status == 200
            body = await response.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def fresh_voice_file(bot_api: BotApiEmulator) -> tuple[str, str]:
    """A sample stored under a file_unique_id of its own, so no transcript cache can know it."""
    return bot_api.add_file(sample("en_1.ogg"), file_unique_id=f"AgAD{uuid.uuid4().hex[:16]}")


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_voice_note_and_a_text_fill_every_stage_histogram(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    services = await start_bot(make_settings(metrics_port=0))
    file_id, _ = fresh_voice_file(bot_api)
    bot_api.send_voice(USER, file_id, duration=6)
    await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=30)
    bot_api.send_text(USER, "And the day after?")
    await bot_api.wait_for_messages(USER, 3, timeout=15)
    samples = await scrape(services.metrics.exporter_port)
    counts = {stage: value(samples, "stage_seconds_count", stage=stage) for stage in STAGES}
    assert all(count > 0 for count in counts.values()), counts
    assert value(samples, "stage_seconds_count", stage="model_total") == 2
    assert value(samples, "stage_seconds_sum", stage="transcription") > 0


async def test_updates_are_counted_by_type_and_cache_lookups_by_outcome(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    services = await start_bot(
        make_settings(metrics_port=0, tts_backend="openai", tts_fallbacks=())
    )
    file_id, unique_id = fresh_voice_file(bot_api)
    bot_api.send_voice(USER, file_id, duration=6)
    forwarded, _ = bot_api.add_file(sample("en_1.ogg"), file_unique_id=unique_id)
    bot_api.send_voice(USER, forwarded, duration=6)
    bot_api.send_text(USER, "Thanks!")
    bot_api.send_text(USER, "/help")
    await bot_api.wait_for_messages(USER, 6, timeout=30)
    samples = await scrape(services.metrics.exporter_port)
    updates = {
        kind: value(samples, "updates_total", type=kind) for kind in ("voice", "text", "command")
    }
    assert updates == {"voice": 2, "text": 1, "command": 1}
    assert len(openai_api.transcription_requests()) == 1, (
        "the forwarded copy is not transcribed again"
    )
    assert value(samples, "cache_misses_total", cache="transcript") == 1
    assert value(samples, "cache_hits_total", cache="transcript") == 1
    assert value(samples, "cache_misses_total", cache="answer") >= 1


async def test_a_voice_that_fails_is_counted_with_the_voice_that_spoke_instead(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.reply_with("Sunny and warm.")
    openai_api.fail_next("/audio/speech", status=400, times=10)
    services = await start_bot(
        make_settings(
            metrics_port=0,
            tts_backend="openai",
            tts_model="gpt-4o-mini-tts",
            tts_fallbacks=("espeak",),
        )
    )
    file_id, _ = fresh_voice_file(bot_api)
    bot_api.send_voice(USER, file_id, duration=6)
    await bot_api.wait_for_messages(USER, 1, kind="voice", timeout=30)
    samples = await scrape(services.metrics.exporter_port)
    fallbacks = {
        labels: count for (name, labels), count in samples.items() if name == "tts_fallbacks_total"
    }
    assert fallbacks == {(("from_backend", "openai"), ("to_backend", "espeak")): 1}


async def test_stopping_the_bot_closes_the_metrics_port(
    bot_api: BotApiEmulator, make_settings
) -> None:
    from bot.app import build_services, run_bot

    settings = make_settings(metrics_port=0)
    services = await build_services(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(run_bot(settings, stop, services=services))
    await bot_api.wait_for(lambda: services.metrics.exporter_port is not None or task.done())
    port = services.metrics.exporter_port
    assert port is not None and await scrape(port)
    stop.set()
    await asyncio.wait_for(task, timeout=30)
    with pytest.raises(aiohttp.ClientConnectionError):
        await scrape(port)
