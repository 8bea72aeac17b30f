"""The backend registry: a table row per backend; each class declares what it needs."""

from __future__ import annotations

import json
import subprocess
import sys

import openai
import pytest

from bot import asr, tts
from bot.backends import Backend, build
from bot.config import Settings
from bot.errors import BotError
from tests.processes import ROOT

UNMET = {
    "absent-binary": Backend("tests.backends.unmet:NeedsAbsentBinary"),
    "absent-package": Backend("tests.backends.absent_package:NeedsAbsentPackage"),
}


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, telegram_bot_token="1:x", **values)  # type: ignore[call-arg]


@pytest.fixture
async def client() -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="test", base_url="http://127.0.0.1:9")


@pytest.mark.parametrize("name", list(tts.BACKENDS))
async def test_every_tts_row_builds_the_synthesizer_of_that_name(
    name: str, client: openai.AsyncOpenAI
) -> None:
    synthesizer = build("TTS_BACKEND", name, tts.BACKENDS, settings(), client)
    assert isinstance(synthesizer, tts.Synthesizer) and synthesizer.name == name
    assert synthesizer.can_speak("en")
    await synthesizer.aclose()


@pytest.mark.parametrize("name", list(asr.BACKENDS))
async def test_every_asr_row_builds_the_transcriber_of_that_name(
    name: str, client: openai.AsyncOpenAI
) -> None:
    transcriber = build("ASR_BACKEND", name, asr.BACKENDS, settings(), client)
    assert isinstance(transcriber, asr.Transcriber) and transcriber.name == name
    await transcriber.aclose()


def test_a_backend_that_needs_the_openai_client_asks_for_the_api_key() -> None:
    with pytest.raises(BotError, match=r"^ASR_BACKEND=openai needs OPENAI_API_KEY$"):
        asr.make_transcriber(settings(asr_backend="openai"), openai_client=None)


def test_a_missing_binary_is_named_with_how_to_install_it() -> None:
    with pytest.raises(BotError) as caught:
        build("TTS_BACKEND", "absent-binary", UNMET, settings(), None)
    assert str(caught.value) == (
        "TTS_BACKEND=absent-binary needs vna-no-such-binary on PATH: "
        "apt-get install vna-no-such-binary"
    )


def test_a_missing_package_is_named_with_the_pip_command() -> None:
    with pytest.raises(BotError) as caught:
        build("TTS_BACKEND", "absent-package", UNMET, settings(), None)
    assert str(caught.value) == (
        "TTS_BACKEND=absent-package needs a package: pip install vna-no-such-package"
    )


def test_an_unknown_name_lists_the_names_in_the_table() -> None:
    with pytest.raises(BotError, match=r"^unknown TTS_BACKEND=festival; choose one of gtts, "):
        build("TTS_BACKEND", "festival", tts.BACKENDS, settings(), None)


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("asr_backend", "vosk", "unknown ASR_BACKEND=vosk; choose one of openai, "),
        ("tts_backend", "festival", "unknown TTS_BACKEND=festival; choose one of gtts, "),
        ("tts_fallbacks", "espeak,festival", "unknown TTS_FALLBACKS=festival; choose one of "),
    ],
)
def test_each_registry_refuses_a_name_not_in_its_table_naming_the_variable(
    variable: str, value: str, line: str, monkeypatch
) -> None:
    monkeypatch.setenv(variable.upper(), value)
    with pytest.raises(BotError) as caught:
        asr.make_transcriber(settings(), openai_client=None)
        tts.make_synthesizer(settings(), openai_client=None)
    assert str(caught.value).startswith(line)
    assert "\n" not in str(caught.value)


def test_every_default_backend_is_a_row_of_its_table() -> None:
    assert {tts.DEFAULT_BACKEND, *tts.DEFAULT_FALLBACKS} <= set(tts.BACKENDS)
    assert {asr.DEFAULT_WITH_API_KEY, asr.DEFAULT_WITHOUT_API_KEY} <= set(asr.BACKENDS)


def test_only_the_chosen_backends_modules_are_imported() -> None:
    script = (
        "import json, sys\n"
        "from bot.asr import make_transcriber\n"
        "from bot.config import Settings\n"
        "from bot.tts import make_synthesizer\n"
        "import openai\n"
        "s = Settings(_env_file=None, telegram_bot_token='1:x', asr_backend='openai',"
        " tts_backend='espeak', tts_fallbacks=())\n"
        "c = openai.AsyncOpenAI(api_key='x', base_url='http://127.0.0.1:9')\n"
        "make_transcriber(s, openai_client=c)\n"
        "make_synthesizer(s, openai_client=c)\n"
        "print(json.dumps([m for m in sys.modules if m.startswith(('bot.asr.', 'bot.tts.'))]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout))
    assert {"bot.asr.openai", "bot.tts.espeak"} <= loaded
    assert not loaded & {"bot.asr.faster_whisper", "bot.asr.openai_whisper", "bot.tts.gtts"}
