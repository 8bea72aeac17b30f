"""Settings: the run contract's variables, parsed once."""

import pytest
from pydantic import ValidationError

from bot import asr
from bot.config import Settings, describe_error


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, telegram_bot_token="1:x", **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [("", frozenset()), ("42", {42}), ("1, 2,3", {1, 2, 3}), ("7;8", {7, 8})],
    ids=["empty means nobody", "one id", "a comma list with spaces", "semicolons too"],
)
def test_user_id_lists_are_comma_separated(raw: str, parsed: set[int], monkeypatch) -> None:
    monkeypatch.setenv("ADMIN_USER_IDS", raw)
    assert settings().admin_user_ids == frozenset(parsed)


@pytest.mark.parametrize(
    ("values", "limit_mb"),
    [({}, 20), ({"telegram_local_mode": True}, 2000)],
    ids=["the cloud Bot API serves 20 MB", "a local-mode server serves 2000 MB"],
)
def test_download_limit_follows_the_bot_api_mode(values: dict, limit_mb: int) -> None:
    assert settings(**values).max_download_bytes == limit_mb * 1024 * 1024


@pytest.mark.parametrize(
    ("values", "backend"),
    [
        ({"openai_api_key": "sk-x"}, "openai"),
        ({}, "faster-whisper"),
        ({"openai_api_key": "sk-x", "asr_backend": "openai-whisper"}, "openai-whisper"),
    ],
    ids=["a key means the OpenAI API", "no key means local", "ASR_BACKEND wins"],
)
def test_the_default_speech_recognition_backend(values: dict, backend: str) -> None:
    assert asr.backend_name(settings(**values)) == backend


def test_tts_fallbacks_are_a_comma_list_that_may_be_empty(monkeypatch) -> None:
    monkeypatch.setenv("TTS_FALLBACKS", "espeak, gtts")
    assert settings().tts_fallbacks == ("espeak", "gtts")
    monkeypatch.setenv("TTS_FALLBACKS", "")
    assert settings().tts_fallbacks == ()


def test_unset_backend_names_leave_the_choice_to_the_stage() -> None:
    assert (settings().asr_backend, settings().tts_backend, settings().tts_fallbacks) == (
        None,
        None,
        None,
    )


def test_the_api_url_loses_its_trailing_slash() -> None:
    assert (
        settings(telegram_api_url="http://127.0.0.1:8081/").telegram_api_url
        == "http://127.0.0.1:8081"
    )


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ({}, "error: TELEGRAM_BOT_TOKEN is not set; put it in the environment or in .env"),
        (
            {"telegram_bot_token": "1:x", "privacy_mode": "loud"},
            "error: PRIVACY_MODE is invalid: ",
        ),
    ],
    ids=["a missing variable is named", "an invalid value is named"],
)
def test_configuration_errors_name_the_variable(values: dict, line: str, monkeypatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None, **values)  # type: ignore[call-arg]
    assert describe_error(error.value).startswith(line)


@pytest.mark.parametrize(
    ("raw", "parsed"), [("json", "json"), ("text", "text")], ids=["json lines", "plain text"]
)
def test_log_format_is_json_or_text(raw: str, parsed: str) -> None:
    assert settings(log_format=raw).log_format == parsed


def test_an_unset_log_format_is_chosen_by_the_terminal_and_another_is_refused() -> None:
    assert settings().log_format is None
    with pytest.raises(ValidationError) as error:
        settings(log_format="yaml")
    assert describe_error(error.value).startswith("error: LOG_FORMAT is invalid: ")
