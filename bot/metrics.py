"""Prometheus metrics: per-stage latency histograms and a few counters, on a registry of our own."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import start_http_server

STAGES = (
    "download",
    "decode",
    "language_id",
    "transcription",
    "model_first_token",
    "model_total",
    "synthesis",
    "upload",
)
# From 10 ms (a cache lookup, a decode) to 60 s (a long transcription on a small CPU).
STAGE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
# How often the loop-lag monitor wakes up, and over how many wake-ups its gauge takes the worst.
LOOP_TICK_SECONDS = 0.05
LOOP_WINDOW_TICKS = 100


class Metrics:
    """Everything the bot counts and times; each instance owns its CollectorRegistry."""

    def __init__(self) -> None:
        """Create the registry and every metric in it."""
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "updates", "Telegram updates handled", ["type"], registry=self.registry
        )
        self.errors = Counter("errors", "Errors by kind", ["kind"], registry=self.registry)
        self.cache_hits = Counter("cache_hits", "Cache hits", ["cache"], registry=self.registry)
        self.cache_misses = Counter(
            "cache_misses", "Cache misses", ["cache"], registry=self.registry
        )
        self.quota_refusals = Counter(
            "quota_refusals", "Messages refused over quota", ["kind"], registry=self.registry
        )
        self.openai_retries = Counter(
            "openai_retries", "Retried OpenAI calls", ["stage"], registry=self.registry
        )
        self.reasoning_tokens = Counter(
            "reasoning_tokens",
            "Output tokens the chat model spent reasoning (billed as output, never shown)",
            registry=self.registry,
        )
        self.model_shutdown_days = Gauge(
            "openai_model_shutdown_days",
            "Days until a configured OpenAI model shuts down (0: the server no longer has it)",
            ["variable", "model"],
            registry=self.registry,
        )
        self.tts_fallbacks = Counter(
            "tts_fallbacks",
            "Speech backend failures, by the backend that failed and the one tried next",
            ["from_backend", "to_backend"],
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "stage_seconds",
            "Seconds spent per pipeline stage",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        for stage in STAGES:
            self.stage_seconds.labels(stage=stage)  # so every stage shows before its first sample
        self.ledger_backlog = Gauge(
            "ledger_backlog_rows",
            "Usage rows waiting for the database to come back",
            registry=self.registry,
        )
        self.ledger_lost = Counter(
            "ledger_rows_lost", "Usage rows that could not be written", registry=self.registry
        )
        self._add_queue_metrics()
        self.telegram_calls = Counter(
            "telegram_calls",
            "Bot API calls by method and what the rate limiter did (sent, dropped, flood)",
            ["method", "outcome"],
            registry=self.registry,
        )
        self.turns_waiting = Gauge(
            "turns_waiting",
            "Turns that showed their first sign of life and wait for a slot (MAX_CONCURRENT_TURNS)",
            registry=self.registry,
        )
        self.loop_lag = Gauge(
            "event_loop_lag_seconds",
            "Longest event-loop stall over the last few seconds (a wake-up's lateness)",
            registry=self.registry,
        )
        self.loop_lag_max = Gauge(
            "event_loop_lag_max_seconds",
            "Longest event-loop stall since the bot started",
            registry=self.registry,
        )
        self._add_live_metrics()
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def count_update(self, update_type: str) -> None:
        """Count one Telegram update ("voice", "text", "command", ...)."""
        self.updates.labels(type=update_type).inc()

    def count_error(self, kind: str) -> None:
        """Count one error, by exception kind or stage."""
        self.errors.labels(kind=kind).inc()

    def count_cache(self, cache: str, *, hit: bool) -> None:
        """Count one lookup in a cache ("transcript", "answer", "speech")."""
        (self.cache_hits if hit else self.cache_misses).labels(cache=cache).inc()

    def count_quota_refusal(self, kind: str) -> None:
        """Count one message refused over a quota kind."""
        self.quota_refusals.labels(kind=kind).inc()

    def count_openai_retry(self, stage: str) -> None:
        """Count one retried OpenAI call."""
        self.openai_retries.labels(stage=stage).inc()

    def count_reasoning_tokens(self, tokens: int) -> None:
        """Count the reasoning tokens of one answer."""
        self.reasoning_tokens.inc(tokens)

    def watch_model_shutdown(self, variable: str, model: str, days: Callable[[], float]) -> None:
        """Report the days left of a configured model, computed at each scrape."""
        self.model_shutdown_days.labels(variable=variable, model=model).set_function(days)

    def set_ledger_backlog(self, rows: int) -> None:
        """How many usage rows wait for the database."""
        self.ledger_backlog.set(rows)

    def count_ledger_lost(self, rows: int) -> None:
        """Usage rows given up (the backlog overflowed, or the process ended during an outage)."""
        self.ledger_lost.inc(rows)

    def count_tts_fallback(self, failed: str, following: str) -> None:
        """Count one speech backend failure; `following` is the next one tried, or "none"."""
        self.tts_fallbacks.labels(from_backend=failed, to_backend=following).inc()

    def _add_queue_metrics(self) -> None:
        """The durable queue of webhook mode (bot/durable): its size, age and faults."""
        r = self.registry
        self.queue_length = Gauge("queue_length", "Updates stored, not yet finished", registry=r)
        self.queue_in_progress = Gauge(
            "queue_in_progress", "Updates held by a worker right now", registry=r
        )
        self.queue_oldest_seconds = Gauge(
            "queue_oldest_pending_seconds", "Age of the oldest unfinished update", registry=r
        )
        self.queue_parked_stored = Gauge(
            "queue_parked_stored", "Poison updates kept in the parked stream", registry=r
        )
        self.redeliveries = Counter(
            "queue_redeliveries", "Updates attempted again after a failure or a crash", registry=r
        )
        self.claims = Counter(
            "queue_claims", "Updates taken over from a worker that went silent", registry=r
        )
        self.parked = Counter("queue_parked", "Poison updates parked by this process", registry=r)
        self.refused = Counter(
            "updates_refused",
            "Updates refused as one user's flood (reason: queue, rate), whether told or dropped",
            ["reason"],
            registry=r,
        )

    def _add_live_metrics(self) -> None:
        """Live voice sessions (bot/live): how many, how busy, how fast, what was refused."""
        r = self.registry
        self.live_sessions = Gauge("live_sessions_open", "Live voice sessions open", registry=r)
        self.live_utterances = Counter(
            "live_utterances", "Utterances heard in live sessions", registry=r
        )
        self.live_first_audio = Histogram(
            "live_first_audio_seconds",
            "From the end of an utterance to the first audio frame of its answer",
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.live_barge_ins = Counter(
            "live_barge_ins", "Answers stopped by the user speaking over them", registry=r
        )
        self.live_refusals = Counter(
            "live_refusals", "Live refusals sent, by code", ["code"], registry=r
        )

    def set_queue(self, *, length: int, in_progress: int, oldest: float, parked: int) -> None:
        """Record a snapshot of the update queue."""
        self.queue_length.set(length)
        self.queue_in_progress.set(in_progress)
        self.queue_oldest_seconds.set(oldest)
        self.queue_parked_stored.set(parked)

    def count_refused(self, reason: str) -> None:
        """Count one update refused by USER_MAX_QUEUED_UPDATES ("queue") or the rate ("rate")."""
        self.refused.labels(reason=reason).inc()

    def count_queue(self, event: str) -> None:
        """Count one queue event: "redelivery", "claim" or "parked"."""
        {"redelivery": self.redeliveries, "claim": self.claims, "parked": self.parked}[event].inc()

    def count_telegram_call(self, method: str, outcome: str) -> None:
        """Count one Bot API call the rate limiter sent, dropped or saw flood-controlled."""
        self.telegram_calls.labels(method=method, outcome=outcome).inc()

    async def watch_event_loop(self, tick: float = LOOP_TICK_SECONDS) -> None:
        """Measure how late the loop wakes us up; runs until cancelled.

        A blocking call anywhere on the loop (a model call, a big JSON dump) delays every user;
        this is how operators see it.
        """
        window: list[float] = []
        worst = 0.0
        while True:
            started = time.perf_counter()
            await asyncio.sleep(tick)
            lag = max(0.0, time.perf_counter() - started - tick)
            window = [*window[-(LOOP_WINDOW_TICKS - 1) :], lag]
            worst = max(worst, lag)
            self.loop_lag.set(max(window))
            self.loop_lag_max.set(worst)

    def observe(self, stage: str, seconds: float) -> None:
        """Record how long one stage took."""
        self.stage_seconds.labels(stage=stage).observe(seconds)

    @contextmanager
    def time_stage(self, stage: str) -> Iterator[None]:
        """Time the block (also when it raises); works around `await` inside async code."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(stage, time.perf_counter() - started)

    def render(self) -> bytes:
        """The text exposition format, as served on /metrics."""
        return generate_latest(self.registry)

    def start_exporter(self, port: int, addr: str = "127.0.0.1") -> int:
        """Serve /metrics on a daemon thread; returns the bound port (useful with port 0).

        Only this machine by default (METRICS_HOST): what it shows is not for the internet.
        """
        if self._server is not None:
            raise RuntimeError("the metrics exporter is already running")
        self._server, self._thread = start_http_server(port, addr=addr, registry=self.registry)
        return int(self._server.server_port)

    @property
    def exporter_port(self) -> int | None:
        """The port the exporter listens on, or None when it is not running."""
        return int(self._server.server_port) if self._server else None

    def stop_exporter(self) -> None:
        """Stop serving /metrics (a no-op when not running)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None
