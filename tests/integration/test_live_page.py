"""The live page in a real browser: Chromium's fake microphone speaks, the page answers aloud."""

from __future__ import annotations

import json
import shutil
import wave
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.cluster import Cluster
from tests.emulators import OpenAIEmulator
from tests.live import init_data, pcm_of

QUESTION = "What is the capital of France?"
ANSWER = "Paris is the capital of France. It stands on the Seine."
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
THEME = {
    "bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "hint_color": "#708499",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#232e3c",
}  # Telegram's night theme


def microphone_file(directory: Path) -> Path:
    """What the fake microphone hears: a second of silence, a question, then a long pause."""
    path = directory / "question.wav"
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16_000)
        writer.writeframes(b"\0" * 32_000 + pcm_of("en_1.ogg", silence_after=20.0))
    return path


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)")
async def test_the_page_hears_the_microphone_shows_the_answer_and_speaks_it(
    cluster: Cluster, openai_api: OpenAIEmulator, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    openai_api.transcribe_with(QUESTION)
    openai_api.reply_with(ANSWER)
    root = f"http://127.0.0.1:{cluster.web_port}"
    await cluster.start_all("run", WEBHOOK_URL="", PUBLIC_URL=root)
    fragment = (
        f"tgWebAppData={quote(init_data(cluster.bot_api.token, 4201, language='en'))}"
        f"&tgWebAppThemeParams={quote(json.dumps(THEME))}&tgWebAppVersion=8.0"
    )
    args = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone_file(tmp_path)}%noloop",
    ]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        page = await browser.new_page(viewport={"width": 420, "height": 760})
        await page.goto(f"{root}/live#{fragment}")
        await page.wait_for_function("document.body.dataset.state === 'ready'", timeout=30_000)
        await page.click("[data-role=talk]")
        await page.wait_for_function("document.body.dataset.state === 'listening'")
        await page.wait_for_function("document.body.dataset.state === 'speaking'", timeout=60_000)
        assert await page.text_content("[data-role=transcript]") == QUESTION
        await page.wait_for_function(
            f"document.querySelector('[data-role=answer]').textContent === {json.dumps(ANSWER)}",
            timeout=30_000,
        )
        assert float(await page.evaluate("document.body.dataset.played")) > 0.5
        await page.screenshot(path=str(tmp_path / "live.png"))
        await page.wait_for_function("document.body.dataset.state === 'listening'", timeout=60_000)
        await browser.close()
    assert (tmp_path / "live.png").stat().st_size > 10_000
