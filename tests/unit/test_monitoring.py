"""The Grafana dashboard and the Prometheus alerts name only metrics the bot exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from bot.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "voice-assistant.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
# The OpenAI model deprecation gauge is being added to bot/metrics.py by a change made at the
# same time as these files; the dashboard and an alert already show it.
BEING_ADDED = {"openai_model_shutdown_days"}
# The series each metric type exposes (prometheus_client names a counter without _total).
SERIES_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
}
OPERATORS = {"and", "or", "unless", "bool", "offset"}


def exported_names() -> set[str]:
    """Every series name the bot's /metrics can carry."""
    return {
        family.name + suffix
        for family in Metrics().registry.collect()
        for suffix in SERIES_SUFFIXES[family.type]
    }


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not its functions, labels or variables)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\$\{?\w+\}?", "", expr)  # Grafana variables
    names = re.findall(r"(?<![\w.])([a-zA-Z_:][\w:]*)\b(?!\s*\()", expr)
    return set(names) - OPERATORS


def dashboard_queries() -> list[str]:
    """Every query of every panel."""
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def alert_rules() -> list[dict]:
    """Every alerting rule."""
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_the_name_reader_sees_metrics_and_nothing_else() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, stage) (rate(stage_seconds_bucket{a="b"}'
        "[$__rate_interval]))) / on() turns_waiting or vector(0)"
    )
    assert metric_names(expr) == {"stage_seconds_bucket", "turns_waiting"}


def test_the_exported_names_are_the_series_names() -> None:
    names = exported_names()
    assert {"updates_total", "stage_seconds_bucket", "queue_oldest_pending_seconds"} <= names
    assert "updates" not in names


@pytest.mark.parametrize("expr", dashboard_queries())
def test_every_dashboard_query_names_only_metrics_the_bot_exports(expr: str) -> None:
    assert metric_names(expr), expr
    assert metric_names(expr) - exported_names() - BEING_ADDED == set()


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_names_only_metrics_the_bot_exports(rule: dict) -> None:
    assert metric_names(rule["expr"]), rule["expr"]
    assert metric_names(rule["expr"]) - exported_names() - BEING_ADDED == set()


def test_the_dashboard_shows_what_an_operator_watches() -> None:
    shown = set().union(*map(metric_names, dashboard_queries()))
    assert {
        "updates_total",
        "stage_seconds_bucket",
        "queue_oldest_pending_seconds",
        "telegram_calls_total",
        "event_loop_lag_seconds",
        "tts_fallbacks_total",
        "quota_refusals_total",
        "openai_model_shutdown_days",
    } <= shown


def test_alerts_cover_no_answers_queue_age_flood_and_a_model_shutting_down() -> None:
    read = {rule["alert"]: metric_names(rule["expr"]) for rule in alert_rules()}
    assert read == {
        "VoiceAssistantNoAnswers": {"updates_total", "telegram_calls_total"},
        "VoiceAssistantQueueOldUpdate": {"queue_oldest_pending_seconds"},
        "VoiceAssistantTelegramFlood": {"telegram_calls_total"},
        "VoiceAssistantModelShuttingDown": {"openai_model_shutdown_days"},
    }
