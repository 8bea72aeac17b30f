"""`python -m bot talk`: the same pipeline on a local file or text, without Telegram."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.conftest import FIXTURES
from tests.emulators.openai_api import OpenAIEmulator
from tests.processes import bot_env


async def run_talk(args: list[str], env_overrides: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "talk",
        *args,
        cwd=cwd,
        env=bot_env(**env_overrides),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, output.decode()


def talk_env(openai_api: OpenAIEmulator, make_settings) -> dict[str, str]:
    settings = make_settings()
    return {
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": openai_api.base_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_PREFIX": settings.redis_prefix,
        "DATABASE_URL": settings.database_url,
        "ASR_BACKEND": "openai",
        "TTS_BACKEND": "espeak",
    }


async def test_talk_prints_transcript_language_and_answer_and_writes_the_voice(
    openai_api: OpenAIEmulator, make_settings, tmp_path: Path
) -> None:
    openai_api.transcribe_with("Wie wird das Wetter morgen in Berlin?", "german")
    out = tmp_path / "answer.ogg"
    code, output = await run_talk(
        [str(FIXTURES / "de_1.ogg"), "--out", str(out)],
        talk_env(openai_api, make_settings),
        tmp_path,
    )
    assert code == 0, output
    assert "transcript (de): Wie wird das Wetter morgen in Berlin?" in output
    assert "answer (de): Hier ist meine Antwort." in output
    assert out.read_bytes().startswith(b"OggS")


async def test_talk_answers_typed_text(
    openai_api: OpenAIEmulator, make_settings, tmp_path: Path
) -> None:
    code, output = await run_talk(
        ["--text", "¿Qué tiempo hará mañana en Madrid?"],
        talk_env(openai_api, make_settings),
        tmp_path,
    )
    assert code == 0, output
    assert "answer (es): Aquí está mi respuesta." in output
