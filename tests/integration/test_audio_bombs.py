"""Decompression bombs: hours of audio in a small file cost the bot little, and nobody else waits.

The bot runs as a process of its own (`python -m bot run`, receiving and answering), so its
peak memory is read from /proc: the kernel's high-water mark of its resident set (VmHWM),
reset just before the bombs arrive.
"""

from __future__ import annotations

from pathlib import Path

from bot.i18n import t
from tests.cluster import Cluster
from tests.conftest import sample
from tests.emulators import BotApiEmulator, OpenAIEmulator
from tests.emulators.audio_tools import opus_bomb

WARM_USER, OGG_USER, WEBM_USER, OTHER = 5101, 5102, 5103, 5104
LIMIT = 300  # MAX_VOICE_SECONDS
MEMORY_BUDGET_MB = 50


def status_mb(pid: int, field: str) -> float:
    """A memory figure of a process (VmRSS, VmHWM) in MB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def reset_peak(pid: int) -> None:
    """Start the process's high-water mark (VmHWM) again from its current resident set."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def about_two_hours(message_text: str | None, language: str) -> bool:
    """Whether the text is the "too long" refusal naming (nearly) two hours of audio."""
    return message_text in {
        t("too_long", language, seconds=seconds, limit=LIMIT) for seconds in range(7000, 7201)
    }


async def test_two_hour_bombs_are_refused_in_the_users_language_cheaply_while_others_are_answered(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, cluster: Cluster
) -> None:
    ogg_bomb = opus_bomb("ogg", 7200)[:-1]  # the last byte cut: no longer a whole OGG
    webm_bomb = opus_bomb("webm", 7200)
    assert len(ogg_bomb) < 250_000 and len(webm_bomb) < 600_000
    [bot] = await cluster.start_all("run")
    # A real note first: whatever decoding loads once (codecs, buffers) is loaded before.
    bot_api.send_voice(WARM_USER, sample("en_1.ogg"), duration=6)
    await bot_api.wait_for_messages(WARM_USER, 2, timeout=60)
    transcriptions = len(openai_api.transcription_requests())
    reset_peak(bot.pid)
    before = status_mb(bot.pid, "VmRSS")

    bot_api.send_voice(OGG_USER, ogg_bomb, duration=5, language_code="ru")
    bot_api.send_audio(
        WEBM_USER,
        webm_bomb,
        duration=5,
        file_name="song.mp3",
        mime_type="audio/mpeg",
        language_code="de",
    )
    bot_api.send_text(OTHER, "Are you still there?")

    [answer] = await bot_api.wait_for_messages(OTHER, 1, timeout=60)
    assert "Here is my answer." in (answer.text or "")
    [ogg_refusal] = await bot_api.wait_for_messages(OGG_USER, 1, timeout=60)
    [webm_refusal] = await bot_api.wait_for_messages(WEBM_USER, 1, timeout=60)
    assert about_two_hours(ogg_refusal.text, "ru"), ogg_refusal.text
    assert about_two_hours(webm_refusal.text, "de"), webm_refusal.text
    assert len(openai_api.transcription_requests()) == transcriptions, "nothing sent to transcribe"
    peak = status_mb(bot.pid, "VmHWM")
    assert peak - before < MEMORY_BUDGET_MB, f"peak {peak:.0f} MB against {before:.0f} MB before"
