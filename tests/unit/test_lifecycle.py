"""Model lifecycles: shutdown dates read and told, which models are checked, which reason."""

from __future__ import annotations

from datetime import date

import pytest

from bot.config import Settings
from bot.core.lifecycle import ModelStatus, days_left, describe, parse_shutdown
from bot.errors import MODEL_NOT_FOUND, ServiceError, refusal_key
from bot.lifecycle import models_in_use
from bot.llm import is_reasoning_model

TODAY = date(2026, 12, 26)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        pytest.param("2027-01-14", date(2027, 1, 14), id="a date"),
        pytest.param("2027-01-14T00:00:00Z", date(2027, 1, 14), id="a timestamp's day"),
        pytest.param(None, None, id="none announced"),
        pytest.param("soon", None, id="not a date"),
        pytest.param(1799884800, None, id="a number is not what the API sends"),
    ],
)
def test_a_shutdown_date_is_read_from_the_model_object(value: object, parsed: date | None) -> None:
    assert parse_shutdown(value) == parsed


@pytest.mark.parametrize(
    ("status", "line"),
    [
        pytest.param(
            ModelStatus("OPENAI_MODEL", "gpt-4o-mini", shutdown=date(2027, 1, 14)),
            "OPENAI_MODEL=gpt-4o-mini shuts down on 2027-01-14 (19 days left)",
            id="a date ahead counts the days left",
        ),
        pytest.param(
            ModelStatus("TRANSCRIBE_MODEL", "whisper-1", missing=True),
            "TRANSCRIBE_MODEL=whisper-1: not found on the server (404 model_not_found)",
            id="a model the server no longer has",
        ),
        pytest.param(
            ModelStatus("OPENAI_MODEL", "gpt-6-luna"),
            "OPENAI_MODEL=gpt-6-luna: no shutdown announced",
            id="no date",
        ),
    ],
)
def test_each_model_is_told_in_one_line_naming_the_variable(status: ModelStatus, line: str) -> None:
    assert describe(status, TODAY) == line


def test_days_left_is_zero_on_the_day_and_negative_after() -> None:
    assert [days_left(date(2027, 1, 14), d) for d in (date(2027, 1, 14), date(2027, 1, 15))] == [
        0,
        -1,
    ]


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, telegram_bot_token="1:x", **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("values", "variables"),
    [
        pytest.param(
            {"openai_api_key": "sk-x", "tts_backend": "openai"},
            ["OPENAI_MODEL", "TRANSCRIBE_MODEL", "TTS_MODEL"],
            id="all three through OpenAI",
        ),
        pytest.param(
            {"asr_backend": "faster-whisper", "tts_backend": "espeak", "tts_fallbacks": ""},
            ["OPENAI_MODEL"],
            id="local hearing and speech: only the chat model",
        ),
        pytest.param(
            {"openai_api_key": "sk-x", "tts_backend": "gtts", "tts_fallbacks": "openai"},
            ["OPENAI_MODEL", "TRANSCRIBE_MODEL", "TTS_MODEL"],
            id="OpenAI speech as a fallback counts",
        ),
    ],
)
def test_the_guard_checks_the_models_the_configuration_calls(
    values: dict[str, object], variables: list[str]
) -> None:
    assert [variable for variable, _ in models_in_use(settings(**values))] == variables


@pytest.mark.parametrize(
    ("model", "reasons"),
    [
        ("gpt-6-luna", True),
        ("gpt-5-mini", True),
        ("o4-mini", True),
        ("openai/gpt-6-luna", True),
        ("gpt-4o-mini", False),
        ("gpt-4.1-mini", False),
        ("gpt-5-chat-latest", False),
        ("llama-3.1-8b-instruct", False),
    ],
)
def test_reasoning_effort_goes_to_reasoning_models_only(model: str, reasons: bool) -> None:
    assert is_reasoning_model(model) is reasons


@pytest.mark.parametrize(
    ("stage", "key"),
    [
        ("chat", "model_unavailable"),
        ("transcription", "transcription_model_unavailable"),
        ("synthesis", "service_down"),
    ],
)
def test_a_missing_model_is_told_as_such_for_its_stage(stage: str, key: str) -> None:
    error = ServiceError(stage, "HTTP 404", status=404, reason=MODEL_NOT_FOUND)
    assert refusal_key(error) == key


def test_other_404s_keep_the_stages_usual_message() -> None:
    assert refusal_key(ServiceError("chat", "HTTP 404", status=404)) == "service_down"
