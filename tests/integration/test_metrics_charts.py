"""The usage chart renders as a PNG, and the metrics exporter serves what was observed."""

from __future__ import annotations

import asyncio
import struct
import urllib.request
from datetime import date, timedelta

import pytest

from bot.charts import render_daily_usage
from bot.db.ledger import DayUsage
from bot.metrics import STAGES, Metrics


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR chunk."""
    return struct.unpack(">II", png[16:24])


def thirty_days(*, busy_every: int, cost: float) -> list[DayUsage]:
    first = date(2026, 10, 26)
    return [
        DayUsage(first + timedelta(n), n if n % busy_every else 0, n * 100, n / 10, cost * n)
        for n in range(30)
    ]


@pytest.mark.parametrize(
    "series",
    [
        pytest.param(thirty_days(busy_every=3, cost=0.01), id="30 days with zeros between"),
        pytest.param(thirty_days(busy_every=3, cost=0.0), id="free local models: tokens line"),
        pytest.param(
            [DayUsage(date(2026, 11, 1) + timedelta(n), 0, 0, 0.0, 0.0) for n in range(30)],
            id="30 empty days",
        ),
        pytest.param([DayUsage(date(2026, 11, 24), 3, 900, 0.5, 0.002)], id="a single day"),
    ],
)
def test_render_daily_usage_returns_a_png(series: list[DayUsage]) -> None:
    png = render_daily_usage(series)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png_size(png) == (1000, 450)


async def test_charts_render_side_by_side_off_the_event_loop() -> None:
    series = thirty_days(busy_every=2, cost=0.02)
    pngs = await asyncio.gather(*(asyncio.to_thread(render_daily_usage, series) for _ in range(3)))
    assert len(set(pngs)) == 1  # no shared pyplot state between threads


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def test_exporter_on_a_free_port_serves_stage_histograms() -> None:
    metrics = Metrics()
    metrics.observe("transcription", 0.8)
    with metrics.time_stage("decode"):
        pass
    metrics.count_update("voice")
    metrics.count_cache("answer", hit=True)
    metrics.count_cache("answer", hit=False)
    metrics.count_quota_refusal("tokens")
    port = metrics.start_exporter(0, addr="127.0.0.1")
    try:
        assert metrics.exporter_port == port
        body = scrape(port)
    finally:
        metrics.stop_exporter()

    assert 'stage_seconds_count{stage="transcription"} 1.0' in body
    assert 'stage_seconds_bucket{le="1.0",stage="transcription"} 1.0' in body
    assert 'stage_seconds_count{stage="decode"} 1.0' in body
    assert all(f'stage_seconds_count{{stage="{stage}"}}' in body for stage in STAGES)
    assert 'updates_total{type="voice"} 1.0' in body
    assert 'cache_hits_total{cache="answer"} 1.0' in body
    assert 'cache_misses_total{cache="answer"} 1.0' in body
    assert 'quota_refusals_total{kind="tokens"} 1.0' in body


async def test_time_stage_times_awaits_and_failures() -> None:
    metrics = Metrics()
    with pytest.raises(TimeoutError), metrics.time_stage("model_total"):
        await asyncio.sleep(0.02)
        raise TimeoutError
    body = metrics.render().decode()
    assert 'stage_seconds_count{stage="model_total"} 1.0' in body
    assert 'stage_seconds_bucket{le="0.01",stage="model_total"} 0.0' in body


def test_each_metrics_instance_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.count_error("ServiceError")
    first.count_openai_retry("chat")
    assert b'errors_total{kind="ServiceError"} 1.0' in first.render()
    assert b'openai_retries_total{stage="chat"} 1.0' in first.render()
    assert b"errors_total{" not in second.render()
